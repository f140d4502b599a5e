package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"sync"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// Config holds what a Server needs from the process that runs it.
type Config struct {
	Version        string         // reported in serverInfo
	LogFile        string         // reported in the initialize result; "" is sent as null
	LogLevel       *slog.LevelVar // changed by initializationOptions.logLevel; may be nil
	Logger         *slog.Logger   // nil discards
	CredentialPath string         // the credential file, usually from auth.DefaultPath
	Getenv         func(string) string
	HTTPClient     *http.Client           // for every call to Poe; nil means the defaults of auth and provider
	OpenBrowser    func(url string) error // used when initializationOptions.openBrowser is true

	// Stream is the stream the connection runs on, or nil. When it is set,
	// chat/stream notifications are written to it directly, with the same
	// bytes but without jsonrpc2's encoding path, which a profile showed to
	// cost a third of the CPU time of a chat stream.
	Stream *Stream
}

// Server handles one editor session. Create it with NewServer and give it to
// jsonrpc2.NewConn as the handler.
//
// Handle runs on the connection's reading goroutine. Notifications and the
// lifecycle requests are handled there, in wire order. Requests that may wait
// on the network or the user run on their own goroutines, with a context that
// $/cancelRequest cancels, so a chat stream never blocks reading.
type Server struct {
	cfg    Config
	logger *slog.Logger

	ctx    context.Context // ends when the session ends
	cancel context.CancelFunc
	wg     sync.WaitGroup

	exited   chan struct{} // closed by the exit notification
	exitOnce sync.Once

	mu          sync.Mutex
	state       lifecycle
	didShutdown bool
	conn        *jsonrpc2.Conn
	inflight    map[jsonrpc2.ID]context.CancelFunc // async requests by id, for $/cancelRequest
	streams     map[string]*chatStream             // live chat streams by streamId
	auth        *auth.Service                      // set by initialize
	poe         *provider.Client                   // set by initialize
	models      modelCache
	stopWatch   func() // stops watching the editor process; nil when not watching
}

type lifecycle int

const (
	stateNew lifecycle = iota
	stateInitialized
	stateShutdown
)

// NewServer returns a Server for one session.
func NewServer(cfg Config) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:      cfg,
		logger:   logger,
		ctx:      ctx,
		cancel:   cancel,
		inflight: make(map[jsonrpc2.ID]context.CancelFunc),
		streams:  make(map[string]*chatStream),
		exited:   make(chan struct{}),
	}
}

// Exited is closed when the editor sends the exit notification.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// ExitCode is the status the process should exit with: 0 after shutdown, else 1.
func (s *Server) ExitCode() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.didShutdown {
		return 0
	}
	return 1
}

// Close cancels every request still running, ends sign-in attempts, closes
// callback servers, and waits for request goroutines to return.
func (s *Server) Close() error {
	s.cancel()
	s.mu.Lock()
	svc, stopWatch := s.auth, s.stopWatch
	s.mu.Unlock()
	if stopWatch != nil {
		stopWatch()
	}
	var err error
	if svc != nil {
		err = svc.Close()
	}
	s.wg.Wait()
	return err
}

// handlerFunc handles one request and returns its result or error.
type handlerFunc func(s *Server, ctx context.Context, req *jsonrpc2.Request) (any, error)

type method struct {
	handle handlerFunc
	async  bool // run on its own goroutine, because it may wait on the network or the user

	// prepare, when set, runs on the reading goroutine before an async request
	// starts, and returns the handler to run. Its effects (such as a stream id
	// registered for chat/cancel) are visible to every message read after the
	// request, however late the goroutine starts.
	prepare func(s *Server, ctx context.Context, req *jsonrpc2.Request) (handlerFunc, error)
}

var methods = map[string]method{
	"auth/methods":     {handle: (*Server).authMethods},
	"auth/authorize":   {handle: (*Server).authAuthorize, async: true},
	"auth/complete":    {handle: (*Server).authComplete, async: true},
	"auth/status":      {handle: (*Server).authStatus},
	"auth/signOut":     {handle: (*Server).authSignOut, async: true}, // waits for the file lock
	"provider/models":  {handle: (*Server).providerModels, async: true},
	"provider/balance": {handle: (*Server).providerBalance, async: true},
	"chat/send":        {prepare: (*Server).prepareChat, async: true},
	"chat/cancel":      {handle: (*Server).chatCancel},
}

// Handle implements jsonrpc2.Handler.
func (s *Server) Handle(_ context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()

	if req.Notif {
		s.handleNotification(req)
		return
	}

	switch req.Method {
	case "initialize":
		s.run(conn, req, (*Server).initialize)
		return
	case "shutdown":
		s.run(conn, req, (*Server).shutdown)
		return
	}

	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch state {
	case stateNew:
		s.replyError(conn, req, &Error{Code: CodeServerNotInitialized, Message: fmt.Sprintf("%s: the server is not initialized; send initialize first", req.Method)})
		return
	case stateShutdown:
		s.replyError(conn, req, &Error{Code: jsonrpc2.CodeInvalidRequest, Message: fmt.Sprintf("%s: the server is shutting down; only exit is accepted", req.Method)})
		return
	}

	m, ok := methods[req.Method]
	if !ok {
		s.replyError(conn, req, &Error{Code: jsonrpc2.CodeMethodNotFound, Message: fmt.Sprintf("method not found: %q", req.Method)})
		return
	}
	if !m.async {
		s.run(conn, req, m.handle)
		return
	}

	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if _, dup := s.inflight[req.ID]; dup {
		s.mu.Unlock()
		cancel()
		s.replyError(conn, req, &Error{Code: jsonrpc2.CodeInvalidRequest, Message: fmt.Sprintf("request id %s is already in use by a running request", req.ID)})
		return
	}
	s.inflight[req.ID] = cancel
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		delete(s.inflight, req.ID)
		s.mu.Unlock()
		cancel()
	}

	handle := m.handle
	if m.prepare != nil {
		h, err := m.prepare(s, ctx, req)
		if err != nil {
			done()
			s.replyError(conn, req, err)
			return
		}
		handle = h
	}

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer done()
		s.runContext(ctx, conn, req, handle)
	}()
}

