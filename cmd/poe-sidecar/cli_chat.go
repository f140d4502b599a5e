package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/poe-sidecar/poe-sidecar/provider"
)

const (
	// defaultChatModel is the model chat uses without --model or POE_MODEL.
	defaultChatModel = "Claude-Sonnet-4.6"

	// maxPromptInput bounds a prompt read from stdin.
	// NOTE: this command's own bound; Poe documents only a limit in tokens per model.
	maxPromptInput = 32 << 20
)

var chatCommand = &command{
	name:     "chat",
	synopsis: "chat [--model ID] [PROMPT]",
	summary:  "stream an answer to stdout",
	help: `Usage: poe-sidecar chat [--model ID] [--system TEXT] [PROMPT ...]

Sends one prompt to Poe and writes the answer to stdout as it arrives. Several PROMPT
arguments are joined with spaces. Without PROMPT, chat reads the prompt from stdin
until its end (Ctrl-D at a terminal), so it can take a file or a pipe:

  poe-sidecar chat "Explain what a sidecar process is"
  git diff | poe-sidecar chat --system "Review this diff briefly"

Ctrl-C stops the answer: chat closes the request to Poe, so Poe stops generating,
and exits with status 130. Errors go to stderr.

Flags:
  --model ID       the model, as 'poe-sidecar models' lists it (default: POE_MODEL,
                   else ` + defaultChatModel + `)
  --system TEXT    a system message sent before the prompt
  -v, --verbose    write debug logs to stderr

Environment:
  POE_MODEL        the default model
  POE_API_KEY      use this key instead of the stored one
`,
	run: runChat,
}

func runChat(ctx context.Context, c *cli, args []string) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	model := flags.String("model", "", "")
	system := flags.String("system", "", "")
	positional, err := c.parseFlags(flags, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*model) == "" {
		*model = c.getenv("POE_MODEL")
	}
	if strings.TrimSpace(*model) == "" {
		*model = defaultChatModel
	}

	// The key is read before the prompt, so that a user who is not signed in learns
	// it before typing a prompt at the terminal.
	p, err := c.setup()
	if err != nil {
		return err
	}
	svc, err := c.authService(p, 0)
	if err != nil {
		return err
	}
	defer svc.Close()
	key, err := svc.APIKey()
	if err != nil {
		return err
	}

	prompt := strings.Join(positional, " ")
	if len(positional) == 0 {
		if c.stdinTTY {
			fmt.Fprintln(c.stderr, c.errStyle.dim("Type the prompt, then press Ctrl-D on a new line to send it."))
		}
		prompt, err = readPrompt(ctx, c.stdin)
		if err != nil {
			return err
		}
	}
	if strings.TrimSpace(prompt) == "" {
		return usagef("the prompt is empty: pass it as an argument or on stdin")
	}

	req := provider.ChatRequest{Model: strings.TrimSpace(*model)}
	if *system != "" {
		req.Messages = append(req.Messages, provider.Message{Role: "system", Content: *system})
	}
	req.Messages = append(req.Messages, provider.Message{Role: "user", Content: prompt})
	return c.streamAnswer(ctx, p.poe, key, req)
}

// streamAnswer writes the answer to stdout piece by piece. On a terminal it shows a
// spinner until the first piece arrives and ends the answer with a newline; in a pipe
// the output is exactly the answer's text.
func (c *cli) streamAnswer(ctx context.Context, poe *provider.Client, key string, req provider.ChatRequest) error {
	stop := c.startSpinner(func() string { return "Waiting for " + req.Model })
	defer stop()

	// A failed write to stdout ends the request to Poe, because the reader of the
	// answer is gone.
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wrote    bool
		lastByte byte
		writeErr error
	)
	result, err := poe.ChatStream(streamCtx, key, req, func(text string) {
		stop()
		if writeErr != nil {
			return
		}
		if c.stdoutTTY {
			// The answer may carry terminal escapes (a prompt can steer a model
			// into sending them), which would retitle or clear the terminal.
			text = stripTerminalControls(text)
			if text == "" {
				return
			}
		}
		if _, writeErr = io.WriteString(c.stdout, text); writeErr != nil {
			cancel()
			return
		}
		wrote = true
		lastByte = text[len(text)-1]
	})
	stop()
	if wrote && lastByte != '\n' && c.stdoutTTY {
		fmt.Fprintln(c.stdout)
	}

	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case writeErr != nil:
		return fmt.Errorf("write the answer to stdout: %w", writeErr)
	case err != nil:
		var apiErr *provider.Error
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusNotFound || apiErr.Code == "model_not_found") {
			return &hintError{err: err, hint: "Run 'poe-sidecar models' to list the model ids."}
		}
		return err
	}

	switch result.FinishReason {
	case "stop", "":
	case "length":
		fmt.Fprintf(c.stderr, "%s The answer stopped at the model's output limit (finish reason \"length\").\n", c.errStyle.yellow("Note:"))
	default:
		fmt.Fprintf(c.stderr, "%s The answer ended with finish reason %q.\n", c.errStyle.yellow("Note:"), result.FinishReason)
	}
	return nil
}

// readPrompt reads stdin to its end, without the line ends at the very end, or returns
// ctx.Err() when ctx ends first.
func readPrompt(ctx context.Context, stdin io.Reader) (string, error) {
	type input struct {
		data []byte
		err  error
	}
	read := make(chan input, 1)
	go func() {
		data, err := io.ReadAll(io.LimitReader(stdin, maxPromptInput+1))
		read <- input{data, err}
	}()

	select {
	case in := <-read:
		if in.err != nil {
			return "", fmt.Errorf("read the prompt from stdin: %w", in.err)
		}
		if len(in.data) > maxPromptInput {
			return "", usagef("the prompt on stdin is larger than %d MiB", maxPromptInput>>20)
		}
		// The line end that echo and editors add to the last line is not part of
		// the prompt.
		return strings.TrimRight(string(in.data), "\r\n"), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stripTerminalControls removes the characters a terminal acts on instead of
// showing: C0 controls other than newline and tab (a carriage return can hide
// text by overwriting it), DEL, and C1 controls. Removing ESC and the C1 CSI
// and OSC introducers leaves any escape sequence as plain, harmless text.
func stripTerminalControls(text string) string {
	clean := func(r rune) bool {
		return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f)
	}
	if strings.IndexFunc(text, clean) < 0 {
		return text
	}
	return strings.Map(func(r rune) rune {
		if clean(r) {
			return -1
		}
		return r
	}, text)
}
