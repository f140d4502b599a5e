package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"time"
)

// Message is one message of a chat conversation.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// ChatRequest is a chat completion request.
type ChatRequest struct {
	Model       string    // Poe's model id, such as "Claude-Sonnet-4.6"
	Messages    []Message // the conversation, oldest first
	Temperature *float64  // sent as temperature when non-nil; Poe accepts 0 to 2
	MaxTokens   *int      // sent as max_tokens when non-nil
}

// Usage is the token count that Poe reports for a chat completion. Its JSON form is the
// shape the sidecar sends to editors.
type Usage struct {
	PromptTokens     int `json:"promptTokens"`
	CompletionTokens int `json:"completionTokens"`
	TotalTokens      int `json:"totalTokens"`
}

// ChatResult is the outcome of a chat stream that ended well. The text is not kept here:
// the caller receives it piece by piece through onDelta.
type ChatResult struct {
	FinishReason string // Poe's finish_reason, such as "stop" or "length"
	Usage        *Usage // nil when Poe reported no usage
}

// chatBody is the JSON body of a chat completion request. It carries only fields of
// OpenAI's chat completion schema, because Poe's strict validation rejects others.
type chatBody struct {
	Model         string    `json:"model"`
	Messages      []Message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   *int     `json:"max_tokens,omitempty"`
}

// ChatStream sends req to POST {BaseURL}/chat/completions as a stream and calls onDelta,
// on the calling goroutine and in order, with each non-empty piece of the answer's text.
// onDelta may be nil.
//
// The stream has no overall time limit. The response headers must arrive within
// HeaderTimeout, otherwise the Error has ReasonUnreachable. When no byte arrives for
// IdleTimeout, the request is closed and the Error has ReasonStalled. Keep-alive
// comment lines count as bytes.
//
// The stream ends well at "data: [DONE]", or when the body ends after a chunk that
// carried a finish_reason. "[DONE]" before any finish_reason gives FinishReason "stop",
// because "[DONE]" is the stream's explicit terminator. A body that ends before either
// is ReasonMalformed, never a success, and so is an event over 32 MiB.
//
// A 429, 500, 502, 503 or 529 response, or a connection that could not be opened, is
// retried once under the rule in retry.go. That happens before onDelta is first called,
// so no text is ever passed to onDelta twice.
//
// When ctx ends, the upstream request is closed at once and ChatStream returns an error
// that wraps ctx.Err(), not an *Error.
func (c *Client) ChatStream(ctx context.Context, apiKey string, req ChatRequest, onDelta func(text string)) (ChatResult, error) {
	u, err := c.endpoint("/chat/completions")
	if err != nil {
		return ChatResult{}, err
	}

	body := chatBody{
		Model:       req.Model,
		Messages:    req.Messages,
		Stream:      true,
		Temperature: req.Temperature,
		MaxTokens:   req.MaxTokens,
	}
	if body.Messages == nil {
		body.Messages = []Message{}
	}
	body.StreamOptions.IncludeUsage = true
	encoded, err := json.Marshal(body)
	if err != nil {
		return ChatResult{}, fmt.Errorf("encode chat request for model %q: %w", req.Model, err)
	}

	x, err := c.send(ctx, request{
		op:     "chat request",
		method: http.MethodPost,
		url:    u,
		apiKey: apiKey,
		body:   encoded,
		accept: "text/event-stream",
	})
	if err != nil {
		return ChatResult{}, err
	}
	defer x.close()

	if x.resp.StatusCode != http.StatusOK {
		return ChatResult{}, x.readErrorBody()
	}

	// From here on, the idle timer ends the request when no byte arrives in time.
	idle := c.idleTimeout()
	timer := time.AfterFunc(idle, func() { x.cancel(errIdleTimeout) })
	defer timer.Stop()
	x.resp.Body = &idleReader{src: x.resp.Body, timer: timer, timeout: idle}

	stream := &chatStream{x: x, onDelta: onDelta}
	contentType := x.resp.Header.Get("Content-Type")
	mediaType, _, _ := mime.ParseMediaType(contentType)
	var result ChatResult
	switch {
	case mediaType == "text/event-stream" || contentType == "":
		result, err = stream.readEvents(c.eventCap())
	case isJSONMediaType(contentType):
		result, err = stream.readCompletion()
	default:
		err = x.malformed(fmt.Errorf("expected an event stream but the response has Content-Type %q", contentType))
	}

	c.logStreamEnd(x, result, err)
	return result, err
}

func (c *Client) eventCap() int {
	if c.maxEventSize > 0 {
		return c.maxEventSize
	}
	return defaultMaxEventSize
}

func (c *Client) logStreamEnd(x *exchange, result ChatResult, err error) {
	duration := time.Since(x.started)
	if err != nil {
		c.logger().Debug("poe chat stream failed", "url", x.url.Redacted(), "duration", duration, "error", err)
		return
	}
	c.logger().Debug("poe chat stream finished", "url", x.url.Redacted(), "duration", duration,
		"finish_reason", result.FinishReason, "usage", result.Usage != nil)
}
