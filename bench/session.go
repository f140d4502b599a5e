package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is one program under test and how to start it.
type target struct {
	name        string   // "poe-sidecar", "bare" or "peer"
	argv        []string // the command and its arguments
	env         []string // added to the benchmark's environment
	initOptions any      // initializationOptions, nil for none
	maxRuns     int      // cap on recorded starts, 0 for none; the slow peer gets fewer
	slow        bool     // allow seconds, not milliseconds, for initialize
}

func (t target) initTimeout() time.Duration {
	if t.slow {
		return 60 * time.Second
	}
	return 10 * time.Second
}

// session is one running sidecar, driven over its stdin and stdout the way an
// editor drives it. The client side is written here rather than taken from
// the project, so that the same code measures poe-sidecar and the reference.
type session struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	clock func() time.Duration

	wmu    sync.Mutex
	nextID int

	mu      sync.Mutex
	pending map[int]chan reply
	streams map[string]*streamRecord
	readErr error
	exited  chan struct{} // closed when the reading goroutine has ended
}

type reply struct {
	result json.RawMessage
	err    json.RawMessage
	at     time.Duration // clock() when the frame was read
}

// start spawns t and returns right away; started is clock() just before the
// process was created.
func start(t target, clock func() time.Duration) (s *session, started time.Duration, err error) {
	cmd := exec.Command(t.argv[0], t.argv[1:]...)
	cmd.Env = append(os.Environ(), t.env...)
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}

	s = &session{
		cmd:     cmd,
		stdin:   stdin,
		clock:   clock,
		nextID:  1,
		pending: make(map[int]chan reply),
		streams: make(map[string]*streamRecord),
		exited:  make(chan struct{}),
	}
	started = clock()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", t.name, err)
	}
	go s.readLoop(bufio.NewReaderSize(stdout, 64<<10))
	return s, started, nil
}

func (s *session) pid() int { return s.cmd.Process.Pid }

