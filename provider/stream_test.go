package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// waitClosed fails the test unless done is closed within a generous bound. The bound
// only keeps a broken test from hanging; it does not synchronise anything.
func waitClosed(t *testing.T, done <-chan struct{}, event string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", event)
	}
}

// awaitCancel blocks a handler until the client cancels its request and then closes
// cancelled. The bound only keeps a broken test from hanging the server's Close.
func awaitCancel(t *testing.T, r *http.Request, cancelled chan<- struct{}) {
	t.Helper()
	select {
	case <-r.Context().Done():
		close(cancelled)
	case <-time.After(10 * time.Second):
		t.Errorf("request to %s was not cancelled", r.URL.Path)
	}
}

func TestChatStreamMidStreamErrors(t *testing.T) {
	tests := []struct {
		name        string
		frame       string
		wantReason  Reason
		wantType    string
		wantCode    string
		wantMessage string
	}{
		{
			name:        "shape B data",
			frame:       `data: {"error":{"code":429,"type":"rate_limit_error","message":"slow down","metadata":{}}}` + "\n\n",
			wantReason:  ReasonRateLimited,
			wantType:    "rate_limit_error",
			wantCode:    "429",
			wantMessage: "slow down",
		},
		{
			name:        "shape A data",
			frame:       `data: {"error":{"message":"boom","type":"api_error","code":"internal_error"}}` + "\n\n",
			wantReason:  ReasonServerError,
			wantType:    "api_error",
			wantCode:    "internal_error",
			wantMessage: "boom",
		},
		{
			name:        "string code",
			frame:       `data: {"error":{"message":"no points","type":"insufficient_quota","code":"insufficient_points"}}` + "\n\n",
			wantReason:  ReasonInsufficientPoints,
			wantType:    "insufficient_quota",
			wantCode:    "insufficient_points",
			wantMessage: "no points",
		},
		{
			name:        "no code",
			frame:       `data: {"error":{"message":"provider failed","type":"provider_error"}}` + "\n\n",
			wantReason:  ReasonServerError,
			wantType:    "provider_error",
			wantMessage: "provider failed",
		},
		{
			name:        "event error object",
			frame:       "event: error\n" + `data: {"message":"overloaded","type":"overloaded_error","code":529}` + "\n\n",
			wantReason:  ReasonServerError,
			wantType:    "overloaded_error",
			wantCode:    "529",
			wantMessage: "overloaded",
		},
		{
			name:        "event error body",
			frame:       "event: error\n" + `data: {"error":{"code":401,"type":"authentication_error","message":"key expired"}}` + "\n\n",
			wantReason:  ReasonUnauthorized,
			wantType:    "authentication_error",
			wantCode:    "401",
			wantMessage: "key expired",
		},
		{
			name:        "event error text",
			frame:       "event: error\ndata: upstream went away\n\n",
			wantReason:  ReasonServerError,
			wantMessage: "upstream went away",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sseServer(t, chunk("partial", ""), tt.frame, chunk("never", "stop"), doneFrame)

			deltas, _, err := collectChat(t, newClient(srv))

			apiErr := requireAPIError(t, err, tt.wantReason)
			if want := []string{"partial"}; !reflect.DeepEqual(deltas, want) {
				t.Errorf("deltas = %q, want %q", deltas, want)
			}
			if apiErr.Status != http.StatusOK {
				t.Errorf("Status = %d, want 200", apiErr.Status)
			}
			if apiErr.Type != tt.wantType {
				t.Errorf("Type = %q, want %q", apiErr.Type, tt.wantType)
			}
			if apiErr.Code != tt.wantCode {
				t.Errorf("Code = %q, want %q", apiErr.Code, tt.wantCode)
			}
			if apiErr.Message != tt.wantMessage {
				t.Errorf("Message = %q, want %q", apiErr.Message, tt.wantMessage)
			}
		})
	}
}

