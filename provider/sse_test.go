package provider

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// testEvent is an sseEvent with its data copied, since next reuses the buffer.
type testEvent struct {
	Type string
	Data string
}

// readAllEvents reads events until an error and returns them with that error.
func readAllEvents(src io.Reader, maxData int) ([]testEvent, error) {
	reader := newEventReader(src, maxData)
	var events []testEvent
	for {
		event, err := reader.next()
		if err != nil {
			return events, err
		}
		events = append(events, testEvent{Type: event.Type, Data: string(event.Data)})
	}
}

func TestEventReader(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []testEvent
		wantErr error
	}{
		{"one event", "data: a\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"no space", "data:a\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"two spaces", "data:  a\n\n", []testEvent{{Data: " a"}}, io.EOF},
		{"field without colon", "data\n\n", []testEvent{{Data: ""}}, io.EOF},
		{"multi-line", "data: a\ndata: b\ndata:\n\n", []testEvent{{Data: "a\nb\n"}}, io.EOF},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []testEvent{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"lone cr", "data: a\r\rdata: b\r\r", []testEvent{{Data: "a"}, {Data: "b"}}, io.EOF},
		{"mixed line ends", "data: a\r\ndata: b\rdata: c\n\r\n", []testEvent{{Data: "a\nb\nc"}}, io.EOF},
		{"comments", ": hi\ndata: a\n: there\n\n: keep-alive\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"event type", "event: error\ndata: x\n\ndata: y\n\n", []testEvent{{Type: "error", Data: "x"}, {Data: "y"}}, io.EOF},
		{"type without data", "event: error\n\ndata: y\n\n", []testEvent{{Data: "y"}}, io.EOF},
		{"ignored fields", "id: 7\nretry: 100\nfoo: bar\ndata: a\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"blank lines", "\n\n\r\n\rdata: a\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"bom", "\xEF\xBB\xBFdata: a\n\n", []testEvent{{Data: "a"}}, io.EOF},
		{"bom only once", "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n", nil, io.EOF},
		{"colon in value", "data: {\"a\":1}\n\n", []testEvent{{Data: `{"a":1}`}}, io.EOF},
		{"complete lines at eof", "data: a\ndata: b\n", []testEvent{{Data: "a\nb"}}, io.EOF},
		{"partial line at eof", "data: a\n\ndata: b", []testEvent{{Data: "a"}}, io.EOF},
		{"empty", "", nil, io.EOF},
		{"data at cap", "data: 12345678\n\n", []testEvent{{Data: "12345678"}}, io.EOF},
		{"data over cap", "data: a\n\ndata: 123456789\n\n", []testEvent{{Data: "a"}}, errEventTooLarge},
		{"lines over cap", "data: 1234\ndata: 5678\n\n", nil, errEventTooLarge},
		{"long comment", ":" + strings.Repeat("x", 8+maxFieldOverhead) + "\n\n", nil, errEventTooLarge},
		{"long partial line", "data: a\n\n" + strings.Repeat("x", 2*maxFieldOverhead), []testEvent{{Data: "a"}}, errEventTooLarge},
	}

	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	for _, tt := range tests {
		for readerName, newReader := range readers {
			t.Run(tt.name+"/"+readerName, func(t *testing.T) {
				got, err := readAllEvents(newReader(tt.input), 8)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("events = %q, want %q", got, tt.want)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error = %v, want %v", err, tt.wantErr)
				}
			})
		}
	}
}

func TestEventReaderReadError(t *testing.T) {
	broken := errors.New("connection reset")
	src := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(broken))

	got, err := readAllEvents(src, 1<<10)

	if want := []testEvent{{Data: "a"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if !errors.Is(err, broken) {
		t.Errorf("error = %v, want %v", err, broken)
	}
}

func TestEventReaderNoProgress(t *testing.T) {
	_, err := readAllEvents(emptyReader{}, 1<<10)
	if !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("error = %v, want io.ErrNoProgress", err)
	}
}

