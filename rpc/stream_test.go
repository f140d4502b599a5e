package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// rawMessage replaces the message type that jsonrpc2 passes to ReadObject:
// it keeps the body as read.
type rawMessage struct{ body json.RawMessage }

func (m *rawMessage) UnmarshalJSON(b []byte) error {
	m.body = append(json.RawMessage(nil), b...)
	return nil
}

func frame(body string) string {
	return "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body
}

var itoa = strconv.Itoa

func readAll(t *testing.T, input string) (msgs []string, replies string, err error) {
	t.Helper()
	var out bytes.Buffer
	s := NewStream(strings.NewReader(input), &out, nil, 1024, nil)
	for {
		var m rawMessage
		if err = s.ReadObject(&m); err != nil {
			break
		}
		msgs = append(msgs, string(m.body))
	}
	return msgs, out.String(), err
}

func TestStreamReadsFrames(t *testing.T) {
	req := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`
	note := `{"jsonrpc":"2.0","method":"initialized","params":{}}`
	cases := []struct {
		name  string
		input string
	}{
		{"plain", frame(req) + frame(note)},
		{"content type header", "Content-Length: " + itoa(len(req)) + "\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + req + frame(note)},
		{"lower case header", "content-length: " + itoa(len(req)) + "\r\n\r\n" + req + frame(note)},
		{"blank line between frames", frame(req) + "\r\n" + frame(note)},
		{"bare LF line endings", "Content-Length: " + itoa(len(req)) + "\n\n" + req + frame(note)},
		{"unknown header", "X-Trace: 1\r\nContent-Length: " + itoa(len(req)) + "\r\n\r\n" + req + frame(note)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, replies, err := readAll(t, tc.input)
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF", err)
			}
			if len(msgs) != 2 || msgs[0] != req || msgs[1] != note {
				t.Fatalf("messages = %q, want the request and the notification", msgs)
			}
			if replies != "" {
				t.Fatalf("stream wrote %q, want nothing", replies)
			}
		})
	}
}

func TestStreamAnswersBadBodies(t *testing.T) {
	good := `{"jsonrpc":"2.0","method":"initialized"}`
	cases := []struct {
		name     string
		body     string
		wantCode int
		wantID   string
	}{
		{"not json", `{"jsonrpc":`, -32700, "null"},
		{"batch", `[{"jsonrpc":"2.0","method":"a"}]`, -32600, "null"},
		{"scalar", `42`, -32600, "null"},
		{"wrong version", `{"jsonrpc":"1.0","id":7,"method":"a"}`, -32600, "7"},
		{"no version", `{"id":"x","method":"a"}`, -32600, `"x"`},
		{"method not string", `{"jsonrpc":"2.0","id":1,"method":5}`, -32600, "1"},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"a"}`, -32600, "null"},
		{"negative id", `{"jsonrpc":"2.0","id":-1,"method":"a"}`, -32600, "null"},
		{"id above int64", `{"jsonrpc":"2.0","id":9223372036854775808,"method":"a"}`, -32600, "null"},
		{"null id request", `{"jsonrpc":"2.0","id":null,"method":"a"}`, -32600, "null"},
		{"neither request nor response", `{"jsonrpc":"2.0","id":3}`, -32600, "3"},
		{"both result and error", `{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"x"}}`, -32600, "3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs, replies, err := readAll(t, frame(tc.body)+frame(good))
			if err != io.EOF {
				t.Fatalf("err = %v, want io.EOF: the session must go on", err)
			}
			if len(msgs) != 1 || msgs[0] != good {
				t.Fatalf("messages = %q, want only the valid one after the bad one", msgs)
			}

			_, body, ok := strings.Cut(replies, "\r\n\r\n")
			if !ok {
				t.Fatalf("reply %q is not a frame", replies)
			}
			var reply struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &reply); err != nil {
				t.Fatalf("reply body %q: %v", body, err)
			}
			if reply.JSONRPC != "2.0" {
				t.Errorf("jsonrpc = %q, want 2.0", reply.JSONRPC)
			}
			if reply.Error.Code != tc.wantCode {
				t.Errorf("code = %d, want %d (%s)", reply.Error.Code, tc.wantCode, reply.Error.Message)
			}
			if string(reply.ID) != tc.wantID {
				t.Errorf("id = %s, want %s", reply.ID, tc.wantID)
			}
		})
	}
}

