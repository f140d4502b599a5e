package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/poe-sidecar/poe-sidecar/internal/client"
	"github.com/poe-sidecar/poe-sidecar/internal/fakepoe"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

const demoPrompt = "Explain in one paragraph what an editor sidecar does."

const demoUsage = `Usage: poe-sidecar demo [--chunk-delay DURATION]

Runs this binary as a sidecar against a fake Poe on 127.0.0.1 and plays the editor and
the browser: browser sign-in through the loopback callback, the model list, and one
streamed answer. It needs no account and no network, and leaves your stored key alone.

Flags:
  --chunk-delay DURATION   pause between the fake Poe's streamed chunks (default 40ms)
`

// runDemo plays an editor and a browser against a real sidecar process (this
// same binary) that talks to a fake Poe on 127.0.0.1, so a newcomer sees the
// whole flow without an account. Nothing it does touches the user's stored key.
func runDemo(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("demo", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	delay := flags.Duration("chunk-delay", 40*time.Millisecond, "")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, demoUsage)
			return 0
		}
		fmt.Fprintf(stderr, "poe-sidecar demo: %v\nRun 'poe-sidecar demo --help' for usage.\n", err)
		return 2
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "poe-sidecar demo: unexpected argument %q\nRun 'poe-sidecar demo --help' for usage.\n", flags.Arg(0))
		return 2
	}

	if err := demo(stdout, *delay); err != nil {
		fmt.Fprintf(stderr, "poe-sidecar demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(out io.Writer, chunkDelay time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	fmt.Fprintln(out, "Poe here is a local fake on 127.0.0.1: no account, no network, no points spent.")
	fake, err := fakepoe.Start(fakepoe.Options{ChunkDelay: chunkDelay})
	if err != nil {
		return fmt.Errorf("start the fake Poe: %w", err)
	}
	defer fake.Close()

	home, err := os.MkdirTemp("", "poe-sidecar-demo-")
	if err != nil {
		return fmt.Errorf("create a scratch folder: %w", err)
	}
	defer os.RemoveAll(home)

	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	env := append(withoutPoeEnv(os.Environ()),
		"XDG_DATA_HOME="+home+"/data",
		"XDG_STATE_HOME="+home+"/state",
		"POE_BASE_URL="+fake.BaseURL(),
		"POE_OAUTH_AUTHORIZE_URL="+fake.AuthorizeURL(),
		"POE_OAUTH_TOKEN_URL="+fake.TokenURL(),
	)
	sidecar, err := client.Start(self, nil, env, nil)
	if err != nil {
		return err
	}
	defer sidecar.Kill()

	step(out, "Starting the sidecar, as an editor would")
	var init struct {
		ServerInfo struct{ Name, Version string } `json:"serverInfo"`
	}
	if err := sidecar.Call(ctx, "initialize", map[string]any{"processId": os.Getpid(), "capabilities": map[string]any{}}, &init); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	_ = sidecar.Notify(ctx, "initialized", map[string]any{})
	fmt.Fprintf(out, "  %s %s is ready.\n", init.ServerInfo.Name, init.ServerInfo.Version)

	if err := demoSignIn(ctx, out, sidecar); err != nil {
		return err
	}
	model, err := demoModels(ctx, out, sidecar)
	if err != nil {
		return err
	}
	if err := demoChat(ctx, out, sidecar, model); err != nil {
		return err
	}

	step(out, "Shutting down")
	if err := sidecar.Call(ctx, "shutdown", nil, nil); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	_ = sidecar.Notify(ctx, "exit", nil)
	select {
	case <-sidecar.Done():
		fmt.Fprintf(out, "  The sidecar exited with status %d.\n", sidecar.ExitCode())
	case <-time.After(5 * time.Second):
		return fmt.Errorf("the sidecar did not exit within 5 s of the exit notification")
	}
	return nil
}

func demoSignIn(ctx context.Context, out io.Writer, sidecar *client.Client) error {
	step(out, "Signing in with the browser (OAuth 2.0 with PKCE)")
	var attempt struct {
		AttemptID   string `json:"attemptId"`
		URL         string `json:"url"`
		RedirectURI string `json:"redirectUri"`
	}
	if err := sidecar.Call(ctx, "auth/authorize", map[string]string{"method": "oauth"}, &attempt); err != nil {
		return fmt.Errorf("auth/authorize: %w", err)
	}
	fmt.Fprintf(out, "  The sidecar listens for the browser at %s\n", attempt.RedirectURI)
	fmt.Fprintf(out, "  An editor would now open: %s\n", attempt.URL)

	// auth/complete waits for the browser; start it first, as an editor does.
	type outcome struct {
		Method    string  `json:"method"`
		ExpiresAt *string `json:"expiresAt"`
	}
	var signedIn outcome
	completed := make(chan error, 1)
	go func() {
		completed <- sidecar.Call(ctx, "auth/complete", map[string]string{"attemptId": attempt.AttemptID}, &signedIn)
	}()

	fmt.Fprintln(out, "  Playing the browser: the fake Poe approves and redirects to the loopback callback.")
	page, status, err := browse(ctx, attempt.URL)
	if err != nil {
		return fmt.Errorf("follow the authorize URL: %w", err)
	}
	fmt.Fprintf(out, "  The callback page answered %d: %q\n", status, page)

	if err := <-completed; err != nil {
		return fmt.Errorf("auth/complete: %w", err)
	}
	expiry := "never expires"
	if signedIn.ExpiresAt != nil {
		expiry = "expires at " + *signedIn.ExpiresAt
	}
	fmt.Fprintf(out, "  Signed in (method %s); the key %s.\n", signedIn.Method, expiry)
	return nil
}

// browse fetches url and follows redirects as a browser would, and returns
// the final page's title or first heading.
func browse(ctx context.Context, url string) (string, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", 0, err
	}
	return pageHeading(string(body)), resp.StatusCode, nil
}

