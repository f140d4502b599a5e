// Command poe-sidecar signs editors in to Poe and streams chat completions to
// them over JSON-RPC on stdin and stdout, the way a language server runs. Its
// terminal commands (login, logout, status, models, chat) share the same
// packages and credential file.
//
// main wires flags, standard streams and the logger; the protocol lives in
// package rpc, sign-in in package auth and Poe's API in package provider.
// The terminal commands start in cli_command.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/rpc"
)

// version is set at build time with -ldflags "-X main.version=...". When it
// is not, the module version from the build info is used.
var version = ""

const usage = `poe-sidecar: Poe sign-in and chat for editors, over JSON-RPC on stdio, and in
the terminal.

Usage:
  poe-sidecar [flags]          serve the protocol on stdin/stdout (what editors run)
  poe-sidecar --stdio [flags]  the same; vscode-languageclient adds --stdio
  poe-sidecar COMMAND [flags]  run a terminal command (below)

Terminal commands, which share the editors' credential file, so signing in once from
a terminal signs in every editor ('poe-sidecar COMMAND --help' for details):
%s  demo                         sign in, list models and stream a chat against a
                               local fake Poe, with no account and no network
  version                      print the version
  help [COMMAND]               print this help, or a command's help

Flags when serving:
  --log-stderr            write logs to stderr instead of the log file
  --log-file PATH         write logs to PATH (default: %s)
  --log-level LEVEL       debug, info, warn or error (default: info; the editor's
                          initializationOptions.logLevel overrides it)
  --trace                 log every message to and from the editor at debug
                          level, with keys, codes and sign-in addresses
                          replaced by [redacted] (chat/stream deltas are not
                          traced); needs --log-level debug
  --max-message-size N    largest message body read from the editor, in bytes
                          (default: %d); a larger frame ends the session

Environment:
  POE_API_KEY             use this key instead of the stored one
  POE_BASE_URL            Poe's API base URL (default: %s)
  POE_OAUTH_AUTHORIZE_URL, POE_OAUTH_TOKEN_URL, POE_OAUTH_CLIENT_ID
                          point browser sign-in elsewhere (tests, proxies)
  POE_MODEL               the model of 'poe-sidecar chat' (default: %s)
  XDG_DATA_HOME           the key is stored in $XDG_DATA_HOME/poe-sidecar/auth.json
  XDG_STATE_HOME          logs go to $XDG_STATE_HOME/poe-sidecar/
  BROWSER                 the command that 'poe-sidecar login' opens the address with
  NO_COLOR                when set, the terminal commands print no colour
  HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE work as in every Go program.

%s
Protocol: docs/protocol.md in the source repository.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version":
			fmt.Fprintln(stdout, "poe-sidecar", buildVersion())
			return 0
		case "help", "-h", "-help", "--help":
			if len(args) > 1 && args[0] == "help" {
				return printCommandHelp(args[1], stdout, stderr)
			}
			printUsage(stdout)
			return 0
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		}
		if cmd := findCommand(args[0]); cmd != nil {
			return runCommand(cmd, args[1:], stdin, stdout, stderr)
		}
	}

	flags := flag.NewFlagSet("poe-sidecar", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.Bool("stdio", true, "")
	logStderr := flags.Bool("log-stderr", false, "")
	logFile := flags.String("log-file", "", "")
	logLevel := flags.String("log-level", "info", "")
	maxMessage := flags.Int("max-message-size", rpc.DefaultMaxMessageSize, "")
	trace := flags.Bool("trace", false, "")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "poe-sidecar: %v\nRun 'poe-sidecar help' for usage.\n", err)
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "poe-sidecar: unknown command %q\nRun 'poe-sidecar help' for usage.\n", flags.Arg(0))
		return 2
	}

	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "poe-sidecar: invalid --log-level %q: use debug, info, warn or error\n", *logLevel)
		return 2
	}
	logger, logPath, closeLog := openLog(*logStderr, *logFile, level, stderr)
	defer closeLog()

	if isTerminal(stdin) {
		// A person typed the bare command: say what it is waiting for, since
		// stdout belongs to the protocol and nothing else appears.
		fmt.Fprintln(stderr, "poe-sidecar is waiting for an editor to speak JSON-RPC on stdin; to try it, run 'poe-sidecar demo', and 'poe-sidecar help' lists the commands. Ctrl-D ends it.")
	}

	return serve(stdin, stdout, serveOptions{
		trace:      *trace,
		logger:     logger,
		logPath:    logPath,
		level:      level,
		maxMessage: *maxMessage,
	})
}

type serveOptions struct {
	trace      bool
	logger     *slog.Logger
	logPath    string
	level      *slog.LevelVar
	maxMessage int
}

// serve runs one session until the editor sends exit or closes stdin, and
// returns the exit status.
func serve(stdin io.Reader, stdout io.Writer, opts serveOptions) int {
	logger := opts.logger
	credPath, err := auth.DefaultPath()
	if err != nil {
		logger.Error("cannot locate the credential file", "error", err)
		return 1
	}
	logger.Info("starting", "version", buildVersion(), "pid", os.Getpid(), "credentials", credPath)

	stream := rpc.NewStream(stdin, stdout, nil, opts.maxMessage, logger)
	server := rpc.NewServer(rpc.Config{
		Stream:         stream,
		Version:        buildVersion(),
		LogFile:        opts.logPath,
		LogLevel:       opts.level,
		Logger:         logger,
		CredentialPath: credPath,
		Getenv:         os.Getenv,
		OpenBrowser:    openBrowser,
	})
	connOpts := []jsonrpc2.ConnOpt{jsonrpc2.SetLogger(libraryLogger{logger})}
	if opts.trace {
		connOpts = append(connOpts, rpc.TraceOptions(logger)...)
	}
	conn := jsonrpc2.NewConn(context.Background(), stream, server, connOpts...)

	select {
	case <-conn.DisconnectNotify():
		if stream.Err() == nil {
			logger.Info("stdin closed; stopping")
		}
	case <-server.Exited():
		logger.Info("the session ended; stopping")
	}
	_ = conn.Close()

	// Streams and sign-in waits end at once when cancelled; the bound only
	// guards against a stuck handler keeping the process alive.
	closed := make(chan struct{})
	go func() {
		if err := server.Close(); err != nil {
			logger.Warn("close failed", "error", err)
		}
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Second):
		logger.Warn("requests still running after one second; exiting anyway")
	}

	if err := stream.Err(); err != nil {
		logger.Error("ending the session", "error", err)
		return 1
	}
	return server.ExitCode()
}

// libraryLogger routes jsonrpc2's own log lines (protocol errors, responses
// to unknown requests) into the structured log instead of stderr.
type libraryLogger struct{ logger *slog.Logger }

func (l libraryLogger) Printf(format string, v ...any) {
	l.logger.Debug(fmt.Sprintf(format, v...), "component", "jsonrpc2")
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, usage, commandList(), defaultLogPath(), rpc.DefaultMaxMessageSize, rpc.DefaultBaseURL,
		defaultChatModel, "Exit status of the terminal commands:"+strings.TrimPrefix(exitCodesHelp, "Exit status:"))
}

// printCommandHelp prints the help of a terminal command, for "poe-sidecar help NAME".
func printCommandHelp(name string, stdout, stderr io.Writer) int {
	cmd := findCommand(name)
	if cmd == nil {
		fmt.Fprintf(stderr, "poe-sidecar: no help for %q: it is not a terminal command\nRun 'poe-sidecar help' for usage.\n", name)
		return exitUsage
	}
	fmt.Fprint(stdout, cmd.help+"\n"+exitCodesHelp)
	return 0
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
