package main

import (
	"fmt"
	"os/exec"
	"runtime"
)

// openBrowser opens url in the user's browser without waiting for it. It is
// used only when the editor sets initializationOptions.openBrowser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open the browser with %s: %w", cmd.Path, err)
	}
	// Reap the opener so it does not linger as a zombie.
	go func() { _ = cmd.Wait() }()
	return nil
}
