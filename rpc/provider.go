package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// modelsTTL is how long a fetched model list is served from memory before
// provider/models asks Poe again. Poe's list changes a few times a week.
const modelsTTL = 10 * time.Minute

// modelCache keeps the last model list, so a picker opened repeatedly does not
// fetch it each time.
type modelCache struct {
	mu      sync.Mutex
	models  []provider.Model
	fetched time.Time
}

func (c *modelCache) get(now time.Time) []provider.Model {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.models == nil || now.Sub(c.fetched) > modelsTTL {
		return nil
	}
	return c.models
}

func (c *modelCache) put(models []provider.Model, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.models, c.fetched = models, now
}

type modelsParams struct {
	Refresh bool `json:"refresh"`
}

type modelsResult struct {
	Models []provider.Model `json:"models"`
}

func (s *Server) providerModels(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p modelsParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	if !p.Refresh {
		if models := s.models.get(time.Now()); models != nil {
			return modelsResult{Models: models}, nil
		}
	}

	models, err := s.client().Models(ctx)
	if err != nil {
		return nil, err
	}
	if models == nil {
		models = []provider.Model{}
	}
	s.models.put(models, time.Now())
	return modelsResult{Models: models}, nil
}

type balanceResult struct {
	Points *int64 `json:"points"`
	Email  string `json:"email,omitempty"`
}

func (s *Server) providerBalance(ctx context.Context, _ *jsonrpc2.Request) (any, error) {
	key, err := s.authService().APIKey()
	if err != nil {
		return nil, err
	}
	b, err := s.client().Balance(ctx, key)
	if err != nil {
		return nil, s.keyFailure(err)
	}
	return balanceResult{Points: b.Points, Email: b.Email}, nil
}

func (s *Server) client() *provider.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poe
}

// keyFailure rewords Poe's 401 when the key comes from POE_API_KEY: signing in
// cannot help then, because the environment wins over the stored key.
func (s *Server) keyFailure(err error) error {
	var apiErr *provider.Error
	if !errors.As(err, &apiErr) || apiErr.Reason != provider.ReasonUnauthorized {
		return err
	}
	if s.authService().Status().Source != auth.SourceEnv {
		return err
	}
	return &Error{
		Code:    CodeAuthRequired,
		Message: fmt.Sprintf("Poe rejected the API key in POE_API_KEY (HTTP %d). Set POE_API_KEY to a valid key, or unset it to use the key you sign in with.", apiErr.Status),
		Data: &ErrorData{
			Reason:  "rejected",
			Status:  apiErr.Status,
			Type:    apiErr.Type,
			PoeCode: apiErr.Code,
			Message: apiErr.Message,
		},
	}
}
