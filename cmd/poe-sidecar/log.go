package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/adrg/xdg"
)

// maxLogSize is the size at which the log file is moved to "<name>.1" when
// a session starts, so the log never grows beyond about twice this.
const maxLogSize = 10 << 20

func defaultLogPath() string {
	return filepath.Join(xdg.StateHome, "poe-sidecar", "sidecar.log")
}

// openLog returns the session's logger and the path of its log file ("" when
// logging to stderr). Stderr stays quiet unless asked for, because Neovim
// records every stderr line of a language server as an error. When the log
// file cannot be opened, the logger falls back to stderr with a warning,
// since losing every log line is worse.
func openLog(toStderr bool, path string, level *slog.LevelVar, stderr io.Writer) (*slog.Logger, string, func()) {
	opts := &slog.HandlerOptions{Level: level}
	if toStderr {
		return slog.New(slog.NewTextHandler(stderr, opts)), "", func() {}
	}
	if path == "" {
		path = defaultLogPath()
	}

	f, err := openLogFile(path)
	if err != nil {
		logger := slog.New(slog.NewTextHandler(stderr, opts))
		logger.Warn("cannot open the log file; logging to stderr", "path", path, "error", err)
		return logger, "", func() {}
	}
	return slog.New(slog.NewJSONHandler(f, opts)), path, func() { _ = f.Close() }
}

func openLogFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create log folder: %w", err)
	}
	info, err := os.Lstat(path)
	if err == nil && info.Mode()&os.ModeSymlink != 0 {
		// Appending through a link planted by someone else would write the
		// log wherever it points.
		return nil, fmt.Errorf("log file %q is a symbolic link; remove it or choose another file with --log-file", path)
	}
	if err == nil && info.Size() > maxLogSize {
		// Best effort: another sidecar may be rotating the same file.
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	// A log made by an older version or another tool may be readable by others.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("make log file %q private: %w", path, err)
	}
	return f, nil
}
