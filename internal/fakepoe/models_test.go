package fakepoe

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func TestModelsShape(t *testing.T) {
	s := startServer(t, Options{})

	resp, raw := do(t, http.MethodGet, s.BaseURL()+"/models", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}

	var list struct {
		Object string           `json:"object"`
		Data   []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if list.Object != "list" {
		t.Errorf("object = %q, want list", list.Object)
	}
	if len(list.Data) < 4 {
		t.Fatalf("len(data) = %d, want at least 4", len(list.Data))
	}

	fields := []string{
		"id", "object", "created", "description", "owned_by", "root", "architecture",
		"supported_features", "pricing", "context_window", "context_length", "metadata",
		"reasoning", "parameters",
	}
	var ids []string
	for _, m := range list.Data {
		id, _ := m["id"].(string)
		ids = append(ids, id)
		for _, field := range fields {
			if _, ok := m[field]; !ok {
				t.Errorf("model %q has no %s", id, field)
			}
		}
		if m["object"] != "model" {
			t.Errorf("model %q object = %v, want model", id, m["object"])
		}
		// Poe gives created in Unix milliseconds, which is after 2001 only past 1e12.
		if created, _ := m["created"].(float64); created < 1e12 {
			t.Errorf("model %q created = %v, want Unix milliseconds", id, m["created"])
		}
		arch, _ := m["architecture"].(map[string]any)
		for _, field := range []string{"input_modalities", "output_modalities", "modality"} {
			if _, ok := arch[field]; !ok {
				t.Errorf("model %q architecture has no %s", id, field)
			}
		}
		window, _ := m["context_window"].(map[string]any)
		if _, ok := window["context_length"].(float64); !ok {
			t.Errorf("model %q context_window.context_length = %v, want a number", id, window["context_length"])
		}
		meta, _ := m["metadata"].(map[string]any)
		if meta["display_name"] == nil || meta["image"] == nil || meta["url"] == nil {
			t.Errorf("model %q metadata = %v, want display_name, image and url", id, meta)
		}
		if pricing, ok := m["pricing"].(map[string]any); ok {
			for _, field := range []string{"prompt", "completion", "image", "request", "input_cache_read", "input_cache_write"} {
				value, present := pricing[field]
				if _, isString := value.(string); !present || (value != nil && !isString) {
					t.Errorf("model %q pricing.%s = %v (present %v), want a decimal string or null", id, field, value, present)
				}
			}
		}
		params, _ := m["parameters"].([]any)
		for _, p := range params {
			param, _ := p.(map[string]any)
			for _, field := range []string{"name", "schema", "default_value", "description"} {
				if _, ok := param[field]; !ok {
					t.Errorf("model %q parameter %v has no %s", id, param["name"], field)
				}
			}
		}
	}

	for _, want := range []string{"Claude-Sonnet-4.6", "GPT-5.4", "Gemini-3-Pro"} {
		if !slices.Contains(ids, want) {
			t.Errorf("ids = %q, want %s among them", ids, want)
		}
	}
	if !slices.Equal(ids, ModelIDs()) {
		t.Errorf("ids = %q, ModelIDs() = %q, want equal", ids, ModelIDs())
	}

	var imageBots int
	for _, m := range list.Data {
		arch := m["architecture"].(map[string]any)
		if slices.Contains(arch["output_modalities"].([]any), any("image")) {
			imageBots++
			if m["pricing"] != nil {
				t.Errorf("image model %v pricing = %v, want null", m["id"], m["pricing"])
			}
		}
	}
	if imageBots == 0 {
		t.Error("no model outputs images")
	}
}

func TestModelsFault(t *testing.T) {
	s := startServer(t, Options{})
	s.SetFault(Fault{ModelsStatus: http.StatusServiceUnavailable, RetryAfter: "3"})

	resp, raw := do(t, http.MethodGet, s.BaseURL()+"/models", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
	errObj, _ := decodeObject(t, raw)["error"].(map[string]any)
	if errObj["type"] != "api_error" || errObj["code"] != "internal_error" {
		t.Errorf("error = %v, want Shape A api_error/internal_error", errObj)
	}
}