func TestChatStreamNotJSONChunk(t *testing.T) {
	srv := sseServer(t, chunk("a", ""), "data: {not json\n\n", doneFrame)

	_, _, err := collectChat(t, newClient(srv))

	apiErr := requireAPIError(t, err, ReasonMalformed)
	if !strings.Contains(apiErr.Error(), "not valid chat.completion.chunk JSON") {
		t.Errorf("Error() = %q, want it to say the chunk is not JSON", apiErr.Error())
	}
}

func TestChatStreamEndsBeforeFinish(t *testing.T) {
	srv := sseServer(t, chunk("Hel", ""), chunk("lo", ""))

	deltas, _, err := collectChat(t, newClient(srv))

	requireAPIError(t, err, ReasonMalformed)
	if !errors.Is(err, errStreamCut) {
		t.Errorf("error = %v, want errStreamCut as its cause", err)
	}
	if want := []string{"Hel", "lo"}; !reflect.DeepEqual(deltas, want) {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
}

// TestChatStreamConnectionClosed hijacks the connection, writes the body as one HTTP
// chunk with no terminating chunk, and closes the connection.
func TestChatStreamConnectionClosed(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantErr    bool
		wantFinish string
	}{
		{name: "before finish", body: chunk("Hel", "") + `data: {"choices":[{"delta":{"con`, wantErr: true},
		{name: "after finish", body: chunk("Hel", "stop") + `data: {"choi`, wantFinish: "stop"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				checkChatRequest(t, r, defaultChatBody)
				conn, buffered, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				defer conn.Close()
				fmt.Fprintf(buffered, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
				fmt.Fprintf(buffered, "%x\r\n%s\r\n", len(tt.body), tt.body)
				buffered.Flush()
			})

			deltas, got, err := collectChat(t, newClient(srv))

			if want := []string{"Hel"}; !reflect.DeepEqual(deltas, want) {
				t.Errorf("deltas = %q, want %q", deltas, want)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("ChatStream: %v", err)
				}
				if got.FinishReason != tt.wantFinish {
					t.Errorf("FinishReason = %q, want %q", got.FinishReason, tt.wantFinish)
				}
				return
			}
			requireAPIError(t, err, ReasonMalformed)
			if !errors.Is(err, errStreamCut) {
				t.Errorf("error = %v, want errStreamCut as its cause", err)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error = %v, want io.ErrUnexpectedEOF as its cause", err)
			}
		})
	}
}

func TestChatStreamEventOverCap(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunk("a", ""))
		io.WriteString(w, "data: ")
		block := strings.Repeat("x", 1<<20)
		for range defaultMaxEventSize>>20 + 2 {
			if _, err := io.WriteString(w, block); err != nil {
				return // the client closed the connection, as it should
			}
		}
		io.WriteString(w, "\n\n"+doneFrame)
	})

	_, _, err := collectChat(t, newClient(srv))

	apiErr := requireAPIError(t, err, ReasonMalformed)
	if !errors.Is(err, errEventTooLarge) {
		t.Errorf("error = %v, want errEventTooLarge as its cause", err)
	}
	if !strings.Contains(apiErr.Error(), "server-sent event too large") {
		t.Errorf("Error() = %q, want it to say the event is too large", apiErr.Error())
	}
}

func TestChatStreamStalled(t *testing.T) {
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunk("Hel", ""))
		w.(http.Flusher).Flush()
		awaitCancel(t, r, serverSawCancel)
	})
	client := newClient(srv)
	client.IdleTimeout = 200 * time.Millisecond

	deltas, _, err := collectChat(t, client)

	apiErr := requireAPIError(t, err, ReasonStalled)
	if want := []string{"Hel"}; !reflect.DeepEqual(deltas, want) {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
	if !strings.Contains(apiErr.Error(), "no data for 200ms") {
		t.Errorf("Error() = %q, want it to name the idle timeout", apiErr.Error())
	}
	waitClosed(t, serverSawCancel, "server-side cancellation of the stalled request")
}