// call sends a request and waits for its response, for at most timeout.
func (s *session) call(method string, params any, timeout time.Duration) (reply, error) {
	ch := make(chan reply, 1)
	s.wmu.Lock()
	id := s.nextID
	s.nextID++
	s.mu.Lock()
	s.pending[id] = ch
	s.mu.Unlock()
	err := s.write(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	s.wmu.Unlock()
	if err != nil {
		return reply{}, err
	}

	select {
	case r := <-ch:
		if r.err != nil {
			return r, fmt.Errorf("%s failed: %s", method, r.err)
		}
		return r, nil
	case <-s.exited:
		return reply{}, fmt.Errorf("%s: the process stopped reading or exited: %v", method, s.readErr)
	case <-time.After(timeout):
		return reply{}, fmt.Errorf("%s: no response within %s", method, timeout)
	}
}

func (s *session) notify(method string, params any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.write(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// write sends one frame; the caller holds wmu.
func (s *session) write(msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	frame := append([]byte("Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
	_, err = s.stdin.Write(frame)
	return err
}

// stop sends shutdown and exit as an editor does, and kills the process if it
// has not exited within a second.
func (s *session) stop() {
	_, _ = s.call("shutdown", nil, time.Second)
	_ = s.notify("exit", nil)
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// kill ends the process at once.
func (s *session) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// incoming holds the members of any message the client reads. Params is
// decoded straight into the shape of chat/stream; other notifications share
// no member names with it.
type incoming struct {
	ID     *int            `json:"id"`
	Method string          `json:"method"`
	Params streamEvent     `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

type streamEvent struct {
	StreamID     string          `json:"streamId"`
	Seq          int             `json:"seq"`
	Delta        string          `json:"delta"`
	Done         bool            `json:"done"`
	FinishReason string          `json:"finishReason"`
	Error        json.RawMessage `json:"error"`
}

func (s *session) readLoop(r *bufio.Reader) {
	defer close(s.exited)
	var body []byte
	for {
		n, err := readHeader(r)
		if err != nil {
			s.fail(err)
			return
		}
		if cap(body) < n {
			body = make([]byte, n)
		}
		body = body[:n]
		if _, err := io.ReadFull(r, body); err != nil {
			s.fail(err)
			return
		}
		at := s.clock()

		var msg incoming
		if err := json.Unmarshal(body, &msg); err != nil {
			s.fail(fmt.Errorf("decode a message: %w", err))
			return
		}
		switch {
		case msg.Method == "chat/stream":
			s.mu.Lock()
			rec := s.streams[msg.Params.StreamID]
			s.mu.Unlock()
			if rec != nil {
				rec.receive(msg.Params, at)
			}
		case msg.Method == "" && msg.ID != nil:
			s.mu.Lock()
			ch := s.pending[*msg.ID]
			delete(s.pending, *msg.ID)
			s.mu.Unlock()
			if ch != nil {
				ch <- reply{result: msg.Result, err: msg.Error, at: at}
			}
		}
		if cap(body) > 1<<20 {
			body = nil // do not keep the buffer of a huge final response
		}
	}
}

func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readErr == nil {
		s.readErr = err
	}
}

// readHeader reads a frame's header block and returns its Content-Length.
func readHeader(r *bufio.Reader) (int, error) {
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if length < 0 {
				continue
			}
			return length, nil
		}
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil {
				return 0, fmt.Errorf("invalid Content-Length %q", value)
			}
		}
	}
}

// streamRecord checks one chat stream as its notifications arrive: every seq
// in order, each delta carrying the index the server gave its chunk, and one
// done at the end. It records each chunk's latency.
type streamRecord struct {
	want      int
	next      int
	latencies []time.Duration
	firstSent time.Duration
	lastRecv  time.Duration
	textBytes int64
	failure   error
	done      chan struct{} // closed by the done notification
	closed    bool
	finish    string
}

func newStreamRecord(chunks int, keepLatencies bool) *streamRecord {
	rec := &streamRecord{want: chunks, done: make(chan struct{})}
	if keepLatencies {
		rec.latencies = make([]time.Duration, 0, chunks)
	}
	return rec
}

func (r *streamRecord) receive(e streamEvent, at time.Duration) {
	if e.Done {
		r.finish = e.FinishReason
		switch {
		case r.failure != nil:
		case e.Seq != r.next:
			r.failure = fmt.Errorf("done has seq %d, want %d", e.Seq, r.next)
		case e.Error != nil:
			r.failure = fmt.Errorf("stream failed: %s", e.Error)
		case r.next != r.want:
			r.failure = fmt.Errorf("stream done after %d deltas, want %d", r.next, r.want)
		}
		if !r.closed {
			r.closed = true
			close(r.done)
		}
		return
	}
	if r.failure != nil {
		return
	}
	if e.Seq != r.next {
		r.failure = fmt.Errorf("got seq %d, want %d", e.Seq, r.next)
		return
	}

	index, sent, err := parseStamp(e.Delta)
	if err != nil {
		r.failure = err
		return
	}
	if index != r.next {
		r.failure = fmt.Errorf("seq %d carries chunk %d: a chunk was lost, merged or reordered", e.Seq, index)
		return
	}
	if r.next == 0 {
		r.firstSent = sent
	}
	r.lastRecv = at
	r.textBytes += int64(len(e.Delta))
	if r.latencies != nil {
		r.latencies = append(r.latencies, at-sent)
	}
	r.next++
}

// parseStamp reads "i T;" from the start of a delta.
func parseStamp(delta string) (index int, sent time.Duration, err error) {
	stamp, _, ok := strings.Cut(delta, ";")
	first, second, ok2 := strings.Cut(stamp, " ")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("delta %q does not start with a chunk stamp", truncate(delta, 40))
	}
	index, err = strconv.Atoi(first)
	if err != nil {
		return 0, 0, fmt.Errorf("delta %q: %w", truncate(delta, 40), err)
	}
	ns, err := strconv.ParseInt(second, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("delta %q: %w", truncate(delta, 40), err)
	}
	return index, time.Duration(ns), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// chat sends one chat/send for plan under streamID and waits for the
// notifications and the response. The record is only read after done is
// closed, which orders it after the reading goroutine's last write.
func (s *session) chat(streamID string, plan streamPlan, keepLatencies bool, timeout time.Duration) (*streamRecord, error) {
	rec := newStreamRecord(plan.chunks, keepLatencies)
	s.mu.Lock()
	s.streams[streamID] = rec
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, streamID)
		s.mu.Unlock()
	}()

	params := map[string]any{
		"streamId": streamID,
		"model":    "bench",
		"messages": []map[string]string{{"role": "user", "content": plan.encode()}},
	}
	if _, err := s.call("chat/send", params, timeout); err != nil {
		return nil, err
	}
	select {
	case <-rec.done:
	case <-time.After(time.Second):
		return nil, errors.New("chat/send answered but the done notification did not arrive within a second")
	}
	if rec.failure != nil {
		return nil, fmt.Errorf("stream %s: %w", streamID, rec.failure)
	}
	return rec, nil
}
