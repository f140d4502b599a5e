package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/internal/setup"
)

// ProtocolVersion is the version of the wire protocol this server speaks.
const ProtocolVersion = 1

// DefaultBaseURL is Poe's OpenAI-compatible API.
const DefaultBaseURL = setup.DefaultBaseURL

type initializeParams struct {
	ProcessID             *int              `json:"processId"`
	InitializationOptions initializeOptions `json:"initializationOptions"`
}

// UnmarshalJSON accepts an empty array as initializationOptions, since
// Neovim encodes an empty Lua table as [] and users pass init_options = {}.
func (o *initializeOptions) UnmarshalJSON(b []byte) error {
	if string(bytes.Join(bytes.Fields(b), nil)) == "[]" {
		*o = initializeOptions{}
		return nil
	}
	type plain initializeOptions
	return json.Unmarshal(b, (*plain)(o))
}

type initializeOptions struct {
	BaseURL                  *string  `json:"baseUrl"`
	OpenBrowser              *bool    `json:"openBrowser"`
	LogLevel                 *string  `json:"logLevel"`
	SignInTimeoutSeconds     *float64 `json:"signInTimeoutSeconds"`
	StreamIdleTimeoutSeconds *float64 `json:"streamIdleTimeoutSeconds"`
}

type initializeResult struct {
	Capabilities struct {
		Experimental struct {
			Poe struct {
				ProtocolVersion int     `json:"protocolVersion"`
				LogFile         *string `json:"logFile"`
			} `json:"poe"`
		} `json:"experimental"`
	} `json:"capabilities"`
	ServerInfo struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"serverInfo"`
}

func (s *Server) initialize(_ context.Context, req *jsonrpc2.Request) (any, error) {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	if state != stateNew {
		return nil, &Error{Code: jsonrpc2.CodeInvalidRequest, Message: "initialize: the server is already initialized"}
	}

	var p initializeParams
	if err := decodeParams(req, &p); err != nil {
		return nil, err
	}
	opts := p.InitializationOptions

	if opts.LogLevel != nil {
		var level slog.Level
		if err := level.UnmarshalText([]byte(*opts.LogLevel)); err != nil {
			return nil, invalidParams("initializationOptions.logLevel", "must be one of debug, info, warn or error, not %q", *opts.LogLevel)
		}
		if s.cfg.LogLevel != nil {
			s.cfg.LogLevel.Set(level)
		}
	}
	signInTimeout, err := seconds("initializationOptions.signInTimeoutSeconds", opts.SignInTimeoutSeconds, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	idleTimeout, err := seconds("initializationOptions.streamIdleTimeoutSeconds", opts.StreamIdleTimeoutSeconds, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	env := setup.ReadEnv(s.cfg.Getenv)
	baseURL, err := chooseBaseURL(opts.BaseURL, env)
	if err != nil {
		return nil, err
	}

	poe := setup.NewProvider(setup.ProviderOptions{
		BaseURL:     baseURL,
		HTTPClient:  s.cfg.HTTPClient,
		IdleTimeout: idleTimeout,
		UserAgent:   "poe-sidecar/" + s.cfg.Version,
		Logger:      s.logger.With("component", "provider"),
	})
	authCfg := env.AuthConfig(s.cfg.CredentialPath, poe)
	authCfg.HTTPClient = s.cfg.HTTPClient
	if opts.OpenBrowser != nil && *opts.OpenBrowser {
		authCfg.OpenBrowser = s.cfg.OpenBrowser
	}
	authCfg.AttemptTimeout = signInTimeout
	authCfg.OnChange = s.authChanged
	authCfg.Logger = s.logger.With("component", "auth")
	authCfg.Store.Logger = authCfg.Logger
	svc, err := auth.NewService(authCfg)
	if err != nil {
		return nil, fmt.Errorf("set up sign-in: %w", err)
	}
	if err := svc.Start(s.ctx); err != nil {
		// Without the watcher the key file is still read before each use, and
		// auth/status reports why it cannot be used, so the session goes on.
		s.logger.Warn("cannot watch the credential folder; changes by other processes show up only when the key is next used", "error", err)
	}

	s.mu.Lock()
	s.state = stateInitialized
	s.auth = svc
	s.poe = poe
	s.mu.Unlock()
	s.logger.Info("initialized", "baseUrl", redactURL(baseURL), "processId", p.ProcessID)
	if p.ProcessID != nil && *p.ProcessID > 0 {
		s.watchEditor(*p.ProcessID)
	}

	var res initializeResult
	res.Capabilities.Experimental.Poe.ProtocolVersion = ProtocolVersion
	if s.cfg.LogFile != "" {
		res.Capabilities.Experimental.Poe.LogFile = &s.cfg.LogFile
	}
	res.ServerInfo.Name = "poe-sidecar"
	res.ServerInfo.Version = s.cfg.Version
	return res, nil
}

func (s *Server) shutdown(context.Context, *jsonrpc2.Request) (any, error) {
	s.mu.Lock()
	switch s.state {
	case stateNew:
		s.mu.Unlock()
		return nil, &Error{Code: CodeServerNotInitialized, Message: "shutdown: the server is not initialized"}
	case stateShutdown:
		s.mu.Unlock()
		return nil, &Error{Code: jsonrpc2.CodeInvalidRequest, Message: "shutdown: the server is already shutting down; send exit"}
	}
	s.state = stateShutdown
	s.didShutdown = true
	streams := make([]*chatStream, 0, len(s.streams))
	for _, st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()

	for _, st := range streams {
		st.stop(errStoppedByUser)
	}
	// Closing the service ends pending sign-in attempts and their callback
	// servers, so no browser can sign in after shutdown.
	if svc := s.authService(); svc != nil {
		if err := svc.Close(); err != nil {
			s.logger.Warn("closing sign-in failed", "error", err)
		}
	}
	s.logger.Info("shutdown requested")
	return nil, nil
}

// chooseBaseURL chooses Poe's API base URL: initializationOptions.baseUrl, then
// POE_BASE_URL, then DefaultBaseURL.
func chooseBaseURL(fromOptions *string, env setup.Env) (string, error) {
	field, raw := "initializationOptions.baseUrl", ""
	switch {
	case fromOptions != nil:
		raw = *fromOptions
	case env.BaseURL != "":
		field, raw = setup.VarBaseURL, env.BaseURL
	default:
		return DefaultBaseURL, nil
	}
	if err := setup.CheckBaseURL(field, raw); err != nil {
		return "", invalidParams(field, "must be an absolute http or https URL such as %q, not %q", DefaultBaseURL, raw)
	}
	return raw, nil
}

func seconds(field string, v *float64, def time.Duration) (time.Duration, error) {
	if v == nil {
		return def, nil
	}
	if *v <= 0 || *v > 7*24*3600 {
		return 0, invalidParams(field, "must be a number of seconds above 0 and at most a week, not %v", *v)
	}
	return time.Duration(*v * float64(time.Second)), nil
}

// redactURL hides a password in u, for logging.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return parsed.Redacted()
}

// watchEditor ends the session when the editor process exits, as the LSP
// asks of a server whose parent is gone, so a crashed editor leaves no
// sidecar behind.
func (s *Server) watchEditor(pid int) {
	stop, err := watchParent(pid, func() {
		s.logger.Warn("the editor process exited; stopping", "processId", pid)
		s.exitOnce.Do(func() { close(s.exited) })
	})
	if err != nil {
		// In another PID namespace (a container, a remote host) the editor's
		// id may mean nothing here; stdin closing still ends the session.
		s.logger.Warn("cannot watch the editor process", "processId", pid, "error", err)
		return
	}
	s.mu.Lock()
	s.stopWatch = stop
	s.mu.Unlock()
}
