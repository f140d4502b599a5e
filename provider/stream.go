package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// errStreamCut is the cause of the Error for a stream that ended before Poe finished.
var errStreamCut = errors.New("the stream ended before Poe finished the answer")

var doneMarker = []byte("[DONE]")

// chatChunk is one chat.completion.chunk. Only the members ChatStream uses are decoded.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage      `json:"usage"`
	Error json.RawMessage `json:"error"`
}

type wireUsage struct {
	PromptTokens     flexInt `json:"prompt_tokens"`
	CompletionTokens flexInt `json:"completion_tokens"`
	TotalTokens      flexInt `json:"total_tokens"`
}

func (u *wireUsage) usage() *Usage {
	return &Usage{
		PromptTokens:     int(u.PromptTokens),
		CompletionTokens: int(u.CompletionTokens),
		TotalTokens:      int(u.TotalTokens),
	}
}

// chatStream reads the body of a 200 chat response.
type chatStream struct {
	x       *exchange
	onDelta func(string)
	result  ChatResult
}

// readEvents reads a text/event-stream body until "[DONE]" or the end of the body.
func (s *chatStream) readEvents(maxEventSize int) (ChatResult, error) {
	events := newEventReader(s.x.resp.Body, maxEventSize)
	for {
		event, err := events.next()
		if err != nil {
			return s.end(err)
		}

		switch event.Type {
		case "", "message":
		case "error":
			return ChatResult{}, s.eventError(event.Data)
		default:
			s.x.client.logger().Debug("poe stream event ignored", "event", event.Type)
			continue
		}

		data := bytes.TrimSpace(event.Data)
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, doneMarker) {
			if s.result.FinishReason == "" {
				s.result.FinishReason = "stop"
			}
			return s.result, nil
		}
		if err := s.handleChunk(data); err != nil {
			return ChatResult{}, err
		}
	}
}

// handleChunk passes a chunk's text to onDelta and records its finish_reason and usage.
func (s *chatStream) handleChunk(data []byte) error {
	var chunk chatChunk
	if err := json.Unmarshal(data, &chunk); err != nil {
		return s.x.malformed(fmt.Errorf("a stream chunk is not valid chat.completion.chunk JSON: %w", err))
	}
	if len(chunk.Error) > 0 && !isJSONNull(chunk.Error) {
		report, _ := parseErrorBody(data)
		return reportedError("chat stream", report, s.x.apiKey)
	}

	if len(chunk.Choices) > 0 {
		choice := chunk.Choices[0]
		if choice.Delta.Content != "" && s.onDelta != nil {
			s.onDelta(choice.Delta.Content)
		}
		if choice.FinishReason != nil && *choice.FinishReason != "" {
			s.result.FinishReason = *choice.FinishReason
		}
	}
	if chunk.Usage != nil {
		s.result.Usage = chunk.Usage.usage()
	}
	return nil
}

// eventError builds the Error for an "event: error" frame. Its data may be an error
// body in either of Poe's shapes, the error object alone, or plain text.
func (s *chatStream) eventError(data []byte) error {
	report, isJSON := parseErrorBody(data)
	if !isJSON {
		report = errorReport{Message: string(data)}
	}
	return reportedError("chat stream", report, s.x.apiKey)
}

// end decides the outcome when the body ends or fails before "[DONE]".
func (s *chatStream) end(err error) (ChatResult, error) {
	if errors.Is(err, errEventTooLarge) {
		return ChatResult{}, s.x.malformed(err)
	}
	if ctxErr := s.x.ctx.Err(); ctxErr != nil {
		return ChatResult{}, fmt.Errorf("%s: %w", s.x.op, ctxErr)
	}

	if s.result.FinishReason != "" {
		// Poe does not document "[DONE]", and the answer is complete once a finish_reason
		// has arrived. Only a usage chunk can be missing.
		if err != io.EOF {
			s.x.client.logger().Debug("poe chat stream broke after its finish reason", "error", err)
		}
		return s.result, nil
	}

	if err == io.EOF {
		return ChatResult{}, s.x.malformed(errStreamCut)
	}
	failure := s.x.failure(err)
	var apiErr *Error
	if errors.As(failure, &apiErr) && apiErr.Reason == ReasonMalformed {
		apiErr.Err = fmt.Errorf("%w: %w", errStreamCut, err)
	}
	return ChatResult{}, failure
}

// readCompletion reads a 200 response with a JSON body where an event stream was
// expected. A body with an "error" member is Poe's error report. A whole
// chat.completion object, which a server may send when it ignores "stream": true, is
// passed to onDelta as one piece.
func (s *chatStream) readCompletion() (ChatResult, error) {
	body, err := io.ReadAll(io.LimitReader(s.x.resp.Body, maxQueryBodyBytes+1))
	if err != nil {
		return ChatResult{}, s.x.failure(err)
	}
	if len(body) > maxQueryBodyBytes {
		return ChatResult{}, s.x.malformed(fmt.Errorf("the body is larger than %d MiB", maxQueryBodyBytes>>20))
	}

	var completion struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *wireUsage      `json:"usage"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &completion); err != nil {
		return ChatResult{}, s.x.malformed(jsonBodyError(s.x.resp, err))
	}
	if len(completion.Error) > 0 && !isJSONNull(completion.Error) {
		report, _ := parseErrorBody(body)
		return ChatResult{}, reportedError(s.x.op, report, s.x.apiKey)
	}
	if len(completion.Choices) == 0 {
		return ChatResult{}, s.x.malformed(errors.New("expected an event stream but Poe sent a JSON body without choices"))
	}

	choice := completion.Choices[0]
	if choice.Message.Content != "" && s.onDelta != nil {
		s.onDelta(choice.Message.Content)
	}
	result := ChatResult{FinishReason: "stop"}
	if choice.FinishReason != nil && *choice.FinishReason != "" {
		result.FinishReason = *choice.FinishReason
	}
	if completion.Usage != nil {
		result.Usage = completion.Usage.usage()
	}
	return result, nil
}

// idleReader restarts the idle timer each time a read returns data: one Reset per read,
// with no goroutine of its own. When the timer fires, it cancels the request, and the
// pending read returns an error.
type idleReader struct {
	src     io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	if n > 0 {
		r.timer.Reset(r.timeout)
	}
	return n, err
}

func (r *idleReader) Close() error { return r.src.Close() }
