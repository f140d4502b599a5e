package fakepoe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// chatRequest holds the request fields the fake reads. Other fields are accepted and
// ignored, as Poe ignores most fields it does not support.
type chatRequest struct {
	Model               string         `json:"model"`
	Messages            []chatMessage  `json:"messages"`
	Stream              bool           `json:"stream"`
	StreamOptions       *streamOptions `json:"stream_options"`
	MaxTokens           *int           `json:"max_tokens"`
	MaxCompletionTokens *int           `json:"max_completion_tokens"`
	Temperature         *float64       `json:"temperature"`
	N                   *int           `json:"n"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// replyPlan is the planned content of one completion, before any stream quirk changes it.
type replyPlan struct {
	id           string
	model        string
	created      int64 // Unix seconds
	deltas       []string
	finishReason string
	promptTokens int
}

type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
}

type completionChoice struct {
	Index        int               `json:"index"`
	Message      completionMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// handleChat serves POST /v1/chat/completions. Checks run in this order: the
// ChatStatus fault, the bearer key (401), the JSON body (400), the model (404), the
// balance (402). Errors use Shape A unless Fault.ErrorShape selects another.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	fault := s.takeChatFault()
	shape := fault.shapeOr(ShapeA)
	if fault.ChatStatus != 0 {
		s.writeAPIError(w, r, shape, errorForStatus(fault.ChatStatus), fault.RetryAfter)
		return
	}

	a, ok := s.authenticate(r)
	if !ok {
		s.writeAPIError(w, r, shape, errorForStatus(http.StatusUnauthorized), "")
		return
	}

	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body) // record has already read the body into memory.
	req, messages, reqErr := parseChatRequest(body.Bytes())
	if reqErr != nil {
		s.writeAPIError(w, r, shape, *reqErr, "")
		return
	}
	if !isKnownModel(req.Model) {
		notFound := errorForStatus(http.StatusNotFound)
		notFound.codeA = "model_not_found"
		notFound.message = fmt.Sprintf("Model '%s' not found", req.Model)
		s.writeAPIError(w, r, shape, notFound, "")
		return
	}
	if a.balance <= 0 {
		s.writeAPIError(w, r, shape, errorForStatus(http.StatusPaymentRequired), "")
		return
	}

	plan := replyPlan{
		id:           s.nextCompletionID(),
		model:        req.Model,
		created:      s.now().Unix(),
		deltas:       ReplyDeltas(req.Model, messages),
		finishReason: "stop",
		promptTokens: countTokens(messages),
	}
	if limit := tokenLimit(req); limit != nil && *limit < len(plan.deltas) {
		plan.deltas = plan.deltas[:*limit]
		plan.finishReason = "length"
	}

	if req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		s.streamChat(w, r, plan, includeUsage, fault)
		return
	}
	writeCompletion(w, plan)
}

// parseChatRequest decodes and checks a request body. It returns the messages with
// their text content, or a 400 error.
func parseChatRequest(body []byte) (chatRequest, []Message, *apiError) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		e := invalidRequest("invalid_parameter", fmt.Sprintf("The request body is not valid JSON: %v.", err))
		return req, nil, &e
	}

	if req.Model == "" {
		e := invalidRequest("missing_parameter", "The model field is missing.")
		return req, nil, &e
	}
	if len(req.Messages) == 0 {
		e := invalidRequest("missing_parameter", "The messages field is missing or empty.")
		return req, nil, &e
	}
	if req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 2) {
		e := invalidRequest("invalid_parameter", fmt.Sprintf("The temperature %v is out of range. Use a value from 0 to 2.", *req.Temperature))
		return req, nil, &e
	}
	if req.N != nil && *req.N != 1 {
		e := invalidRequest("invalid_parameter", fmt.Sprintf("The n %d is not supported. Use 1.", *req.N))
		return req, nil, &e
	}
	if limit := tokenLimit(req); limit != nil && *limit < 1 {
		e := invalidRequest("invalid_parameter", fmt.Sprintf("The token limit %d is out of range. Use 1 or more.", *limit))
		return req, nil, &e
	}

	messages := make([]Message, len(req.Messages))
	for i, m := range req.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			e := invalidRequest("invalid_parameter", fmt.Sprintf("messages[%d].role %q is not a valid role.", i, m.Role))
			return req, nil, &e
		}
		text, err := contentText(m.Content)
		if err != nil {
			e := invalidRequest("invalid_parameter", fmt.Sprintf("messages[%d].content is invalid: %v.", i, err))
			return req, nil, &e
		}
		messages[i] = Message{Role: m.Role, Content: text}
	}
	return req, messages, nil
}

// tokenLimit returns max_completion_tokens, or max_tokens when that is absent.
func tokenLimit(req chatRequest) *int {
	if req.MaxCompletionTokens != nil {
		return req.MaxCompletionTokens
	}
	return req.MaxTokens
}

// contentText returns the text of a message's content: a string, null, or an array of
// content parts whose "text" parts are joined with newlines. Other parts, such as
// images, add no text.
func contentText(raw json.RawMessage) (string, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return "", nil
	}

	var text string
	if err := json.Unmarshal(trimmed, &text); err == nil {
		return text, nil
	}

	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(trimmed, &parts); err != nil {
		return "", errors.New("want a string or an array of content parts")
	}
	var texts []string
	for _, part := range parts {
		if part.Type == "text" {
			texts = append(texts, part.Text)
		}
	}
	return strings.Join(texts, "\n"), nil
}

func writeCompletion(w http.ResponseWriter, plan replyPlan) {
	completionTokens := len(plan.deltas)
	w.Header().Set("X-Request-Id", plan.id)
	writeJSON(w, http.StatusOK, completion{
		ID:      plan.id,
		Object:  "chat.completion",
		Created: plan.created,
		Model:   plan.model,
		Choices: []completionChoice{{
			Index:        0,
			Message:      completionMessage{Role: "assistant", Content: strings.Join(plan.deltas, "")},
			FinishReason: plan.finishReason,
		}},
		Usage: usage{
			PromptTokens:     plan.promptTokens,
			CompletionTokens: completionTokens,
			TotalTokens:      plan.promptTokens + completionTokens,
		},
	})
}
