package fakepoe

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// chatStream writes one streamed completion as server-sent events, with the quirks
// of a Fault applied.
type chatStream struct {
	server       *Server
	out          *sseWriter
	plan         replyPlan
	deltas       []string
	includeUsage bool
	quirks       map[string]bool
	errorShape   string        // ShapeA or ShapeB; ShapeHTML falls back to Shape A
	keepAliveGap time.Duration // pause before the last delta, filled with comments; 0 for none
}

type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// streamChat sends plan as "chat.completion.chunk" events: one per delta (the first
// also carries the role), a chunk with the finish_reason, a usage chunk with empty
// choices when includeUsage is set, and "data: [DONE]". It stops as soon as the client
// goes away and records that for StreamsClosedEarly.
func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, plan replyPlan, includeUsage bool, fault Fault) {
	quirks := fault.quirks()
	out := &sseWriter{
		w:            w,
		rc:           http.NewResponseController(w),
		eol:          "\n",
		fieldSep:     " ",
		bytePerWrite: quirks[StreamBytePerWrite],
	}
	if quirks[StreamCRLF] {
		out.eol = "\r\n"
	}
	if quirks[StreamNoSpace] {
		out.fieldSep = ""
	}

	if quirks[StreamNoHeaders] {
		// Hold the request without a response. Close ends the wait through baseCtx,
		// and then the connection is dropped, because returning would send a 200.
		<-r.Context().Done()
		if s.baseCtx.Err() != nil {
			s.dropConnection(w, plan.id)
			return
		}
		s.recordClosedEarly(plan.id)
		return
	}

	deltas := plan.deltas
	if quirks[StreamHugeEvent] {
		size := HugeEventSize
		if fault.HugeEventSize > 0 {
			size = fault.HugeEventSize
		}
		deltas = append(deltas[:len(deltas):len(deltas)], strings.Repeat("x", size))
	}
	stream := &chatStream{
		server:       s,
		out:          out,
		plan:         plan,
		deltas:       deltas,
		includeUsage: includeUsage && !quirks[StreamNoUsage],
		quirks:       quirks,
		errorShape:   fault.shapeOr(ShapeA),
		keepAliveGap: time.Duration(fault.KeepAliveGapMillis) * time.Millisecond,
	}

	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-cache")
	header.Set("X-Request-Id", plan.id)
	w.WriteHeader(http.StatusOK)

	ctx := r.Context()
	err := out.flush()
	if err == nil {
		err = stream.run(ctx, w)
	}
	if err == nil {
		return
	}

	// When Close ended the stream, drop the connection, so the client cannot mistake
	// the end for a clean one. Otherwise the error means the client went away.
	if s.baseCtx.Err() != nil {
		s.dropConnection(w, plan.id)
		return
	}
	s.recordClosedEarly(plan.id)
}

// run writes the events. It returns nil when the stream ended as planned, including
// an interruption by a quirk, and an error when the client went away.
func (c *chatStream) run(ctx context.Context, w http.ResponseWriter) error {
	if c.quirks[StreamKeepAlive] {
		if err := c.out.comment("keep-alive"); err != nil {
			return err
		}
	}

	// Quirks that interrupt the stream do so after half of the deltas, and after at
	// least one, so the client has received some text.
	interruptAt := max(1, len(c.deltas)/2)
	for i := 0; i <= len(c.deltas); i++ {
		if i > 0 {
			if err := c.pause(ctx); err != nil {
				return err
			}
		}
		if i == interruptAt {
			if interrupted, err := c.interrupt(w); interrupted {
				return err
			}
		}
		if i == len(c.deltas) {
			break
		}
		if i == len(c.deltas)-1 && c.keepAliveGap > 0 {
			if err := c.keepAliveFor(ctx, c.keepAliveGap); err != nil {
				return err
			}
		}

		if err := c.writeChunk(ctx, c.deltaChunk(i)); err != nil {
			return err
		}
		if c.quirks[StreamStall] {
			<-ctx.Done()
			return ctx.Err()
		}
	}

	finish := c.plan.finishReason
	if err := c.writeChunk(ctx, c.chunk(chunkChoice{FinishReason: &finish})); err != nil {
		return err
	}
	if c.includeUsage {
		usageChunk := c.chunk()
		completionTokens := len(c.deltas)
		usageChunk.Usage = &usage{
			PromptTokens:     c.plan.promptTokens,
			CompletionTokens: completionTokens,
			TotalTokens:      c.plan.promptTokens + completionTokens,
		}
		if err := c.writeChunk(ctx, usageChunk); err != nil {
			return err
		}
	}
	if c.quirks[StreamNoDone] {
		return nil
	}
	return c.out.data([]byte("[DONE]"))
}

