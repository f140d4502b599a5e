package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Model is one of Poe's models, normalised. Its JSON form is the shape the sidecar sends
// to editors, so the tags use camelCase and leave out what Poe did not send.
type Model struct {
	ID                string          `json:"id"`
	Name              string          `json:"name,omitempty"`              // metadata.display_name
	OwnedBy           string          `json:"ownedBy,omitempty"`           // owned_by
	Description       string          `json:"description,omitempty"`       // description
	Created           int64           `json:"created,omitempty"`           // created, in Unix milliseconds as Poe gives it
	ContextWindow     int             `json:"contextWindow,omitempty"`     // context_window.context_length, else the top-level context_length, in tokens
	MaxOutputTokens   int             `json:"maxOutputTokens,omitempty"`   // context_window.max_output_tokens
	InputModalities   []string        `json:"inputModalities,omitempty"`   // architecture.input_modalities
	OutputModalities  []string        `json:"outputModalities,omitempty"`  // architecture.output_modalities
	SupportedFeatures []string        `json:"supportedFeatures,omitempty"` // supported_features
	Pricing           map[string]any  `json:"pricing,omitempty"`           // pricing with camelCase keys and Poe's values (decimal strings in USD per token, or null), or nil when Poe sends null
	Parameters        json.RawMessage `json:"parameters,omitempty"`        // parameters, Poe's list unchanged
}

// wireModel is one entry of Poe's model list. Only the members that Model uses are
// decoded, and unknown members are ignored.
type wireModel struct {
	ID           string  `json:"id"`
	Created      flexInt `json:"created"`
	Description  string  `json:"description"`
	OwnedBy      string  `json:"owned_by"`
	Architecture *struct {
		InputModalities  []string `json:"input_modalities"`
		OutputModalities []string `json:"output_modalities"`
	} `json:"architecture"`
	SupportedFeatures []string        `json:"supported_features"`
	Pricing           json.RawMessage `json:"pricing"`
	ContextWindow     *struct {
		ContextLength   flexInt `json:"context_length"`
		MaxOutputTokens flexInt `json:"max_output_tokens"`
	} `json:"context_window"`
	ContextLength flexInt `json:"context_length"`
	Metadata      *struct {
		DisplayName string `json:"display_name"`
	} `json:"metadata"`
	Parameters json.RawMessage `json:"parameters"`
}

// Models lists Poe's public models from GET {BaseURL}/models. The endpoint needs no API
// key, so none is sent. An entry that cannot be decoded or has no id is left out and
// logged, so that one odd entry does not hide the others. The whole call is bounded by
// 30 seconds.
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	u, err := c.endpoint("/models")
	if err != nil {
		return nil, err
	}

	const op = "model list request"
	body, err := c.getJSON(ctx, op, u, "")
	if err != nil {
		return nil, err
	}

	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil || list.Data == nil {
		cause := fmt.Errorf(`missing "data" array`)
		if err != nil {
			cause = fmt.Errorf(`invalid "data" array: %w`, err)
		}
		return nil, &Error{Reason: ReasonMalformed, Status: http.StatusOK, op: op, Err: cause}
	}

	models := make([]Model, 0, len(list.Data))
	skipped := 0
	for i, raw := range list.Data {
		model, err := c.normaliseModel(raw)
		if err != nil {
			skipped++
			c.logger().Warn("poe model entry skipped", "index", i, "error", err)
			continue
		}
		models = append(models, model)
	}
	if skipped > 0 {
		c.logger().Warn("poe model list had unreadable entries", "skipped", skipped, "kept", len(models))
	}
	return models, nil
}

// normaliseModel decodes one entry of Poe's model list. A pricing member that is not an
// object is logged and left out, keeping the rest of the entry.
func (c *Client) normaliseModel(raw json.RawMessage) (Model, error) {
	var wire wireModel
	if err := json.Unmarshal(raw, &wire); err != nil {
		return Model{}, err
	}
	if wire.ID == "" {
		return Model{}, fmt.Errorf(`missing "id"`)
	}

	model := Model{
		ID:                wire.ID,
		OwnedBy:           wire.OwnedBy,
		Description:       wire.Description,
		Created:           int64(wire.Created),
		ContextWindow:     int(wire.ContextLength),
		SupportedFeatures: wire.SupportedFeatures,
	}
	if wire.Metadata != nil {
		model.Name = wire.Metadata.DisplayName
	}
	if wire.Architecture != nil {
		model.InputModalities = wire.Architecture.InputModalities
		model.OutputModalities = wire.Architecture.OutputModalities
	}
	if wire.ContextWindow != nil {
		if wire.ContextWindow.ContextLength > 0 {
			model.ContextWindow = int(wire.ContextWindow.ContextLength)
		}
		model.MaxOutputTokens = int(wire.ContextWindow.MaxOutputTokens)
	}

	pricing, err := camelCasePricing(wire.Pricing)
	if err != nil {
		c.logger().Warn("poe model pricing ignored", "model", wire.ID, "error", err)
	}
	model.Pricing = pricing

	if len(wire.Parameters) > 0 && !isJSONNull(wire.Parameters) {
		model.Parameters = wire.Parameters
	}
	return model, nil
}

// camelCasePricing decodes Poe's pricing object and renames its keys from snake_case to
// camelCase. Values keep their JSON form: strings stay strings and numbers keep their
// text. An absent or null pricing gives nil.
func camelCasePricing(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || isJSONNull(raw) {
		return nil, nil
	}

	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var pricing map[string]any
	if err := decoder.Decode(&pricing); err != nil {
		return nil, fmt.Errorf("invalid pricing: %w", err)
	}

	renamed := make(map[string]any, len(pricing))
	for key, value := range pricing {
		renamed[camelCase(key)] = value
	}
	return renamed, nil
}

// camelCase turns a snake_case key into camelCase: "input_cache_read" becomes
// "inputCacheRead". Leading, trailing and repeated underscores are dropped.
func camelCase(key string) string {
	if !strings.Contains(key, "_") {
		return key
	}

	var b strings.Builder
	b.Grow(len(key))
	upperNext := false
	for _, r := range key {
		if r == '_' {
			upperNext = b.Len() > 0
			continue
		}
		if upperNext {
			r = unicode.ToUpper(r)
			upperNext = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