func TestStreamResponseIsValid(t *testing.T) {
	resp := `{"jsonrpc":"2.0","id":4,"result":null}`
	msgs, replies, err := readAll(t, frame(resp))
	if err != io.EOF || len(msgs) != 1 || replies != "" {
		t.Fatalf("got msgs=%q replies=%q err=%v, want the response passed on", msgs, replies, err)
	}
}

func TestStreamFatalFrames(t *testing.T) {
	cases := []struct {
		name  string
		input string
	}{
		{"no colon", "Content-Length 10\r\n\r\n0123456789"},
		{"no content length", "Content-Type: x\r\n\r\n{}"},
		{"negative length", "Content-Length: -1\r\n\r\n"},
		{"not a number", "Content-Length: ten\r\n\r\n"},
		{"over the maximum", "Content-Length: 1025\r\n\r\n"},
		{"header line too long", strings.Repeat("X", maxHeaderLine+10) + "\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := NewStream(strings.NewReader(tc.input), &out, nil, 1024, nil)
			var m rawMessage
			err := s.ReadObject(&m)
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FrameError", err)
			}
			if s.Err() == nil {
				t.Fatal("Err() = nil after a framing error")
			}
			if out.Len() != 0 {
				t.Fatalf("stream wrote %q after a framing error, want nothing", out.String())
			}
		})
	}
}

func TestStreamCutBody(t *testing.T) {
	var out bytes.Buffer
	s := NewStream(strings.NewReader("Content-Length: 50\r\n\r\n{\"jsonrpc\""), &out, nil, 0, nil)
	var m rawMessage
	if err := s.ReadObject(&m); err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if s.Err() != nil {
		t.Fatalf("Err() = %v, want nil: end of input is not a framing error", s.Err())
	}
}

func TestStreamWriteFrame(t *testing.T) {
	var out bytes.Buffer
	s := NewStream(strings.NewReader(""), &out, nil, 0, nil)
	if err := s.WriteObject(map[string]string{"text": "héllo"}); err != nil {
		t.Fatal(err)
	}
	want := frame(`{"text":"héllo"}`)
	if got := out.String(); got != want {
		t.Fatalf("frame = %q, want %q (length counts bytes, not characters)", got, want)
	}
}

func BenchmarkStreamWrite(b *testing.B) {
	s := NewStream(strings.NewReader(""), io.Discard, nil, 0, nil)
	ev := streamEvent{StreamID: "s1", Seq: 1, Delta: "some streamed words "}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.WriteObject(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// A client that counts characters instead of bytes cuts a non-ASCII body
// short. The cut body gets a parse-error reply, and the rest of it,
// read as a header, ends the session: the framing can no longer be trusted.
func TestStreamCharacterCountedLength(t *testing.T) {
	body := `{"jsonrpc":"2.0","method":"x","params":{"text":"héllo"}}`
	chars := len([]rune(body))
	input := "Content-Length: " + itoa(chars) + "\r\n\r\n" + body + frame(`{"jsonrpc":"2.0","method":"y"}`)

	msgs, replies, err := readAll(t, input)
	if len(msgs) != 0 {
		t.Fatalf("messages = %q, want none", msgs)
	}
	if !strings.Contains(replies, `"code":-32700`) {
		t.Errorf("replies = %q, want a parse error for the cut body", replies)
	}
	var fe *FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FrameError ending the session", err)
	}
}
