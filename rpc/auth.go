package rpc

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
)

type authMethod struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Label string `json:"label"`
}

var authMethodList = struct {
	Methods []authMethod `json:"methods"`
}{[]authMethod{
	{ID: "oauth", Type: "oauth", Label: "Sign in with Poe (browser)"},
	{ID: "apiKey", Type: "apiKey", Label: "Paste a Poe API key"},
}}

func (s *Server) authMethods(context.Context, *jsonrpc2.Request) (any, error) {
	return authMethodList, nil
}

type authorizeParams struct {
	Method *string `json:"method"`
}

type authorizeResult struct {
	AttemptID        string  `json:"attemptId"`
	Method           string  `json:"method"`
	Mode             string  `json:"mode"`
	URL              string  `json:"url"`
	RedirectURI      string  `json:"redirectUri,omitempty"`
	Instructions     string  `json:"instructions"`
	AttemptExpiresAt *string `json:"attemptExpiresAt,omitempty"`
}

func (s *Server) authAuthorize(_ context.Context, req *jsonrpc2.Request) (any, error) {
	var p authorizeParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	if p.Method == nil {
		return nil, invalidParams("method", `is required: "oauth" or "apiKey"`)
	}

	switch *p.Method {
	case "oauth":
		// The attempt outlives this request, so it runs under the session's context.
		a, err := s.authService().StartOAuth(s.ctx)
		if err != nil {
			return nil, err
		}
		expires := formatTime(a.ExpiresAt)
		return authorizeResult{
			AttemptID:        a.ID,
			Method:           "oauth",
			Mode:             "auto",
			URL:              a.URL,
			RedirectURI:      a.RedirectURI,
			Instructions:     a.Instructions,
			AttemptExpiresAt: &expires,
		}, nil
	case "apiKey":
		a := s.authService().StartAPIKey()
		return authorizeResult{
			AttemptID:    a.ID,
			Method:       "apiKey",
			Mode:         "prompt",
			URL:          a.URL,
			Instructions: a.Instructions,
		}, nil
	default:
		// The value is not quoted back: a user may paste a key into the wrong field.
		return nil, invalidParams("method", `must be "oauth" or "apiKey"`)
	}
}

type completeParams struct {
	AttemptID   *string `json:"attemptId"`
	APIKey      *string `json:"apiKey"`
	CallbackURL *string `json:"callbackUrl"`
	Code        *string `json:"code"`
}

type completeResult struct {
	SignedIn  bool    `json:"signedIn"`
	Method    string  `json:"method"`
	ExpiresAt *string `json:"expiresAt"`
}

func (s *Server) authComplete(ctx context.Context, req *jsonrpc2.Request) (any, error) {
	var p completeParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	if p.AttemptID == nil || *p.AttemptID == "" {
		return nil, invalidParams("attemptId", "is required: pass the attemptId that auth/authorize returned")
	}
	var given []string
	for name, v := range map[string]*string{"apiKey": p.APIKey, "callbackUrl": p.CallbackURL, "code": p.Code} {
		if v != nil {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		slices.Sort(given)
		others := make([]string, len(given)-1)
		for i, name := range given[1:] {
			others[i] = strconv.Quote(name)
		}
		return nil, invalidParams(given[0], "cannot be combined with %s; pass at most one of apiKey, callbackUrl and code", strings.Join(others, " or "))
	}

	res, err := s.authService().Complete(ctx, auth.CompleteParams{
		AttemptID:   *p.AttemptID,
		APIKey:      deref(p.APIKey),
		CallbackURL: deref(p.CallbackURL),
		Code:        deref(p.Code),
	})
	if err != nil {
		return nil, err
	}
	return completeResult{SignedIn: true, Method: res.Method, ExpiresAt: formatTimePtr(res.ExpiresAt)}, nil
}

// authStatus is the shape of the auth/status result and of auth/didChange.
type authStatus struct {
	SignedIn  bool         `json:"signedIn"`
	Method    string       `json:"method,omitempty"`
	Source    string       `json:"source,omitempty"`
	ExpiresAt *string      `json:"expiresAt"`
	Expired   bool         `json:"expired"`
	Problem   *authProblem `json:"problem,omitempty"`
}

type authProblem struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
}

func toAuthStatus(st auth.State) authStatus {
	out := authStatus{
		SignedIn:  st.SignedIn,
		Method:    st.Method,
		Source:    st.Source,
		ExpiresAt: formatTimePtr(st.ExpiresAt),
		Expired:   st.Expired,
	}
	if st.Problem != nil {
		out.Problem = &authProblem{Reason: st.Problem.Reason, Message: sentence(st.Problem.Message), Path: st.Problem.Path}
	}
	return out
}

func (s *Server) authStatus(context.Context, *jsonrpc2.Request) (any, error) {
	return toAuthStatus(s.authService().Status()), nil
}

func (s *Server) authSignOut(context.Context, *jsonrpc2.Request) (any, error) {
	st, err := s.authService().SignOut()
	if err != nil {
		return nil, err
	}
	return toAuthStatus(st), nil
}

// authChanged sends auth/didChange, and also window/showMessage when the key
// has just expired, since no request is
// waiting to report that.
func (s *Server) authChanged(st auth.State) {
	s.notify("auth/didChange", toAuthStatus(st))
	if st.Expired {
		s.notify("window/showMessage", map[string]any{
			"type":    2, // Warning
			"message": "Your Poe API key has expired. Sign in to Poe again to keep using it.",
		})
	}
}

func (s *Server) authService() *auth.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.auth
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