func (s *Server) run(conn *jsonrpc2.Conn, req *jsonrpc2.Request, h handlerFunc) {
	s.runContext(s.ctx, conn, req, h)
}

// runContext calls h and sends its reply. A panic in h becomes an
// internal-error reply, so one bad request cannot end the session.
func (s *Server) runContext(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request, h handlerFunc) {
	defer func() {
		if p := recover(); p != nil {
			s.logger.Error("handler panicked", "method", req.Method, "id", req.ID.String(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			s.replyError(conn, req, &Error{Code: jsonrpc2.CodeInternalError, Message: fmt.Sprintf("internal error in %s; the sidecar logged the details", req.Method)})
		}
	}()

	s.logger.Debug("request", "method", req.Method, "id", req.ID.String())
	result, err := h(s, ctx, req)
	if err != nil {
		s.replyError(conn, req, err)
		return
	}
	if res, ok := result.(chatResult); ok && s.cfg.Stream != nil {
		// A chat result carries the whole text, so it skips jsonrpc2's copies.
		if err := s.cfg.Stream.writeResult(req.ID, res); err != nil {
			s.logger.Debug("reply not sent", "method", req.Method, "id", req.ID.String(), "error", err)
		}
		return
	}
	if err := conn.Reply(s.ctx, req.ID, result); err != nil {
		s.logger.Debug("reply not sent", "method", req.Method, "id", req.ID.String(), "error", err)
	}
}

func (s *Server) replyError(conn *jsonrpc2.Conn, req *jsonrpc2.Request, err error) {
	wire := toWireError(err)
	level := slog.LevelInfo
	if wire.Code == jsonrpc2.CodeInternalError {
		level = slog.LevelError
	}
	s.logger.Log(s.ctx, level, "request failed", "method", req.Method, "id", req.ID.String(), "code", wire.Code, "error", wire.Message)
	if err := conn.ReplyWithError(s.ctx, req.ID, wire); err != nil {
		s.logger.Debug("reply not sent", "method", req.Method, "id", req.ID.String(), "error", err)
	}
}

func (s *Server) handleNotification(req *jsonrpc2.Request) {
	switch req.Method {
	case "initialized":
		s.logger.Debug("client initialized")
	case "exit":
		s.exitOnce.Do(func() { close(s.exited) })
	case "$/cancelRequest":
		var p struct {
			ID *jsonrpc2.ID `json:"id"`
		}
		if req.Params == nil || json.Unmarshal(*req.Params, &p) != nil || p.ID == nil {
			s.logger.Warn("ignored $/cancelRequest without a valid id")
			return
		}
		s.mu.Lock()
		cancel, ok := s.inflight[*p.ID]
		s.mu.Unlock()
		if !ok {
			s.logger.Debug("ignored $/cancelRequest for a request that is not running", "id", p.ID.String())
			return
		}
		cancel()
	default:
		s.logger.Debug("ignored notification", "method", req.Method)
	}
}

// notify sends a notification to the editor. Failures mean the editor is gone
// and are only logged.
func (s *Server) notify(method string, params any) {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := conn.Notify(s.ctx, method, params); err != nil {
		s.logger.Debug("notification not sent", "method", method, "error", err)
	}
}

// notifyStream sends one chat/stream notification, on Config.Stream when it
// is set.
func (s *Server) notifyStream(event streamEvent) {
	if s.cfg.Stream == nil {
		s.notify("chat/stream", event)
		return
	}
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if err := s.cfg.Stream.writeNotification("chat/stream", event); err != nil {
		s.logger.Debug("notification not sent", "method", "chat/stream", "error", err)
	}
}

// decodeParams decodes req's params into v, and maps a type mismatch to a
// -32602 error that names the field.
func decodeParams(req *jsonrpc2.Request, v any) error {
	if req.Params == nil || string(*req.Params) == "null" {
		return json.Unmarshal([]byte("{}"), v)
	}
	err := json.Unmarshal(*req.Params, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return &Error{Code: jsonrpc2.CodeInvalidParams, Message: "invalid params: " + err.Error()}
	}
	if typeErr.Field == "" {
		return &Error{Code: jsonrpc2.CodeInvalidParams, Message: fmt.Sprintf("invalid params: params must be a JSON object, not %s", typeErr.Value)}
	}
	return invalidParams(typeErr.Field, "must be %s, not %s", jsonKind(typeErr.Type), typeErr.Value)
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