func TestChatStreamKeepAlive(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunk("Hel", ""))
		w.(http.Flusher).Flush()

		// 10 comments 50ms apart keep the stream alive for 500ms, well past the
		// client's 200ms idle timeout.
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for range 10 {
			select {
			case <-ticker.C:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, ": keep-alive\n\n")
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, chunk("lo", "stop")+doneFrame)
	})
	client := newClient(srv)
	client.IdleTimeout = 200 * time.Millisecond

	deltas, got, err := collectChat(t, client)
	if err != nil {
		t.Fatalf("ChatStream: %v", err)
	}
	if want := []string{"Hel", "lo"}; !reflect.DeepEqual(deltas, want) {
		t.Errorf("deltas = %q, want %q", deltas, want)
	}
	if got.FinishReason != "stop" {
		t.Errorf("FinishReason = %q, want stop", got.FinishReason)
	}
}

func TestChatStreamCallerCancel(t *testing.T) {
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, chunk("Hel", ""))
		w.(http.Flusher).Flush()
		awaitCancel(t, r, serverSawCancel)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	_, err := newClient(srv).ChatStream(ctx, testKey, testChatRequest, func(string) { cancel() })

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		t.Errorf("error = %v, want no *Error on cancellation", err)
	}
	waitClosed(t, serverSawCancel, "server-side cancellation")
}

func TestChatStreamCancelBeforeHeaders(t *testing.T) {
	serverSawRequest := make(chan struct{})
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice when the client closes the connection.
		checkChatRequest(t, r, defaultChatBody)
		close(serverSawRequest)
		awaitCancel(t, r, serverSawCancel)
	})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-serverSawRequest
		cancel()
	}()

	_, err := newClient(srv).ChatStream(ctx, testKey, testChatRequest, nil)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	waitClosed(t, serverSawCancel, "server-side cancellation")
}

func TestChatStreamHeaderTimeout(t *testing.T) {
	serverSawCancel := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		checkChatRequest(t, r, defaultChatBody)
		awaitCancel(t, r, serverSawCancel)
	})
	client := newClient(srv)
	client.HeaderTimeout = 100 * time.Millisecond

	_, _, err := collectChat(t, client)

	apiErr := requireAPIError(t, err, ReasonUnreachable)
	if apiErr.Status != 0 {
		t.Errorf("Status = %d, want 0", apiErr.Status)
	}
	if !strings.Contains(apiErr.Error(), "no response headers within 100ms") {
		t.Errorf("Error() = %q, want it to name the header timeout", apiErr.Error())
	}
	waitClosed(t, serverSawCancel, "server-side cancellation")
}

func TestChatStreamConnectionRefused(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := listener.Addr().String()
	listener.Close()
	t.Cleanup(defaultHTTPClient().CloseIdleConnections)

	client := &Client{BaseURL: "http://" + addr + "/v1"} // the default HTTP client
	_, err = client.ChatStream(t.Context(), testKey, testChatRequest, nil)

	apiErr := requireAPIError(t, err, ReasonUnreachable)
	if apiErr.Status != 0 {
		t.Errorf("Status = %d, want 0", apiErr.Status)
	}
	text := apiErr.Error()
	for _, want := range []string{"could not reach Poe at " + addr, "connection refused", "HTTPS_PROXY"} {
		if !strings.Contains(text, want) {
			t.Errorf("Error() = %q, want %q in it", text, want)
		}
	}
}

func TestChatStreamInvalidBaseURL(t *testing.T) {
	for _, baseURL := range []string{"ftp://example.invalid/v1", "api.poe.com/v1", "http://%zz"} {
		client := &Client{BaseURL: baseURL}
		_, err := client.ChatStream(t.Context(), testKey, testChatRequest, nil)
		if err == nil || !strings.Contains(err.Error(), "invalid Poe base URL") {
			t.Errorf("BaseURL %q: error = %v, want an invalid base URL error", baseURL, err)
		}
	}
}
