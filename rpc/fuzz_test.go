package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzStream feeds arbitrary bytes to the frame reader. Whatever the input,
// the reader must not panic, must end with io.EOF, io.ErrUnexpectedEOF or a
// *FrameError, and everything it writes back must be well-formed frames of
// JSON-RPC error responses.
func FuzzStream(f *testing.F) {
	f.Add([]byte(frame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)))
	f.Add([]byte(frame(`{"jsonrpc":`) + frame(`[1,2]`)))
	f.Add([]byte("content-length: 2\n\n{}"))
	f.Add([]byte("\r\n\r\nContent-Length: 5\r\nContent-Type: x\r\n\r\n12345"))
	f.Add([]byte("Content-Length: 99999999999\r\n\r\n"))

	f.Fuzz(func(t *testing.T, input []byte) {
		var out bytes.Buffer
		s := NewStream(bytes.NewReader(input), &out, nil, 1<<16, nil)
		var err error
		for range 1000 {
			var m rawMessage
			if err = s.ReadObject(&m); err != nil {
				break
			}
			if !json.Valid(m.body) {
				t.Fatalf("ReadObject passed on invalid JSON %q", m.body)
			}
		}
		var fe *FrameError
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF && !errors.As(err, &fe) {
			t.Fatalf("ReadObject ended with %v", err)
		}
		checkFrames(t, out.Bytes())
	})
}

// checkFrames checks that b is a sequence of frames, each an error response.
func checkFrames(t *testing.T, b []byte) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	for {
		header, err := r.ReadString('\n')
		if err == io.EOF && header == "" {
			return
		}
		value, ok := strings.CutPrefix(header, "Content-Length: ")
		if !ok || err != nil {
			t.Fatalf("written header %q is not a Content-Length line", header)
		}
		n, err := strconv.Atoi(strings.TrimSuffix(value, "\r\n"))
		if err != nil {
			t.Fatalf("written length %q: %v", value, err)
		}
		if blank, _ := r.ReadString('\n'); blank != "\r\n" {
			t.Fatalf("header block ends with %q, want a blank line", blank)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("written body shorter than its length %d", n)
		}
		var reply struct {
			JSONRPC string           `json:"jsonrpc"`
			Error   *json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(body, &reply); err != nil || reply.JSONRPC != "2.0" || reply.Error == nil {
			t.Fatalf("written body %q is not a JSON-RPC error response", body)
		}
	}
}
