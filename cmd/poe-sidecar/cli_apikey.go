package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/term"

	"github.com/poe-sidecar/poe-sidecar/auth"
)

const (
	// maxKeyTries is the number of keys that login --api-key reads at a terminal
	// before it gives up.
	maxKeyTries = 3

	// maxKeyInput bounds the key read from stdin. auth rejects keys over 512 bytes, and
	// a few kilobytes leave room for white space around one.
	maxKeyInput = 4 << 10
)

// loginAPIKey signs in with a key from a hidden prompt when stdin is a terminal, or
// from stdin otherwise. At the prompt a key that Poe rejects can be pasted again.
func (c *cli) loginAPIKey(ctx context.Context, svc *auth.Service) (auth.Result, error) {
	attempt := svc.StartAPIKey()

	if !c.stdinTTY {
		key, err := readKeyInput(ctx, c.stdin)
		if err != nil {
			return auth.Result{}, err
		}
		return c.checkKey(ctx, svc, attempt.ID, key)
	}

	fmt.Fprintf(c.stderr, "Create an API key at %s, then paste it here. The key is not shown as you type.\n", attempt.URL)
	for try := 1; ; try++ {
		key, err := c.readSecret(ctx, c.errStyle.bold("Poe API key: "))
		if err != nil {
			return auth.Result{}, err
		}
		result, err := c.checkKey(ctx, svc, attempt.ID, key)
		var signInErr *auth.SignInError
		if try < maxKeyTries && errors.As(err, &signInErr) && signInErr.Reason == auth.ReasonInvalidAPIKey {
			fmt.Fprintf(c.stderr, "%s %s\n", c.errStyle.red("Error:"), sentence(err.Error()))
			continue
		}
		return result, err
	}
}

// checkKey completes the attempt with key, which auth checks with Poe before storing it.
func (c *cli) checkKey(ctx context.Context, svc *auth.Service, attemptID, key string) (auth.Result, error) {
	stop := c.startSpinner(func() string { return "Checking the key with Poe" })
	defer stop()
	return svc.Complete(ctx, auth.CompleteParams{AttemptID: attemptID, APIKey: key})
}

// readSecret prints prompt on stderr and reads a line from the terminal on stdin with
// echo off. When ctx ends first, it restores the terminal, so that an interrupted
// prompt does not leave echo off, and returns ctx.Err().
func (c *cli) readSecret(ctx context.Context, prompt string) (string, error) {
	f, ok := c.stdin.(fileDescriptor)
	if !ok {
		return "", errors.New("stdin is not a terminal")
	}
	fd := int(f.Fd())
	saved, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read the terminal settings: %w", err)
	}

	fmt.Fprint(c.stderr, prompt)
	type input struct {
		line []byte
		err  error
	}
	read := make(chan input, 1)
	go func() {
		line, err := term.ReadPassword(fd)
		read <- input{line, err}
	}()

	select {
	case in := <-read:
		fmt.Fprintln(c.stderr)
		if in.err != nil {
			return "", fmt.Errorf("read the key from the terminal: %w", in.err)
		}
		return string(in.line), nil
	case <-ctx.Done():
		if err := term.Restore(fd, saved); err != nil {
			c.logger.Warn("cannot restore the terminal settings", "error", err)
		}
		fmt.Fprintln(c.stderr)
		return "", ctx.Err()
	}
}

// readKeyInput reads the key from a stdin that is not a terminal, such as a pipe or a
// file. auth trims the white space around it.
func readKeyInput(ctx context.Context, stdin io.Reader) (string, error) {
	type input struct {
		data []byte
		err  error
	}
	read := make(chan input, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(stdin, maxKeyInput+1))
		read <- input{data, err}
	}()

	select {
	case in := <-read:
		if in.err != nil {
			return "", fmt.Errorf("read the API key from stdin: %w", in.err)
		}
		if len(in.data) > maxKeyInput {
			return "", fmt.Errorf("stdin contains more than %d bytes, too many for an API key; pass only the key", maxKeyInput)
		}
		return string(in.data), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
