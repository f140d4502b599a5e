package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
)

const (
	// maxPending bounds the frames that wait while another goroutine writes.
	// A sender that finds this much waiting blocks until it is written, so a
	// slow editor slows the streams down instead of growing memory.
	maxPending = 64 << 10

	// maxSpare is the largest buffer kept for reuse after a write.
	maxSpare = 256 << 10
)

// errStreamClosed is returned for notifications written after Close, as
// jsonrpc2.Conn refuses every message once it is closed.
var errStreamClosed = errors.New("jsonrpc2: connection is closed")

// frameWriter writes frames to one io.Writer from many goroutines. One
// goroutine at a time writes, without holding the lock. Frames that other
// goroutines send meanwhile are appended to pending, and the writing
// goroutine writes them all with its next Write before it returns. So a lone
// sender gets one Write per frame, as with a flush per frame, and concurrent
// streams share Writes instead of queueing on a lock for one each.
type frameWriter struct {
	mu      sync.Mutex
	drained sync.Cond // signalled after each Write, when pending has been taken
	w       io.Writer
	pending []byte // frames waiting for the writing goroutine
	spare   []byte // the last written buffer, reused for pending
	writing bool   // a goroutine is writing to w
	err     error  // the first write error; every later frame fails with it
	closed  bool   // Close was called; direct notifications fail
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: w}
	fw.drained.L = &fw.mu
	return fw
}

// writeFrame writes body as one frame. It returns when the frame is written,
// or when it is queued behind a Write that another goroutine is doing, which
// then writes it.
func (fw *frameWriter) writeFrame(body []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()

	for fw.err == nil && len(fw.pending) >= maxPending {
		fw.drained.Wait()
	}
	if fw.err != nil {
		return fw.err
	}

	if len(body) > maxPending {
		// A large frame, such as a long answer's chat/send result, is
		// written from where it is instead of copied into pending.
		for fw.writing && fw.err == nil {
			fw.drained.Wait()
		}
		if fw.err != nil {
			return fw.err
		}
		fw.writing = true
		fw.pending = appendHeader(fw.pending, len(body))
		fw.writeLocked(body)
		return fw.finishLocked()
	}

	fw.pending = appendHeader(fw.pending, len(body))
	fw.pending = append(fw.pending, body...)
	if fw.writing {
		return nil
	}
	fw.writing = true
	return fw.finishLocked()
}

// finishLocked writes pending until no frame is waiting. The caller holds
// mu and has set writing.
func (fw *frameWriter) finishLocked() error {
	for len(fw.pending) > 0 && fw.err == nil {
		fw.writeLocked(nil)
	}
	fw.writing = false
	fw.drained.Broadcast()
	return fw.err
}

// writeLocked writes pending and then extra, with mu released during the
// Write calls. The caller holds mu and has set writing.
func (fw *frameWriter) writeLocked(extra []byte) {
	buf := fw.pending
	fw.pending = fw.spare[:0]
	fw.spare = nil
	fw.mu.Unlock()

	_, err := fw.w.Write(buf)
	if err == nil && len(extra) > 0 {
		_, err = fw.w.Write(extra)
	}

	fw.mu.Lock()
	if cap(buf) <= maxSpare {
		fw.spare = buf[:0]
	}
	if err != nil && fw.err == nil {
		fw.err = err
		fw.pending = nil
	}
	fw.drained.Broadcast()
}

func (fw *frameWriter) close() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.closed = true
}

func appendHeader(dst []byte, length int) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, int64(length), 10)
	return append(dst, "\r\n\r\n"...)
}

// WriteObject encodes obj as JSON and writes it as one frame. It is safe for
// concurrent use; frames never interleave.
func (s *Stream) WriteObject(obj any) error {
	data, err := encodeMessage(obj)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	return s.out.writeFrame(data)
}

// encodeMessage returns the JSON encoding of obj. The messages that jsonrpc2
// hands WriteObject encode themselves with json.Marshal, so their MarshalJSON
// output is already compact and HTML-escaped. Calling it directly skips
// json.Marshal's second pass, which would validate and copy the whole message
// again and gives the same bytes. In a profile of a chat stream that pass was
// a tenth of the sidecar's CPU time, and for a long final response it is
// two more copies of the text. Values of other packages take json.Marshal,
// since their MarshalJSON may return JSON that is not compact.
func encodeMessage(obj any) ([]byte, error) {
	if m, ok := obj.(json.Marshaler); ok && fromJSONRPC2(obj) {
		return m.MarshalJSON()
	}
	return json.Marshal(obj)
}

// jsonrpc2Package is the import path of the JSON-RPC library.
var jsonrpc2Package = reflect.TypeFor[jsonrpc2.Request]().PkgPath()

// fromJSONRPC2 reports whether obj is a non-nil pointer to a type of the
// JSON-RPC library.
func fromJSONRPC2(obj any) bool {
	v := reflect.ValueOf(obj)
	return v.Kind() == reflect.Pointer && !v.IsNil() && v.Type().Elem().PkgPath() == jsonrpc2Package
}

// notificationBuffer is a reusable buffer with a JSON encoder that writes
// into it.
type notificationBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var notificationBuffers = sync.Pool{New: func() any {
	nb := &notificationBuffer{}
	nb.enc = json.NewEncoder(&nb.buf)
	return nb
}}

// writeNotification writes a notification frame with the same bytes as
// jsonrpc2.Conn.Notify(ctx, method, params) would write through this
// Stream: {"jsonrpc":"2.0","method":…,"params":…}, compact and with HTML
// characters escaped as json.Marshal does. The library builds a map, encodes
// params, then encodes the message twice more. A profile of a chat stream
// put that at a third of the sidecar's CPU time, and it allocates about
// twenty times per notification, where this allocates nothing.
//
// It fails after Close, as the connection's own methods do.
func (s *Stream) writeNotification(method string, params any) error {
	return s.writeDirect("method", method, "params", params)
}

// writeResult writes a successful response to request id, with the same
// meaning as jsonrpc2.Conn.Reply: {"jsonrpc":"2.0","id":…,"result":…}. The
// library copies a result three times on its way out, which for the final
// text of a long chat stream is hundreds of megabytes; this encodes it once.
func (s *Stream) writeResult(id jsonrpc2.ID, result any) error {
	return s.writeDirect("id", id, "result", result)
}

// writeDirect writes the frame {"jsonrpc":"2.0",key1:value1,key2:value2}.
func (s *Stream) writeDirect(key1 string, value1 any, key2 string, value2 any) error {
	nb := notificationBuffers.Get().(*notificationBuffer)
	defer notificationBuffers.Put(nb)

	nb.buf.Reset()
	nb.buf.WriteString(`{"jsonrpc":"2.0","` + key1 + `":`)
	if err := nb.enc.Encode(value1); err != nil {
		return fmt.Errorf("encode %s: %w", key1, err)
	}
	nb.buf.Truncate(nb.buf.Len() - 1) // Encode ends each value with a newline
	nb.buf.WriteString(`,"` + key2 + `":`)
	if err := nb.enc.Encode(value2); err != nil {
		return fmt.Errorf("encode %s: %w", key2, err)
	}
	nb.buf.Truncate(nb.buf.Len() - 1)
	nb.buf.WriteByte('}')

	s.out.mu.Lock()
	closed := s.out.closed
	s.out.mu.Unlock()
	if closed {
		return errStreamClosed
	}
	err := s.out.writeFrame(nb.buf.Bytes())
	if nb.buf.Cap() > maxSpare {
		nb.buf = bytes.Buffer{} // let a one-off large notification go
	}
	return err
}
