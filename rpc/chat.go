package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/provider"
)

// finishCancelled is the finishReason of a stream the editor stopped.
const finishCancelled = "cancelled"

// errStoppedByUser is the cancellation cause of a stream ended by chat/cancel
// or by shutdown, as opposed to $/cancelRequest on the chat/send request.
var errStoppedByUser = errors.New("stream stopped by chat/cancel")

type chatSendParams struct {
	StreamID    *string           `json:"streamId"`
	Model       *string           `json:"model"`
	Messages    []json.RawMessage `json:"messages"` // decoded one by one, so errors name the index
	Temperature *float64          `json:"temperature"`
	MaxTokens   *int              `json:"maxTokens"`
}

type chatMessageParam struct {
	Role    *string `json:"role"`
	Content *string `json:"content"`
}

type chatResult struct {
	StreamID     string          `json:"streamId"`
	Text         string          `json:"text"`
	FinishReason string          `json:"finishReason"`
	Usage        *provider.Usage `json:"usage,omitempty"`
}

// streamEvent is the params of a chat/stream notification.
type streamEvent struct {
	StreamID     string          `json:"streamId"`
	Seq          int             `json:"seq"`
	Delta        string          `json:"delta,omitempty"`
	Done         bool            `json:"done,omitempty"`
	FinishReason string          `json:"finishReason,omitempty"`
	Usage        *provider.Usage `json:"usage,omitempty"`
	Error        *jsonrpc2.Error `json:"error,omitempty"`
}

// chatStream is one live chat/send.
type chatStream struct {
	stop context.CancelCauseFunc
}

// prepareChat checks the chat/send params and registers the stream on the
// reading goroutine, so a chat/cancel or shutdown read right after the
// request finds it. It returns the handler that relays the stream.
func (s *Server) prepareChat(ctx context.Context, req *jsonrpc2.Request) (handlerFunc, error) {
	var p chatSendParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	chatReq, err := p.validate()
	if err != nil {
		return nil, err
	}
	streamID := *p.StreamID

	streamCtx, stop := context.WithCancelCause(ctx)
	s.mu.Lock()
	if _, dup := s.streams[streamID]; dup {
		s.mu.Unlock()
		stop(nil)
		return nil, invalidParams("streamId", "%q is already used by a live stream; choose an id unique among your live streams", streamID)
	}
	s.streams[streamID] = &chatStream{stop: stop}
	s.mu.Unlock()

	return func(s *Server, ctx context.Context, _ *jsonrpc2.Request) (any, error) {
		defer func() {
			s.mu.Lock()
			delete(s.streams, streamID)
			s.mu.Unlock()
			stop(nil)
		}()
		return s.streamChat(ctx, streamCtx, streamID, chatReq)
	}, nil
}

// streamChat relays one stream to the editor. ctx is the chat/send request's
// context and streamCtx its child that chat/cancel stops.
func (s *Server) streamChat(ctx, streamCtx context.Context, streamID string, chatReq provider.ChatRequest) (any, error) {
	// From here on the stream exists, so it ends with exactly one done
	// notification, whatever happens.
	var (
		text textBuffer
		seq  int
	)
	result, err := s.relay(streamCtx, chatReq, func(delta string) {
		text.WriteString(delta)
		s.notifyStream(streamEvent{StreamID: streamID, Seq: seq, Delta: delta})
		seq++
	})

	done := streamEvent{StreamID: streamID, Seq: seq, Done: true}
	switch {
	case err == nil:
		done.FinishReason = result.FinishReason
		done.Usage = result.Usage
		s.notifyStream(done)
		return chatResult{StreamID: streamID, Text: text.String(), FinishReason: result.FinishReason, Usage: result.Usage}, nil

	case errors.Is(context.Cause(streamCtx), errStoppedByUser):
		done.FinishReason = finishCancelled
		s.notifyStream(done)
		return chatResult{StreamID: streamID, Text: text.String(), FinishReason: finishCancelled}, nil

	case ctx.Err() != nil:
		// $/cancelRequest on this chat/send, or the session ending.
		done.FinishReason = finishCancelled
		s.notifyStream(done)
		return nil, errCancelled

	default:
		done.Error = toWireError(err)
		s.notifyStream(done)
		s.logger.Info("chat stream failed", "streamId", streamID, "model", chatReq.Model, "chars", text.Len(), "error", err)
		return nil, err
	}
}

// relay streams one chat completion from Poe with the signed-in key.
func (s *Server) relay(ctx context.Context, req provider.ChatRequest, onDelta func(string)) (provider.ChatResult, error) {
	key, err := s.authService().APIKey()
	if err != nil {
		return provider.ChatResult{}, err
	}
	res, err := s.client().ChatStream(ctx, key, req, onDelta)
	return res, s.keyFailure(err)
}

type chatCancelParams struct {
	StreamID *string `json:"streamId"`
}

func (s *Server) chatCancel(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p chatCancelParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	if p.StreamID == nil || *p.StreamID == "" {
		return nil, invalidParams("streamId", "is required: pass the streamId given to chat/send")
	}

	s.mu.Lock()
	st, ok := s.streams[*p.StreamID]
	s.mu.Unlock()
	if ok {
		st.stop(errStoppedByUser)
	}
	return map[string]bool{"cancelled": ok}, nil
}

var chatRoles = map[string]bool{"system": true, "user": true, "assistant": true}

// validate checks the chat/send params and converts them for the provider.
func (p *chatSendParams) validate() (provider.ChatRequest, error) {
	switch {
	case p.StreamID == nil:
		return provider.ChatRequest{}, invalidParams("streamId", "is required: choose a string unique among your live streams")
	case *p.StreamID == "":
		return provider.ChatRequest{}, invalidParams("streamId", "must not be empty")
	case p.Model == nil || strings.TrimSpace(*p.Model) == "":
		return provider.ChatRequest{}, invalidParams("model", "is required: pass a model id from provider/models, such as \"Claude-Sonnet-4.6\"")
	case len(p.Messages) == 0:
		return provider.ChatRequest{}, invalidParams("messages", "must contain at least one message")
	case p.Temperature != nil && (*p.Temperature < 0 || *p.Temperature > 2):
		return provider.ChatRequest{}, invalidParams("temperature", "must be between 0 and 2, not %v", *p.Temperature)
	case p.MaxTokens != nil && *p.MaxTokens < 1:
		return provider.ChatRequest{}, invalidParams("maxTokens", "must be at least 1, not %d", *p.MaxTokens)
	}

	req := provider.ChatRequest{
		Model:       *p.Model,
		Messages:    make([]provider.Message, len(p.Messages)),
		Temperature: p.Temperature,
		MaxTokens:   p.MaxTokens,
	}
	for i, raw := range p.Messages {
		field := fmt.Sprintf("messages[%d]", i)
		var m chatMessageParam
		if err := json.Unmarshal(raw, &m); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field != "" {
				return provider.ChatRequest{}, invalidParams(field+"."+typeErr.Field, "must be %s, not %s", jsonKind(typeErr.Type), typeErr.Value)
			}
			return provider.ChatRequest{}, invalidParams(field, "must be an object with \"role\" and \"content\"")
		}
		if m.Role == nil || !chatRoles[*m.Role] {
			// The value is not quoted back, as a pasted key may sit there.
			return provider.ChatRequest{}, invalidParams(field+".role", `must be "system", "user" or "assistant"`)
		}
		if m.Content == nil {
			return provider.ChatRequest{}, invalidParams(field+".content", "is required and must be a string")
		}
		req.Messages[i] = provider.Message{Role: *m.Role, Content: *m.Content}
	}
	return req, nil
}
