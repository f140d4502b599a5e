package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/poe-sidecar/poe-sidecar/auth"
)

// maxPastedLine bounds one pasted line. A callback address is a few hundred bytes.
const maxPastedLine = 64 << 10

// pasteCallback completes a browser sign-in from addresses pasted on stdin. The
// callback server keeps waiting meanwhile, so a browser that does reach this machine
// also completes it. A paste that does not fit the attempt, such as a line that is no
// address or an address with another state, is reported and the user can paste again.
// At the end of stdin, login waits for the callback until the attempt expires.
func (c *cli) pasteCallback(ctx context.Context, svc *auth.Service, attempt auth.OAuthAttempt) (auth.Result, error) {
	type outcome struct {
		result auth.Result
		err    error
	}
	waitCtx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	callback := make(chan outcome, 1)
	go func() {
		result, err := svc.Complete(waitCtx, auth.CompleteParams{AttemptID: attempt.ID})
		callback <- outcome{result, err}
	}()

	// promptOpen is set while the cursor is after the prompt, where the next
	// message must not start.
	promptOpen := false
	prompt := func() {
		fmt.Fprint(c.stderr, c.errStyle.bold("Paste the address here and press Enter: "))
		promptOpen = true
	}
	endPrompt := func() {
		if promptOpen {
			fmt.Fprintln(c.stderr)
			promptOpen = false
		}
	}

	lines := readLines(c.stdin)
	prompt()
	for {
		select {
		case <-ctx.Done():
			return auth.Result{}, ctx.Err()

		case got := <-callback:
			endPrompt()
			if got.err == nil {
				fmt.Fprintln(c.stderr, "The browser reached this machine, so no paste was needed.")
			}
			return got.result, got.err

		case line, ok := <-lines:
			if !ok {
				lines = nil
				endPrompt()
				fmt.Fprintf(c.stderr, "stdin is closed; waiting for the browser to reach %s until the sign-in expires.\n", attempt.RedirectURI)
				continue
			}
			if c.stdinTTY {
				// The terminal echoed the Enter key.
				promptOpen = false
			}
			endPrompt()
			text := strings.TrimSpace(line)
			if text == "" {
				prompt()
				continue
			}

			callbackURL, ok := pastedAddress(text)
			if !ok {
				fmt.Fprintf(c.stderr, "%s That is not the address the browser was sent to, which starts with %s?\n", c.errStyle.red("Error:"), attempt.RedirectURI)
				prompt()
				continue
			}
			result, err := svc.Complete(ctx, auth.CompleteParams{AttemptID: attempt.ID, CallbackURL: callbackURL})
			if pasteAgain(err) {
				fmt.Fprintf(c.stderr, "%s %s\n", c.errStyle.red("Error:"), sentence(err.Error()))
				prompt()
				continue
			}
			return result, err
		}
	}
}

// pastedAddress returns the callback address in what the user pasted: a whole address,
// one without its scheme ("127.0.0.1:53127/callback?code=…") or only its query
// ("code=…&state=…"). A bare authorization code is not accepted, although the protocol
// accepts one, because a mistyped line would then use up the attempt in a failed token
// exchange, while an address without the attempt's state leaves it pending.
func pastedAddress(text string) (string, bool) {
	switch {
	case strings.Contains(text, "://"):
		return text, true
	case strings.Contains(text, "?"):
		return "http://" + text, true
	case strings.Contains(text, "="):
		return "http://127.0.0.1/callback?" + text, true
	default:
		return "", false
	}
}

// pasteAgain reports whether a failed paste left the attempt pending, so that the user
// can paste a corrected address.
func pasteAgain(err error) bool {
	var paramErr *auth.ParamError
	var signInErr *auth.SignInError
	return errors.As(err, &paramErr) || (errors.As(err, &signInErr) && signInErr.Reason == auth.ReasonStateMismatch)
}

// readLines sends each line of r on the returned channel and closes it at the end of r
// or on a read error. The goroutine ends with r, which for a terminal is when the
// process exits.
func readLines(r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(r)
		scanner.Buffer(make([]byte, 0, 4096), maxPastedLine)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
	}()
	return lines
}