func pageHeading(html string) string {
	for _, tag := range []string{"h1", "title"} {
		_, rest, ok := strings.Cut(html, "<"+tag+">")
		if !ok {
			continue
		}
		text, _, ok := strings.Cut(rest, "</"+tag+">")
		if ok {
			return strings.TrimSpace(text)
		}
	}
	return "(no heading)"
}

func demoModels(ctx context.Context, out io.Writer, sidecar *client.Client) (string, error) {
	step(out, "Listing models (provider/models)")
	var res struct {
		Models []provider.Model `json:"models"`
	}
	if err := sidecar.Call(ctx, "provider/models", map[string]any{}, &res); err != nil {
		return "", fmt.Errorf("provider/models: %w", err)
	}
	if len(res.Models) == 0 {
		return "", fmt.Errorf("provider/models returned no models")
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tOWNER\tCONTEXT")
	for _, m := range res.Models {
		window := "-"
		if m.ContextWindow > 0 {
			window = fmt.Sprintf("%d", m.ContextWindow)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.ID, m.OwnedBy, window)
	}
	_ = tw.Flush()
	return res.Models[0].ID, nil
}

func demoChat(ctx context.Context, out io.Writer, sidecar *client.Client, model string) error {
	step(out, fmt.Sprintf("Streaming a chat with %s (chat/send, chat/stream)", model))
	fmt.Fprintf(out, "  You: %s\n  Poe: ", demoPrompt)
	sidecar.OnNotification("chat/stream", func(params json.RawMessage) {
		var ev struct {
			Delta string `json:"delta"`
		}
		if json.Unmarshal(params, &ev) == nil && ev.Delta != "" {
			fmt.Fprint(out, ev.Delta)
		}
	})

	var res struct {
		FinishReason string          `json:"finishReason"`
		Usage        *provider.Usage `json:"usage"`
	}
	err := sidecar.Call(ctx, "chat/send", map[string]any{
		"streamId": "demo-1",
		"model":    model,
		"messages": []map[string]string{{"role": "user", "content": demoPrompt}},
	}, &res)
	fmt.Fprintln(out)
	if err != nil {
		return fmt.Errorf("chat/send: %w", err)
	}
	fmt.Fprintf(out, "  Finished: %s", res.FinishReason)
	if res.Usage != nil {
		fmt.Fprintf(out, ", %d prompt and %d completion tokens", res.Usage.PromptTokens, res.Usage.CompletionTokens)
	}
	fmt.Fprintln(out, ".")
	return nil
}

func step(out io.Writer, title string) {
	fmt.Fprintf(out, "\n== %s\n", title)
}

// withoutPoeEnv drops the user's Poe settings, so the demo never sends their
// key to the fake or reads their configuration.
func withoutPoeEnv(env []string) []string {
	kept := env[:0:0]
	for _, kv := range env {
		if strings.HasPrefix(kv, "POE_") || strings.HasPrefix(kv, "XDG_DATA_HOME=") || strings.HasPrefix(kv, "XDG_STATE_HOME=") {
			continue
		}
		kept = append(kept, kv)
	}
	return kept
}
