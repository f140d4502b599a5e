package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// benchKey is the API key both sidecars send. It has the shape poe-sidecar
// accepts, and the server checks it so that a run with a wrong setup fails.
const benchKey = "sk-poe-benchmarkbenchmarkbenchmarkbenchmark00"

// streamPlan describes the stream that one chat request gets from the server.
// The client encodes it as the query string in the last message's content,
// so both sidecars pass it through unchanged.
type streamPlan struct {
	chunks int           // number of delta chunks
	every  time.Duration // pause between chunks; 0 writes them as fast as possible
	phase  time.Duration // delay before the first chunk
	pad    int           // extra bytes of text in each delta
}

func (p streamPlan) encode() string {
	q := url.Values{}
	q.Set("chunks", strconv.Itoa(p.chunks))
	q.Set("every", p.every.String())
	q.Set("phase", p.phase.String())
	q.Set("pad", strconv.Itoa(p.pad))
	return q.Encode()
}

func parsePlan(s string) (streamPlan, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return streamPlan{}, err
	}
	var p streamPlan
	if p.chunks, err = strconv.Atoi(q.Get("chunks")); err != nil {
		return p, fmt.Errorf("invalid chunks %q", q.Get("chunks"))
	}
	if p.every, err = time.ParseDuration(q.Get("every")); err != nil {
		return p, fmt.Errorf("invalid every %q", q.Get("every"))
	}
	if p.phase, err = time.ParseDuration(q.Get("phase")); err != nil {
		return p, fmt.Errorf("invalid phase %q", q.Get("phase"))
	}
	if p.pad, err = strconv.Atoi(q.Get("pad")); err != nil {
		return p, fmt.Errorf("invalid pad %q", q.Get("pad"))
	}
	return p, nil
}

// poeServer is a stand-in for Poe's chat completions endpoint that stamps
// every chunk with the time it writes it. Chunk i of a stream carries the
// delta "i T;" and then pad bytes of "x", where T is clock() in nanoseconds
// just before the write. The client reads T back from the notification, and
// both run in this process on one monotonic clock, so their difference is
// the time the chunk spent in the sidecar, the sockets and the pipe.
type poeServer struct {
	clock  func() time.Duration
	server *http.Server
	url    string // base URL, as POE_BASE_URL
}

func startPoe(clock func() time.Duration) (*poeServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the benchmark's Poe server: %w", err)
	}
	s := &poeServer{clock: clock, url: "http://" + ln.Addr().String() + "/v1"}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

func (s *poeServer) close() { _ = s.server.Close() }

func (s *poeServer) chat(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+benchKey {
		http.Error(w, `{"error":{"message":"wrong key","type":"authentication_error"}}`, http.StatusUnauthorized)
		return
	}
	var body struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
		Stream bool `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) == 0 || !body.Stream {
		http.Error(w, `{"error":{"message":"want a streamed request with messages","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	plan, err := parsePlan(body.Messages[len(body.Messages)-1].Content)
	if err != nil {
		http.Error(w, `{"error":{"message":"bad plan","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher := http.NewResponseController(w)
	if err := flusher.Flush(); err != nil {
		return
	}

	const head = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[{"index":0,"delta":{"content":"`
	const tail = `"},"finish_reason":null}]}` + "\n\n"
	padding := strings.Repeat("x", plan.pad)
	buf := make([]byte, 0, len(head)+len(tail)+plan.pad+48)
	start := s.clock() + plan.phase
	for i := range plan.chunks {
		if plan.every > 0 || plan.phase > 0 {
			if wait := start + time.Duration(i)*plan.every - s.clock(); wait > 0 {
				time.Sleep(wait)
			}
		}
		buf = append(buf[:0], head...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(s.clock()), 10)
		buf = append(buf, ';')
		buf = append(buf, padding...)
		buf = append(buf, tail...)
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := flusher.Flush(); err != nil {
			return
		}
	}

	end := `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n" +
		`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1767225600,"model":"bench","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":` +
		strconv.Itoa(plan.chunks) + `,"total_tokens":` + strconv.Itoa(plan.chunks+1) + `}}` + "\n\n" +
		"data: [DONE]\n\n"
	_, _ = w.Write([]byte(end))
}
