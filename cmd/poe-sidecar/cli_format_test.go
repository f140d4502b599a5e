package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

func TestFormatPrice(t *testing.T) {
	cases := []struct {
		name    string
		pricing map[string]any
		want    string
	}{
		{"per token", map[string]any{"prompt": "0.0000026", "completion": "0.000013"}, "$2.60 / $13.00"},
		{"below a cent", map[string]any{"prompt": "0.000000001", "completion": "0.0000001"}, "$0.001 / $0.10"},
		{"free", map[string]any{"prompt": "0", "completion": "0"}, "$0.00 / $0.00"},
		{"input only", map[string]any{"prompt": "0.000001", "completion": nil}, "$1.00 / -"},
		{"per request", map[string]any{"prompt": nil, "completion": nil, "request": "0.04"}, "$0.04 per request"},
		{"per image", map[string]any{"image": "0.02"}, "$0.02 per image"},
		{"no pricing", nil, "-"},
		{"all null", map[string]any{"prompt": nil, "completion": nil, "request": nil, "image": nil}, "-"},
		{"not a number", map[string]any{"prompt": "cheap"}, "-"},
	}
	for _, tc := range cases {
		if got := formatPrice(tc.pricing); got != tc.want {
			t.Errorf("%s: formatPrice(%v) = %q, want %q", tc.name, tc.pricing, got, tc.want)
		}
	}
}

