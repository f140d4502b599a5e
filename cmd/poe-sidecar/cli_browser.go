package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// browserStartWait is how long login waits for the browser command to fail before it
// assumes that the browser opened. Openers such as xdg-open exit within this time; a
// browser started directly through BROWSER keeps running.
const browserStartWait = time.Second

// browserChoice is the decision whether login opens a browser on this machine.
type browserChoice struct {
	open   bool
	reason string // the reason, as a sentence, when open is false; "" otherwise
}

// chooseBrowser decides whether login opens a browser. A browser on another machine
// cannot reach the loopback callback server, so over SSH, in WSL and on a machine with
// no graphical display, login prompts for the pasted address instead.
func (c *cli) chooseBrowser(noBrowserFlag bool) browserChoice {
	if noBrowserFlag {
		return browserChoice{reason: "--no-browser is set, so login does not open a browser."}
	}
	for _, name := range []string{"SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"} {
		if c.getenv(name) != "" {
			return browserChoice{reason: fmt.Sprintf("This is an SSH session (%s is set), so login does not open a browser: one on your own machine cannot reach 127.0.0.1 here.", name)}
		}
	}
	if source := c.wslSource(); source != "" {
		return browserChoice{reason: fmt.Sprintf("This is WSL (%s), so login does not open a browser: the Windows browser may not reach 127.0.0.1 of this Linux system.", source)}
	}
	if c.getenv("BROWSER") != "" {
		return browserChoice{open: true}
	}
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" && c.getenv("DISPLAY") == "" && c.getenv("WAYLAND_DISPLAY") == "" {
		return browserChoice{reason: "No graphical display is available (DISPLAY, WAYLAND_DISPLAY and BROWSER are unset), so login does not open a browser."}
	}
	return browserChoice{open: true}
}

// wslSource returns what shows that this is the Windows Subsystem for Linux, or "".
// The variables are set in WSL shells; the kernel release covers sessions that dropped
// them, such as sudo.
func (c *cli) wslSource() string {
	for _, name := range []string{"WSL_DISTRO_NAME", "WSL_INTEROP"} {
		if c.getenv(name) != "" {
			return name + " is set"
		}
	}
	if runtime.GOOS != "linux" {
		return ""
	}
	readFile := c.readFile
	if readFile == nil {
		readFile = os.ReadFile
	}
	release, err := readFile("/proc/sys/kernel/osrelease")
	if err == nil && strings.Contains(strings.ToLower(string(release)), "microsoft") {
		return "the kernel release names Microsoft"
	}
	return ""
}

// browserCommand returns the command that opens url. BROWSER, when set, is a list of
// commands separated by colons, as Python's webbrowser module reads it. The first one
// is used, with "%s" replaced by url, or with url appended when it has no "%s".
// Without BROWSER it is the system's opener.
func browserCommand(browserVar, goos, url string) (string, []string) {
	if browserVar != "" {
		first, _, _ := strings.Cut(browserVar, string(os.PathListSeparator))
		fields := strings.Fields(first)
		if len(fields) > 0 {
			substituted := false
			for i, field := range fields {
				if strings.Contains(field, "%s") {
					fields[i] = strings.ReplaceAll(field, "%s", url)
					substituted = true
				}
			}
			if !substituted {
				fields = append(fields, url)
			}
			return fields[0], fields[1:]
		}
	}

	switch goos {
	case "darwin":
		return "open", []string{url}
	case "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	default:
		return "xdg-open", []string{url}
	}
}

// openWithSystemBrowser opens url with BROWSER or the system's opener. It waits up to
// browserStartWait for the command to fail, so that login can tell the user to open the
// address by hand. The command's output is discarded, and the error never quotes url,
// because url contains the OAuth state.
func (c *cli) openWithSystemBrowser(url string) error {
	name, args := browserCommand(c.getenv("BROWSER"), runtime.GOOS, url)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		var execErr *exec.Error
		if errors.As(err, &execErr) {
			return fmt.Errorf("cannot run %q: %w", name, execErr.Err)
		}
		return fmt.Errorf("cannot run %q", name)
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("%q exited with status %d", name, exitErr.ExitCode())
		}
		if err != nil {
			return fmt.Errorf("%q failed", name)
		}
		return nil
	case <-time.After(browserStartWait):
		// Still running: a browser that stays open. The goroutine reaps it later.
		return nil
	}
}
