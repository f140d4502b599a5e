// Command fakepoe runs the fake Poe of package fakepoe for tests written in other
// languages.
//
// It starts the server on 127.0.0.1, prints one line of JSON to stdout,
//
//	{"url":"http://127.0.0.1:PORT","baseUrl":"…/v1","authorizeUrl":"…/oauth/authorize","tokenUrl":"…/token"}
//
// and serves until stdin reaches end of file or the process receives SIGTERM or
// SIGINT. Nothing else is written to stdout, and -log-stderr writes a debug log to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakepoe:", err)
		stop()
		os.Exit(1)
	}
}

// urls is the line that run prints once the server listens.
type urls struct {
	URL          string `json:"url"`
	BaseURL      string `json:"baseUrl"`
	AuthorizeURL string `json:"authorizeUrl"`
	TokenURL     string `json:"tokenUrl"`
}

// run starts the fake with the options in args, prints its URLs to stdout and serves
// until stdin reaches end of file or ctx is done.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("fakepoe", flag.ContinueOnError)
	flags.SetOutput(stderr)
	key := flags.String("key", "", "API key to accept, as if pasted by the user (optional)")
	balance := flags.Int64("balance", fakepoe.IssuedKeyBalance, "point balance of the -key key")
	chunkDelay := flags.Duration("chunk-delay", 0, "pause between streamed chat chunks, such as 20ms (0: none)")
	keyExpiresIn := flags.Int64("key-expires-in", -1,
		"api_key_expires_in, in seconds, of keys issued by /token (-1 sends null, other values are sent as is)")
	clientID := flags.String("client-id", "", "OAuth client_id to accept (default "+fakepoe.DefaultClientID+")")
	faultJSON := flags.String("fault", "", `fault to switch on, as the JSON of fakepoe.Fault, such as {"stream":"crlf,keepalive"}`)
	logStderr := flags.Bool("log-stderr", false, "write a debug log of requests to stderr")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: fakepoe takes only flags", flags.Arg(0))
	}

	opts := fakepoe.Options{ClientID: *clientID, ChunkDelay: *chunkDelay}
	if *keyExpiresIn != -1 {
		opts.KeyExpiresIn = keyExpiresIn
	}
	if *logStderr {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	fault, err := parseFault(*faultJSON)
	if err != nil {
		return err
	}

	server, err := fakepoe.Start(opts)
	if err != nil {
		return err
	}
	defer server.Close()
	if *key != "" {
		server.AddKey(*key, *balance)
	}
	server.SetFault(fault)

	line := urls{
		URL:          server.URL(),
		BaseURL:      server.BaseURL(),
		AuthorizeURL: server.AuthorizeURL(),
		TokenURL:     server.TokenURL(),
	}
	if err := json.NewEncoder(stdout).Encode(line); err != nil {
		return fmt.Errorf("write URLs to stdout: %w", err)
	}

	stdinClosed := make(chan struct{})
	go func() {
		defer close(stdinClosed)
		_, _ = io.Copy(io.Discard, stdin) // any read error also means the parent is gone
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	return nil
}

// parseFault decodes the -fault flag. An empty value means no fault.
func parseFault(text string) (fakepoe.Fault, error) {
	var fault fakepoe.Fault
	if text == "" {
		return fault, nil
	}

	decoder := json.NewDecoder(strings.NewReader(text))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&fault); err != nil {
		return fault, fmt.Errorf("invalid -fault %q: %w", text, err)
	}
	if err := fault.Validate(); err != nil {
		return fault, fmt.Errorf("invalid -fault %q: %w", text, err)
	}
	return fault, nil
}
