package fakepoe

import (
	"net/http"
	"slices"
	"strings"
)

// The types below follow the fields that Poe's /v1/models returns. Field values are
// invented for the fake and are not Poe's prices or limits.

type modelList struct {
	Object string  `json:"object"`
	Data   []model `json:"data"`
}

type model struct {
	ID                string           `json:"id"`
	Object            string           `json:"object"`
	Created           int64            `json:"created"` // Unix milliseconds
	Description       string           `json:"description"`
	OwnedBy           string           `json:"owned_by"`
	Root              string           `json:"root"`
	Architecture      architecture     `json:"architecture"`
	SupportedFeatures []string         `json:"supported_features"`
	Pricing           *pricing         `json:"pricing"`
	ContextWindow     contextWindow    `json:"context_window"`
	ContextLength     int              `json:"context_length"`
	Metadata          modelMetadata    `json:"metadata"`
	Reasoning         *reasoning       `json:"reasoning"`
	Parameters        []modelParameter `json:"parameters"`
}

type architecture struct {
	InputModalities  []string `json:"input_modalities"`
	OutputModalities []string `json:"output_modalities"`
	Modality         string   `json:"modality"`
}

// pricing is the price in USD per token as decimal strings. Nil fields are JSON null.
type pricing struct {
	Prompt          *string `json:"prompt"`
	Completion      *string `json:"completion"`
	Image           *string `json:"image"`
	Request         *string `json:"request"`
	InputCacheRead  *string `json:"input_cache_read"`
	InputCacheWrite *string `json:"input_cache_write"`
}

type contextWindow struct {
	ContextLength   int  `json:"context_length"`
	MaxOutputTokens *int `json:"max_output_tokens,omitempty"`
}

type modelMetadata struct {
	DisplayName string     `json:"display_name"`
	Image       modelImage `json:"image"`
	URL         string     `json:"url"`
}