// emptyReader returns 0, nil forever, as a broken io.Reader might.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// referenceEvents parses input the slow and obvious way, with the same rules as
// eventReader: a naive model for FuzzSSE to compare against. tooLarge reports a line or
// an event beyond the cap, after which no more events are returned.
func referenceEvents(input []byte, maxData int) (events []testEvent, tooLarge bool) {
	input = bytes.TrimPrefix(input, utf8BOM)

	var lines [][]byte
	for len(input) > 0 {
		i := bytes.IndexAny(input, "\r\n")
		if i < 0 {
			if len(input) > maxData+maxFieldOverhead {
				lines = append(lines, nil) // marks a line over the cap
			}
			break
		}
		lines = append(lines, input[:i])
		if input[i] == '\r' && i+1 < len(input) && input[i+1] == '\n' {
			i++
		}
		input = input[i+1:]
	}

	var data []byte
	hasData := false
	eventType := ""
	for _, line := range lines {
		if line == nil || len(line) > maxData+maxFieldOverhead {
			return events, true
		}
		switch {
		case len(line) == 0:
			if hasData {
				events = append(events, testEvent{Type: eventType, Data: string(data)})
			}
			data, hasData, eventType = nil, false, ""
			continue
		case line[0] == ':':
			continue
		}

		name, value, found := bytes.Cut(line, []byte(":"))
		if found {
			value = bytes.TrimPrefix(value, []byte(" "))
		}
		switch string(name) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
			if len(data) > maxData {
				return events, true
			}
		case "event":
			eventType = string(value)
		}
	}
	if hasData {
		events = append(events, testEvent{Type: eventType, Data: string(data)})
	}
	return events, false
}

func FuzzSSE(f *testing.F) {
	seeds := []string{
		"data: a\n\n",
		"data:a\r\n\r\n",
		"data: a\r\rdata: b\r\r",
		"data: a\r\ndata: b\rdata: c\n\r\n",
		": keep-alive\n\nevent: error\ndata: {\"error\":{}}\n\n",
		"id: 1\nretry: 5\nevent\ndata\n\n",
		"\xEF\xBB\xBFdata: bom\n\n",
		"\xEF\xBB",
		"data: [DONE]\n\n",
		"data: 123456789012345678901234567890123\n\n",
		"data: x\ndata: y\n",
		"data: tail without end",
		"\r\n\r",
		":" + strings.Repeat("c", 80),
		chunk("héllo", "") + chunk("", "stop") + usageChunk + doneFrame,
	}
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}

	const maxData = 32
	f.Fuzz(func(t *testing.T, input []byte) {
		want, wantTooLarge := referenceEvents(input, maxData)

		for name, src := range map[string]io.Reader{
			"whole":    bytes.NewReader(input),
			"one byte": iotest.OneByteReader(bytes.NewReader(input)),
		} {
			got, err := readAllEvents(src, maxData)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: events = %q, want %q", name, got, want)
			}
			switch {
			case wantTooLarge && !errors.Is(err, errEventTooLarge):
				t.Errorf("%s: error = %v, want errEventTooLarge", name, err)
			case !wantTooLarge && err != io.EOF:
				t.Errorf("%s: error = %v, want io.EOF", name, err)
			}
			for _, event := range got {
				if len(event.Data) > maxData {
					t.Errorf("%s: event data of %d bytes passed the %d-byte cap", name, len(event.Data), maxData)
				}
			}
		}
	})
}

// BenchmarkSSEReader reads a stream shaped like a chat answer: 1,000 content chunks
// with a keep-alive comment every 50 chunks, then the usage chunk and [DONE].
func BenchmarkSSEReader(b *testing.B) {
	var stream strings.Builder
	for i := range 1000 {
		if i%50 == 0 {
			stream.WriteString(": keep-alive\n\n")
		}
		stream.WriteString(chunk("a few words of the answer ", ""))
	}
	stream.WriteString(chunk("", "stop") + usageChunk + doneFrame)
	input := []byte(stream.String())

	b.ReportAllocs()
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		reader := newEventReader(bytes.NewReader(input), defaultMaxEventSize)
		events := 0
		for {
			_, err := reader.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			events++
		}
		if events != 1003 {
			b.Fatalf("read %d events, want 1003", events)
		}
	}
}