func TestFormatTokens(t *testing.T) {
	cases := map[int]string{0: "-", -1: "-", 2048: "2,048", 8000: "8K", 200000: "200K", 1000000: "1M", 1048576: "1,048,576"}
	for n, want := range cases {
		if got := formatTokens(n); got != want {
			t.Errorf("formatTokens(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGroupDigits(t *testing.T) {
	cases := map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"}
	for n, want := range cases {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatCountdown(t *testing.T) {
	cases := map[time.Duration]string{
		5 * time.Minute:                       "5:00",
		5*time.Minute - time.Millisecond:      "5:00",
		4*time.Minute + 59*time.Second:        "4:59",
		61 * time.Second:                      "1:01",
		time.Millisecond:                      "0:01",
		0:                                     "0:00",
		-time.Second:                          "0:00",
		75*time.Minute + 500*time.Millisecond: "75:01",
	}
	for d, want := range cases {
		if got := formatCountdown(d); got != want {
			t.Errorf("formatCountdown(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestFormatRelative(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		offset time.Duration
		want   string
	}{
		{90*24*time.Hour - time.Second, "in 90 days"},
		{3 * time.Hour, "in 3 hours"},
		{47 * time.Hour, "in 47 hours"},
		{10 * time.Minute, "in 10 minutes"},
		{90 * time.Second, "in 1 minute"},
		{30 * time.Second, "in less than a minute"},
		{-2 * 24 * time.Hour, "2 days ago"},
	}
	for _, tc := range cases {
		if got := formatRelative(now.Add(tc.offset), now); got != tc.want {
			t.Errorf("formatRelative(now%+v) = %q, want %q", tc.offset, got, tc.want)
		}
	}
}

func TestModelTable(t *testing.T) {
	models := []provider.Model{
		{ID: "Claude-Sonnet-4.6", OwnedBy: "Anthropic", ContextWindow: 200000, Pricing: map[string]any{"prompt": "0.0000026", "completion": "0.000013"}},
		{ID: "Odd"},
	}
	want := "" +
		"ID                 OWNER      CONTEXT  PRICE (USD, input / output per 1M tokens)\n" +
		"Claude-Sonnet-4.6  Anthropic  200K     $2.60 / $13.00\n" +
		"Odd                -          -        -\n"
	if got := string(modelTable(models, style{})); got != want {
		t.Errorf("modelTable without colour:\n%s\nwant:\n%s", got, want)
	}

	coloured := string(modelTable(models, style{on: true}))
	header, rest, _ := strings.Cut(coloured, "\n")
	if header != "\x1b[1m"+strings.SplitN(want, "\n", 2)[0]+"\x1b[0m" {
		t.Errorf("coloured header = %q, want the plain header in bold", header)
	}
	if rest != strings.SplitN(want, "\n", 2)[1] {
		t.Errorf("coloured rows = %q, want the plain rows", rest)
	}
}

func TestBrowserCommand(t *testing.T) {
	const url = "http://127.0.0.1:9/oauth/authorize?state=s"
	cases := []struct {
		name       string
		browserVar string
		goos       string
		wantName   string
		wantArgs   []string
	}{
		{"linux default", "", "linux", "xdg-open", []string{url}},
		{"macOS default", "", "darwin", "open", []string{url}},
		{"windows default", "", "windows", "rundll32", []string{"url.dll,FileProtocolHandler", url}},
		{"BROWSER", "firefox", "linux", "firefox", []string{url}},
		{"BROWSER with arguments", "firefox --new-tab", "linux", "firefox", []string{"--new-tab", url}},
		{"BROWSER with %s", "lynx -dump %s", "linux", "lynx", []string{"-dump", url}},
		{"BROWSER list", "w3m" + string(os.PathListSeparator) + "lynx", "linux", "w3m", []string{url}},
		{"BROWSER blank", "  ", "linux", "xdg-open", []string{url}},
	}
	for _, tc := range cases {
		name, args := browserCommand(tc.browserVar, tc.goos, url)
		if name != tc.wantName || !slices.Equal(args, tc.wantArgs) {
			t.Errorf("%s: browserCommand = %q %q, want %q %q", tc.name, name, args, tc.wantName, tc.wantArgs)
		}
	}
}

func TestChooseBrowser(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the display and kernel release checks are Linux ones")
	}
	cases := []struct {
		name       string
		flag       bool
		env        map[string]string
		osrelease  string
		wantOpen   bool
		wantReason string
	}{
		{"desktop", false, map[string]string{"DISPLAY": ":0"}, "6.8.0-generic", true, ""},
		{"wayland", false, map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, "6.8.0-generic", true, ""},
		{"BROWSER without display", false, map[string]string{"BROWSER": "w3m"}, "6.8.0-generic", true, ""},
		{"flag", true, map[string]string{"DISPLAY": ":0"}, "6.8.0-generic", false, "--no-browser"},
		{"ssh", false, map[string]string{"DISPLAY": ":0", "SSH_CLIENT": "10.0.0.2 5 22"}, "6.8.0-generic", false, "SSH_CLIENT is set"},
		{"ssh tty", false, map[string]string{"SSH_TTY": "/dev/pts/1", "BROWSER": "w3m"}, "6.8.0-generic", false, "SSH_TTY is set"},
		{"wsl variable", false, map[string]string{"DISPLAY": ":0", "WSL_INTEROP": "/run/WSL/1_interop"}, "6.8.0-generic", false, "WSL_INTEROP is set"},
		{"wsl kernel", false, map[string]string{"DISPLAY": ":0"}, "5.15.153.1-microsoft-standard-WSL2", false, "the kernel release names Microsoft"},
		{"no display", false, nil, "6.8.0-generic", false, "No graphical display"},
	}
	for _, tc := range cases {
		c := &cli{
			getenv:   func(name string) string { return tc.env[name] },
			readFile: func(string) ([]byte, error) { return []byte(tc.osrelease + "\n"), nil },
		}
		got := c.chooseBrowser(tc.flag)
		if got.open != tc.wantOpen || !strings.Contains(got.reason, tc.wantReason) {
			t.Errorf("%s: chooseBrowser = %+v, want open %v with a reason containing %q", tc.name, got, tc.wantOpen, tc.wantReason)
		}
	}
}

func TestPastedAddress(t *testing.T) {
	cases := []struct {
		text   string
		want   string
		wantOK bool
	}{
		{"http://127.0.0.1:5/callback?code=c&state=s", "http://127.0.0.1:5/callback?code=c&state=s", true},
		{"127.0.0.1:5/callback?code=c&state=s", "http://127.0.0.1:5/callback?code=c&state=s", true},
		{"code=c&state=s", "http://127.0.0.1/callback?code=c&state=s", true},
		{"a-bare-code", "", false},
		{"not an address", "", false},
	}
	for _, tc := range cases {
		got, ok := pastedAddress(tc.text)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("pastedAddress(%q) = %q, %v; want %q, %v", tc.text, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestParseFlags(t *testing.T) {
	cases := []struct {
		args      []string
		wantModel string
		wantArgs  []string
	}{
		{[]string{"--model", "M", "hello", "world"}, "M", []string{"hello", "world"}},
		{[]string{"hello", "--model", "M", "world"}, "M", []string{"hello", "world"}},
		{[]string{"hello", "--", "--model", "M"}, "", []string{"hello", "--model", "M"}},
		{[]string{"-model=M"}, "M", nil},
	}
	for _, tc := range cases {
		c := newCLI(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
		flags := flag.NewFlagSet("chat", flag.ContinueOnError)
		model := flags.String("model", "", "")
		got, err := c.parseFlags(flags, tc.args)
		if err != nil {
			t.Errorf("parseFlags(%q) error = %v", tc.args, err)
			continue
		}
		if *model != tc.wantModel || !slices.Equal(got, tc.wantArgs) {
			t.Errorf("parseFlags(%q) = model %q, args %q; want %q, %q", tc.args, *model, got, tc.wantModel, tc.wantArgs)
		}
	}

	c := newCLI(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	_, err := c.parseFlags(flag.NewFlagSet("chat", flag.ContinueOnError), []string{"--nope"})
	var usageErr *usageError
	if !errors.As(err, &usageErr) {
		t.Errorf("parseFlags with an unknown flag: error = %v, want a *usageError", err)
	}
	_, err = c.parseFlags(flag.NewFlagSet("chat", flag.ContinueOnError), []string{"x", "--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseFlags with --help: error = %v, want flag.ErrHelp", err)
	}
}

// TestDescribe checks the message and exit status of each kind of error.
func TestDescribe(t *testing.T) {
	expiry := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	cases := []struct {
		name      string
		err       error
		envKey    bool
		wantCode  int
		wantParts []string
	}{
		{"not signed in", &auth.CredentialError{Reason: auth.ReasonNotSignedIn}, false, exitAuthRequired,
			[]string{"You are not signed in to Poe.", "poe-sidecar login"}},
		{"expired", fmt.Errorf("chat: %w", &auth.CredentialError{Reason: auth.ReasonExpired, ExpiresAt: expiry}), false, exitAuthRequired,
			[]string{"The Poe API key expired on 2026-12-01 09:30 UTC", "poe-sidecar login"}},
		{"corrupt", &auth.CredentialError{Reason: auth.ReasonCorruptCredentials, Path: "/x/auth.json"}, false, exitAuthRequired,
			[]string{`"/x/auth.json"`, "poe-sidecar login"}},
		{"denied", &auth.SignInError{Reason: auth.ReasonAccessDenied, OAuthError: "access_denied"}, false, exitSignInFailed,
			[]string{"Sign-in to Poe was denied in the browser", "poe-sidecar login"}},
		{"invalid key", &auth.SignInError{Reason: auth.ReasonInvalidAPIKey, Err: auth.ErrKeyRejected}, false, exitSignInFailed,
			[]string{"The Poe API key is invalid", "https://poe.com/api_key"}},
		{"rejected stored key", &provider.Error{Reason: provider.ReasonUnauthorized, Status: 401}, false, exitAuthRequired,
			[]string{"Poe rejected the API key", "poe-sidecar login"}},
		{"rejected env key", &provider.Error{Reason: provider.ReasonUnauthorized, Status: 401}, true, exitAuthRequired,
			[]string{"Poe rejected the API key", "POE_API_KEY"}},
		{"rate limited", &provider.Error{Reason: provider.ReasonRateLimited, Status: 429, RetryAfter: 20 * time.Second}, false, exitPoeAPI,
			[]string{"Poe rate-limited", "wait 20 seconds"}},
		{"unreachable", &provider.Error{Reason: provider.ReasonUnreachable, Err: errors.New("connection refused")}, false, exitPoeAPI,
			[]string{"Could not reach Poe", "HTTPS_PROXY"}},
		{"hint", &hintError{err: &provider.Error{Reason: provider.ReasonBadRequest, Status: 404}, hint: "Run 'poe-sidecar models'."}, false, exitPoeAPI,
			[]string{"check the model id.", "Run 'poe-sidecar models'."}},
		{"other", errors.New("store the API key: disk full"), false, exitFailure,
			[]string{"Store the API key: disk full."}},
	}
	for _, tc := range cases {
		c := &cli{envKeySet: tc.envKey}
		message, code := c.describe(tc.err)
		if code != tc.wantCode {
			t.Errorf("%s: exit status %d, want %d", tc.name, code, tc.wantCode)
		}
		for _, part := range tc.wantParts {
			if !strings.Contains(message, part) {
				t.Errorf("%s: message %q does not contain %q", tc.name, message, part)
			}
		}
	}
}

func TestSpinner(t *testing.T) {
	var out bytes.Buffer
	c := &cli{stderr: &out, animate: true}
	labels := make(chan struct{}, 1)
	stop := c.startSpinner(func() string {
		select {
		case labels <- struct{}{}:
		default:
		}
		return "Waiting, 4:59 left"
	})
	<-labels
	stop()
	stop() // a second stop is allowed and does nothing

	got := out.String()
	if !strings.HasPrefix(got, clearLine+spinnerFrames[0]+" Waiting, 4:59 left") {
		t.Errorf("spinner output starts with %q, want a frame and the label", got)
	}
	if !strings.HasSuffix(got, clearLine) {
		t.Errorf("spinner output %q does not end by erasing the line", got)
	}

	out.Reset()
	c.animate = false
	c.startSpinner(func() string { return "x" })()
	if out.Len() != 0 {
		t.Errorf("spinner wrote %q though stderr cannot animate", out.String())
	}
}