type modelImage struct {
	URL    string `json:"url"`
	Alt    string `json:"alt"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

type reasoning struct {
	Budget                  *reasoningBudget `json:"budget"`
	Required                bool             `json:"required"`
	SupportsReasoningEffort bool             `json:"supports_reasoning_effort"`
}

type reasoningBudget struct {
	MaxTokens int `json:"max_tokens"`
	MinTokens int `json:"min_tokens"`
}

type modelParameter struct {
	Name         string         `json:"name"`
	Schema       map[string]any `json:"schema"`
	DefaultValue any            `json:"default_value"`
	Description  string         `json:"description"`
}

// ModelIDs returns the ids that /v1/models lists, in its order. Chat completions
// accept exactly these ids and respond 404 model_not_found to any other.
func ModelIDs() []string {
	catalog := modelCatalog()
	ids := make([]string, len(catalog))
	for i, m := range catalog {
		ids[i] = m.ID
	}
	return ids
}

func isKnownModel(id string) bool {
	return slices.Contains(ModelIDs(), id)
}

// handleModels serves GET /v1/models, which Poe serves without a key.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	fault := s.currentFault()
	if fault.ModelsStatus != 0 {
		s.writeAPIError(w, r, fault.shapeOr(ShapeA), errorForStatus(fault.ModelsStatus), fault.RetryAfter)
		return
	}
	writeJSON(w, http.StatusOK, modelList{Object: "list", Data: modelCatalog()})
}

// modelCatalog returns a fresh copy of the models, so no caller can change another's.
// It covers text models with and without reasoning settings and parameters, and an
// image model whose pricing is null and whose context window has no max_output_tokens.
func modelCatalog() []model {
	return []model{
		textModel("Claude-Sonnet-4.6", "Anthropic", 1771372800000,
			"Anthropic's balanced Claude model for writing, analysis and code.",
			[]string{"text", "image"}, 200000, 64000,
			prices("0.0000026", "0.000013", "0.00000026", "0.0000032"),
			&reasoning{Budget: &reasoningBudget{MaxTokens: 63999, MinTokens: 1024}},
			[]modelParameter{{
				Name:         "thinking_budget",
				Schema:       map[string]any{"type": "integer", "minimum": 0, "maximum": 63999},
				DefaultValue: 0,
				Description:  "Maximum number of tokens the model may spend thinking before it answers.",
			}}),
		textModel("GPT-5.4", "OpenAI", 1772668800000,
			"OpenAI's flagship GPT model with adjustable reasoning effort.",
			[]string{"text", "image"}, 400000, 128000,
			prices("0.0000022", "0.0000176", "0.00000022", ""),
			&reasoning{Required: true, SupportsReasoningEffort: true},
			[]modelParameter{{
				Name:         "reasoning_effort",
				Schema:       map[string]any{"type": "string", "enum": []string{"minimal", "low", "medium", "high"}},
				DefaultValue: "medium",
				Description:  "How much effort the model spends reasoning before it answers.",
			}}),
		textModel("Gemini-3-Pro", "Google", 1763424000000,
			"Google's Gemini model for long documents, images, audio and video.",
			[]string{"text", "image", "video", "audio"}, 1048576, 65536,
			prices("0.0000018", "0.0000108", "0.00000018", ""),
			nil,
			[]modelParameter{{
				Name:         "web_search",
				Schema:       map[string]any{"type": "boolean"},
				DefaultValue: false,
				Description:  "Whether the model may search the web before it answers.",
			}}),
		textModel("Grok-4", "xAI", 1752192000000,
			"xAI's Grok model for reasoning and conversation.",
			[]string{"text"}, 256000, 32768,
			prices("0.0000030", "0.000015", "", ""),
			nil,
			[]modelParameter{}),
		{
			ID:          "FLUX-pro-1.1",
			Object:      "model",
			Created:     1727913600000,
			Description: "Black Forest Labs' image generator. Call it with stream set to false.",
			OwnedBy:     "Black Forest Labs",
			Root:        "FLUX-pro-1.1",
			Architecture: architecture{
				InputModalities:  []string{"text"},
				OutputModalities: []string{"image"},
				Modality:         "text->image",
			},
			SupportedFeatures: []string{},
			Pricing:           nil,
			ContextWindow:     contextWindow{ContextLength: 2048},
			ContextLength:     2048,
			Metadata:          metadataFor("FLUX-pro-1.1"),
			Reasoning:         nil,
			Parameters: []modelParameter{{
				Name:         "aspect_ratio",
				Schema:       map[string]any{"type": "string", "enum": []string{"1:1", "16:9", "9:16"}},
				DefaultValue: "1:1",
				Description:  "Width to height ratio of the generated image.",
			}},
		},
	}
}

func textModel(id, owner string, created int64, description string, inputs []string,
	contextLength, maxOutput int, price *pricing, reason *reasoning, params []modelParameter,
) model {
	return model{
		ID:          id,
		Object:      "model",
		Created:     created,
		Description: description,
		OwnedBy:     owner,
		Root:        id,
		Architecture: architecture{
			InputModalities:  inputs,
			OutputModalities: []string{"text"},
			Modality:         strings.Join(inputs, ",") + "->text",
		},
		SupportedFeatures: []string{"tools"},
		Pricing:           price,
		ContextWindow:     contextWindow{ContextLength: contextLength, MaxOutputTokens: &maxOutput},
		ContextLength:     contextLength,
		Metadata:          metadataFor(id),
		Reasoning:         reason,
		Parameters:        params,
	}
}

// prices returns per-token prices, with null for an empty string. Text models here
// have no image or per-request price.
func prices(prompt, completion, cacheRead, cacheWrite string) *pricing {
	orNull := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	return &pricing{
		Prompt:          orNull(prompt),
		Completion:      orNull(completion),
		InputCacheRead:  orNull(cacheRead),
		InputCacheWrite: orNull(cacheWrite),
	}
}

func metadataFor(id string) modelMetadata {
	return modelMetadata{
		DisplayName: id,
		Image: modelImage{
			URL:    "https://fake-poe.invalid/images/" + id + ".png",
			Alt:    id + " logo",
			Width:  128,
			Height: 128,
		},
		URL: "https://poe.com/" + id,
	}
}
