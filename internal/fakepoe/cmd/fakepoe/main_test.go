package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testKey = "sk-poe-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"

func TestRun(t *testing.T) {
	stdinReader, stdinWriter := io.Pipe()
	stdoutReader, stdoutWriter := io.Pipe()
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		args := []string{"-key", testKey, "-balance", "42", "-fault", `{"chatStatus":429}`}
		done <- run(context.Background(), args, stdinReader, stdoutWriter, &stderr)
		stdoutWriter.Close()
	}()

	line, err := bufio.NewReader(stdoutReader).ReadString('\n')
	if err != nil {
		t.Fatalf("read the URL line: %v", err)
	}
	var got urls
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("URL line %q: %v", line, err)
	}
	if !strings.HasPrefix(got.URL, "http://127.0.0.1:") || got.BaseURL != got.URL+"/v1" ||
		got.AuthorizeURL != got.URL+"/oauth/authorize" || got.TokenURL != got.URL+"/token" {
		t.Errorf("URLs = %+v", got)
	}

	req, err := http.NewRequest(http.MethodGet, got.URL+"/usage/current_balance", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET balance: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"current_point_balance":42}` {
		t.Errorf("balance body = %s, want 42 points", body)
	}

	resp, err = http.Post(got.BaseURL+"/chat/completions", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST chat: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("chat status = %d, want 429 from the -fault flag", resp.StatusCode)
	}

	stdinWriter.Close()
	if err := <-done; err != nil {
		t.Errorf("run = %v, want nil after stdin closed", err)
	}
	if rest, _ := io.ReadAll(stdoutReader); len(rest) != 0 {
		t.Errorf("stdout after the URL line = %q, want nothing", rest)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q, want nothing without -log-stderr", stderr.String())
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestRunBadFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown quirk", []string{"-fault", `{"stream":"sideways"}`}, `invalid Stream quirk "sideways"`},
		{"unknown field", []string{"-fault", `{"streams":"crlf"}`}, `unknown field "streams"`},
		{"argument", []string{"extra"}, `unexpected argument "extra"`},
		{"bad duration", []string{"-chunk-delay", "fast"}, `invalid value "fast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run = %v, want an error containing %q", err, tt.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}
