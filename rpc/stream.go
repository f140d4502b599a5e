package rpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
)

// DefaultMaxMessageSize is the maximum message body, in bytes, that a Stream
// reads unless NewStream gets another limit. Larger frames end the session.
const DefaultMaxMessageSize = 16 << 20

// maxHeaderLine bounds one header line, so a peer that never sends "\r\n"
// cannot make the reader buffer without limit.
const maxHeaderLine = 8 << 10

// FrameError is a framing failure that ends the session: the byte stream can
// no longer be split into messages, so no reply can be trusted to reach the peer.
type FrameError struct {
	Reason string
}

func (e *FrameError) Error() string { return "invalid frame: " + e.Reason }

// Stream is a jsonrpc2.ObjectStream that speaks the framing of the Language
// Server Protocol base protocol ("Content-Length: N\r\n\r\n" then N bytes).
//
// Unlike jsonrpc2.VSCodeObjectCodec it reads header names in any case, skips
// unknown headers and stray blank lines, and answers a well-framed body that is
// not a valid JSON-RPC 2.0 message with a parse error or an invalid-request
// error itself, then goes on reading. Only framing errors, which leave no way
// to find the next message, end the session; Err reports them.
type Stream struct {
	r      *bufio.Reader
	maxLen int
	logger *slog.Logger
	body   []byte // reused between messages, since decoding copies what it keeps

	out *frameWriter
	c   io.Closer

	errMu sync.Mutex
	err   *FrameError
}

// NewStream returns a Stream that reads frames from r and writes them to w.
// Close closes c, which may be nil. maxLen <= 0 means DefaultMaxMessageSize.
func NewStream(r io.Reader, w io.Writer, c io.Closer, maxLen int, logger *slog.Logger) *Stream {
	if maxLen <= 0 {
		maxLen = DefaultMaxMessageSize
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Stream{
		r:      bufio.NewReaderSize(r, 64<<10),
		out:    newFrameWriter(w),
		c:      c,
		maxLen: maxLen,
		logger: logger,
	}
}

// ReadObject reads the next valid JSON-RPC message into v. Bodies that are not
// valid messages get an error reply on the stream and are skipped.
func (s *Stream) ReadObject(v any) error {
	for {
		body, err := s.readFrame()
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				s.errMu.Lock()
				s.err = fe
				s.errMu.Unlock()
			}
			return err
		}

		reply := validateMessage(body)
		if reply == nil {
			if err := json.Unmarshal(body, v); err == nil {
				return nil
			} else {
				reply = &invalidMessage{code: jsonrpc2.CodeInvalidRequest, message: "invalid request: " + err.Error()}
			}
		}

		s.logger.Warn("rejected message", "code", reply.code, "error", reply.message)
		if err := s.out.writeFrame(reply.encode()); err != nil {
			return err
		}
	}
}

// Err returns the framing error that ended the session, or nil when the
// session ended another way (end of input, Close).
func (s *Stream) Err() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil {
		return nil
	}
	return s.err
}

// Close closes the underlying closer. Notifications that the Server writes
// directly fail from then on.
func (s *Stream) Close() error {
	s.out.close()
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

// readFrame reads one frame's header block and body. End of input before a
// frame starts is io.EOF; inside a frame it is io.ErrUnexpectedEOF.
func (s *Stream) readFrame() ([]byte, error) {
	length := -1
	sawHeader := false
	for {
		line, err := s.readHeaderLine()
		if err != nil {
			if err == io.EOF && sawHeader {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if line == "" {
			if !sawHeader {
				// A stray blank line between frames carries no meaning.
				continue
			}
			break
		}
		sawHeader = true

		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, &FrameError{Reason: fmt.Sprintf("header line %q has no colon", truncate(line, 64))}
		}
		if !strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			continue // Content-Type and unknown headers are allowed and ignored.
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil || n < 0 {
			return nil, &FrameError{Reason: fmt.Sprintf("Content-Length %q is not a non-negative integer", truncate(strings.TrimSpace(value), 64))}
		}
		if n > int64(s.maxLen) {
			return nil, &FrameError{Reason: fmt.Sprintf("Content-Length %d is above the maximum message size of %d bytes", n, s.maxLen)}
		}
		length = int(n)
	}
	if length < 0 {
		return nil, &FrameError{Reason: "header block has no Content-Length"}
	}

	if cap(s.body) < length {
		s.body = make([]byte, length)
	}
	s.body = s.body[:length]
	if _, err := io.ReadFull(s.r, s.body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return s.body, nil
}

// readHeaderLine returns one header line without its line ending. It accepts
// "\r\n" and a bare "\n".
func (s *Stream) readHeaderLine() (string, error) {
	var line []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxHeaderLine {
			return "", &FrameError{Reason: fmt.Sprintf("header line longer than %d bytes", maxHeaderLine)}
		}
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) > 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return string(line), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
