package provider

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

const (
	// defaultMaxEventSize caps the data of one server-sent event. A chat chunk is a few
	// hundred bytes, so the cap only stops a runaway stream from exhausting memory.
	defaultMaxEventSize = 32 << 20

	// maxFieldOverhead is the room a line may take beyond the event cap for its field
	// name and separator, such as "data: ".
	maxFieldOverhead = 1 << 10

	initialLineBuffer = 4 << 10
)

var utf8BOM = []byte("\xEF\xBB\xBF")

// errEventTooLarge reports an event or a line beyond the reader's cap.
var errEventTooLarge = errors.New("server-sent event too large")

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	Type string // the "event" field, or "" (meaning "message") when the event had none
	Data []byte // the "data" lines joined by "\n", valid until the next call to next
}

// eventReader parses a text/event-stream body following the WHATWG HTML Living Standard,
// section 9.2.6 "Interpreting an event stream":
//
//   - A line ends with CRLF, LF or a lone CR, and a leading UTF-8 BOM is skipped.
//   - A line starting with ":" is a comment and is skipped.
//   - "name:value" sets a field, and one space after the colon is dropped.
//   - "data" lines are joined with "\n" and "event" sets the event type. "id", "retry"
//     and unknown fields are ignored.
//   - A blank line dispatches the event when it has data.
//
// Lines are found in one buffer that grows only when a line does not fit, so reading
// allocates nothing per line once the buffers have reached their working size.
type eventReader struct {
	src     io.Reader
	maxData int // cap on an event's data, in bytes

	buf        []byte // buf[start:end] is read but not yet parsed
	start, end int
	scanned    int   // buf[start:start+scanned] is known to hold no line end
	skipLF     bool  // the last line ended with CR, so a LF right after it is part of that line end
	bomChecked bool  // the stream's first bytes were checked for a BOM
	readErr    error // sticky error from src

	data      []byte // data of the event being built
	hasData   bool   // a data field was seen, even an empty one
	eventType string
}

// newEventReader returns a reader that rejects events whose data exceeds maxData bytes.
func newEventReader(src io.Reader, maxData int) *eventReader {
	return &eventReader{
		src:     src,
		maxData: maxData,
		buf:     make([]byte, initialLineBuffer),
	}
}

// next returns the next event. It returns io.EOF at a clean end of the stream, an error
// wrapping errEventTooLarge for an event beyond the cap, and src's error otherwise.
//
// NOTE: the standard drops an event that is not followed by a blank line when the stream
// ends. next dispatches such an event if all its lines were complete, because a server
// that closes the connection right after its last data line has still sent that line in
// full. A last line without a line end is still dropped.
func (r *eventReader) next() (sseEvent, error) {
	r.data = r.data[:0]
	r.hasData = false
	r.eventType = ""

	for {
		line, err := r.readLine()
		if err == io.EOF && r.hasData {
			return r.dispatch(), nil
		}
		if err != nil {
			return sseEvent{}, err
		}

		if len(line) == 0 {
			if r.hasData {
				return r.dispatch(), nil
			}
			r.eventType = ""
			continue
		}
		if err := r.processField(line); err != nil {
			return sseEvent{}, err
		}
	}
}

func (r *eventReader) dispatch() sseEvent {
	event := sseEvent{Type: r.eventType, Data: r.data}
	r.hasData = false
	return event
}

func (r *eventReader) processField(line []byte) error {
	if line[0] == ':' {
		return nil
	}

	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}

	switch string(name) {
	case "data":
		size := len(r.data) + len(value)
		if r.hasData {
			size++
		}
		if size > r.maxData {
			return fmt.Errorf("%w: its data exceeds %d bytes", errEventTooLarge, r.maxData)
		}
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	case "event":
		r.eventType = string(value)
	}
	return nil
}

// readLine returns the next line without its line end. The slice is valid until the
// next call. At the end of src it returns src's error and drops an unterminated line.
func (r *eventReader) readLine() ([]byte, error) {
	for {
		if !r.bomChecked {
			pending := r.buf[r.start:r.end]
			if len(pending) < len(utf8BOM) && bytes.HasPrefix(utf8BOM, pending) && r.readErr == nil {
				r.fill()
				continue
			}
			if bytes.HasPrefix(pending, utf8BOM) {
				r.start += len(utf8BOM)
			}
			r.bomChecked = true
		}

		if r.skipLF && r.start < r.end {
			if r.buf[r.start] == '\n' {
				r.start++
			}
			r.skipLF = false
		}

		maxLine := r.maxData + maxFieldOverhead
		unscanned := r.buf[r.start+r.scanned : r.end]
		if i := indexLineEnd(unscanned); i >= 0 {
			lineEnd := r.start + r.scanned + i
			line := r.buf[r.start:lineEnd]
			if len(line) > maxLine {
				return nil, fmt.Errorf("%w: a line exceeds %d bytes", errEventTooLarge, maxLine)
			}
			r.skipLF = r.buf[lineEnd] == '\r'
			r.start = lineEnd + 1
			r.scanned = 0
			return line, nil
		}
		r.scanned = r.end - r.start

		// A line over the cap is rejected before its end arrives, so that the buffer
		// stays bounded.
		if r.scanned > maxLine {
			return nil, fmt.Errorf("%w: a line exceeds %d bytes", errEventTooLarge, maxLine)
		}
		if r.readErr != nil {
			return nil, r.readErr
		}
		r.fill()
	}
}

// indexLineEnd returns the index of the first CR or LF in b, or -1.
func indexLineEnd(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	search := b
	if lf >= 0 {
		search = b[:lf]
	}
	if cr := bytes.IndexByte(search, '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// fill reads more of src into the buffer, moving the unparsed bytes to its front and
// growing it when it is full.
func (r *eventReader) fill() {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if r.end == len(r.buf) {
		grown := make([]byte, 2*len(r.buf))
		copy(grown, r.buf[:r.end])
		r.buf = grown
	}

	// An io.Reader may return 0, nil. Give up after as many empty reads as bufio does.
	for range 100 {
		n, err := r.src.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.readErr = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.readErr = io.ErrNoProgress
}
