package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/internal/setup"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// Exit statuses of the terminal commands. The application statuses follow the
// protocol's error codes: 3 for 1001 (authentication required), 4 for 1010 (sign-in
// failed) and 5 for 1020 (Poe API error).
const (
	exitOK           = 0
	exitFailure      = 1 // any failure that no status below covers
	exitUsage        = 2 // unknown command or flag, missing or empty prompt
	exitAuthRequired = 3 // not signed in, key expired or rejected, credential file unusable
	exitSignInFailed = 4 // login failed: denied, timed out, invalid key, exchange failed
	exitPoeAPI       = 5 // Poe returned an error, or could not be reached
	exitInterrupted  = 130
	exitTerminated   = 143
)

// exitCodesHelp ends the help of every terminal command.
const exitCodesHelp = `Exit status:
  0    success
  1    a failure not listed below, such as an unwritable credential file
  2    invalid command line, such as an unknown flag or an empty prompt
  3    not signed in, the key expired or Poe rejected it, or the credential file is unusable
  4    sign-in failed: denied in the browser, timed out, or an invalid API key
  5    Poe returned an error (rate limit, too few points, unknown model, ...) or
       could not be reached
  130  interrupted with Ctrl-C (143 for SIGTERM)
`

// command is one terminal command, such as "login".
type command struct {
	name     string
	synopsis string // the name with its main flags, for the main help
	summary  string // the command's purpose, in at most 48 characters
	help     string // the whole --help text, without the exit status list
	run      func(ctx context.Context, c *cli, args []string) error
}

// commands returns the terminal commands in the order the main help lists them.
func commands() []*command {
	return []*command{loginCommand, logoutCommand, statusCommand, modelsCommand, chatCommand}
}

func findCommand(name string) *command {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

// usageError is an invalid command line. Its message is shown with a pointer to the
// command's help, and the exit status is exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitStatusError ends a command with a status and no message, because the command has
// already shown the reason (status prints "Signed in: no" and exits with 3).
type exitStatusError struct{ code int }

func (e *exitStatusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// signalError is the cancellation cause when the user interrupts a command.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

func (e *signalError) exitCode() int {
	if e.sig == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}

// runCommand runs one terminal command and returns the process exit status.
func runCommand(cmd *command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := newCLI(stdin, stdout, stderr, os.Getenv)
	ctx, stop := notifySignals(context.Background())
	defer stop()

	err := cmd.run(ctx, c, args)
	return c.finish(ctx, cmd, err)
}

// notifySignals returns a context that SIGINT or SIGTERM cancels with a *signalError
// cause. After the first signal the default handling returns, so a second Ctrl-C ends
// a command that does not stop by itself.
func notifySignals(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-signals:
			signal.Stop(signals)
			cancel(&signalError{sig: sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		cancel(nil)
	}
}

// finish reports err on stderr and returns the exit status for it.
func (c *cli) finish(ctx context.Context, cmd *command, err error) int {
	var sigErr *signalError
	if errors.As(context.Cause(ctx), &sigErr) {
		fmt.Fprintln(c.stderr, c.errStyle.yellow("Interrupted."))
		return sigErr.exitCode()
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, cmd.help+"\n"+exitCodesHelp)
		return exitOK
	}
	var statusErr *exitStatusError
	if errors.As(err, &statusErr) {
		return statusErr.code
	}

	var usageErr *usageError
	if errors.As(err, &usageErr) {
		fmt.Fprintf(c.stderr, "poe-sidecar %s: %s\nRun 'poe-sidecar %s --help' for usage.\n", cmd.name, usageErr.msg, cmd.name)
		return exitUsage
	}

	message, code := c.describe(err)
	fmt.Fprintf(c.stderr, "%s %s\n", c.errStyle.red("Error:"), message)
	c.logger.Debug("command failed", "command", cmd.name, "error", err)
	return code
}

// parseFlags parses args for a command. Flags may follow positional arguments, as in
// "chat hello --model X"; everything after "--" is positional. It adds --verbose to
// every command and returns the positional arguments.
func (c *cli) parseFlags(flags *flag.FlagSet, args []string) ([]string, error) {
	flags.SetOutput(io.Discard)
	verbose := flags.Bool("verbose", false, "")
	flags.BoolVar(verbose, "v", false, "")

	var positional []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := flags.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}

	if *verbose {
		c.logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return positional, nil
}

// poeSetup is the environment, credential file and Poe client of a command.
type poeSetup struct {
	env      setup.Env
	credPath string
	poe      *provider.Client
}

// setup reads the environment and builds the Poe API client.
func (c *cli) setup() (*poeSetup, error) {
	env := setup.ReadEnv(c.getenv)
	baseURL, err := env.ResolveBaseURL()
	if err != nil {
		return nil, err
	}
	credPath, err := auth.DefaultPath()
	if err != nil {
		return nil, err
	}
	poe := setup.NewProvider(setup.ProviderOptions{
		BaseURL:   baseURL,
		UserAgent: "poe-sidecar/" + buildVersion(),
		Logger:    c.logger.With("component", "provider"),
	})
	c.envKeySet = env.APIKey != ""
	return &poeSetup{env: env, credPath: credPath, poe: poe}, nil
}

// authService returns a sign-in service on the credential file. attemptTimeout is the
// lifetime of a browser sign-in; 0 means auth's default. The caller closes the service.
func (c *cli) authService(p *poeSetup, attemptTimeout time.Duration) (*auth.Service, error) {
	cfg := p.env.AuthConfig(p.credPath, p.poe)
	cfg.AttemptTimeout = attemptTimeout
	cfg.Logger = c.logger.With("component", "auth")
	svc, err := auth.NewService(cfg)
	if err != nil {
		return nil, fmt.Errorf("set up sign-in: %w", err)
	}
	return svc, nil
}

// commandList formats the terminal commands for the main help.
func commandList() string {
	var b strings.Builder
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %-29s%s\n", cmd.synopsis, cmd.summary)
	}
	return b.String()
}