// interrupt applies the quirk that ends the stream early, if one is on, and reports
// whether it did.
func (c *chatStream) interrupt(w http.ResponseWriter) (bool, error) {
	errorPayload := marshalJSON(errorForStatus(http.StatusInternalServerError).body(c.errorShape))
	switch {
	case c.quirks[StreamCut]:
		c.server.dropConnection(w, c.plan.id)
		return true, nil
	case c.quirks[StreamMidstreamErrorData]:
		return true, c.out.data(errorPayload)
	case c.quirks[StreamMidstreamErrorEvent]:
		return true, c.out.event("error", errorPayload)
	default:
		return false, nil
	}
}

// dropConnection closes the connection without ending the chunked body, as a
// dropped connection would. Bytes written before were flushed with each event.
// The handler must not write to w afterwards.
func (s *Server) dropConnection(w http.ResponseWriter, id string) {
	conn, buffered, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.logger.Warn("hijack connection to drop the stream", "id", id, "err", err)
		return
	}
	if err := buffered.Flush(); err != nil {
		s.logger.Debug("flush before dropping the stream", "id", id, "err", err)
	}
	if err := conn.Close(); err != nil {
		s.logger.Debug("close connection to drop the stream", "id", id, "err", err)
	}
}

// pause waits Options.ChunkDelay and then sends a keep-alive comment if that quirk
// is on. It returns early with the context's error when the request ends.
func (c *chatStream) pause(ctx context.Context) error {
	if delay := c.server.chunkDelay; delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
	if c.quirks[StreamKeepAlive] {
		return c.out.comment("keep-alive")
	}
	return nil
}

// keepAliveFor waits for gap and sends a keep-alive comment every tenth of it. It
// returns early with the context's error when the request ends.
func (c *chatStream) keepAliveFor(ctx context.Context, gap time.Duration) error {
	ticker := time.NewTicker(max(gap/10, time.Millisecond))
	defer ticker.Stop()
	deadline := time.NewTimer(gap)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil
		case <-ticker.C:
			if err := c.out.comment("keep-alive"); err != nil {
				return err
			}
		}
	}
}

func (c *chatStream) writeChunk(ctx context.Context, ch chunk) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.out.data(marshalJSON(ch))
}

// deltaChunk returns the chunk for delta i. The first one also carries the role.
func (c *chatStream) deltaChunk(i int) chunk {
	delta := chunkDelta{Content: &c.deltas[i]}
	if i == 0 {
		delta.Role = "assistant"
	}
	return c.chunk(chunkChoice{Delta: delta})
}

func (c *chatStream) chunk(choices ...chunkChoice) chunk {
	if choices == nil {
		choices = []chunkChoice{}
	}
	return chunk{
		ID:      c.plan.id,
		Object:  "chat.completion.chunk",
		Created: c.plan.created,
		Model:   c.plan.model,
		Choices: choices,
	}
}

// sseWriter writes server-sent events and flushes after each one, or after each byte
// when bytePerWrite is set.
type sseWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	eol          string // line ending: "\n" or "\r\n"
	fieldSep     string // text between "data:" and the value: " " or ""
	bytePerWrite bool
}

func (o *sseWriter) data(payload []byte) error {
	return o.event("", payload)
}

// event writes one event with an optional "event:" field and one "data:" line.
// The payload must not contain a line break, which encoded JSON never does.
func (o *sseWriter) event(name string, payload []byte) error {
	var b bytes.Buffer
	if name != "" {
		fmt.Fprintf(&b, "event:%s%s%s", o.fieldSep, name, o.eol)
	}
	fmt.Fprintf(&b, "data:%s%s%s%s", o.fieldSep, payload, o.eol, o.eol)
	return o.write(b.Bytes())
}

// comment writes an SSE comment, which clients ignore but which keeps bytes flowing.
func (o *sseWriter) comment(text string) error {
	return o.write([]byte(": " + text + o.eol + o.eol))
}

func (o *sseWriter) write(p []byte) error {
	if !o.bytePerWrite {
		if _, err := o.w.Write(p); err != nil {
			return err
		}
		return o.flush()
	}

	for i := range p {
		if _, err := o.w.Write(p[i : i+1]); err != nil {
			return err
		}
		if err := o.flush(); err != nil {
			return err
		}
	}
	return nil
}

func (o *sseWriter) flush() error {
	return o.rc.Flush()
}
