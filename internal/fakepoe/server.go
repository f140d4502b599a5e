package fakepoe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultClientID is the OAuth client_id the server accepts when Options.ClientID is
// empty. It is the public client id that opencode uses with Poe.
const DefaultClientID = "client_728290227fc048cc9262091a1ea197ea"

const (
	// IssuedKeyBalance is the point balance of a key that /token issues.
	IssuedKeyBalance int64 = 1000

	// CodeLifetime is how long an authorization code stays valid after
	// /oauth/authorize issues it, measured on the Options.Now clock.
	CodeLifetime = 5 * time.Minute
)

const (
	// maxRequestBody is the maximum request body the server reads. Larger bodies get 413.
	maxRequestBody = 32 << 20

	// closedEarlyBuffer is the capacity of the StreamsClosedEarly channel.
	closedEarlyBuffer = 1024
)

// Options configures a Server. The zero value is ready to use.
type Options struct {
	// ClientID is the client_id that /oauth/authorize and /token accept.
	// Empty means DefaultClientID.
	ClientID string

	// KeyExpiresIn is the api_key_expires_in value, in seconds, of keys that /token
	// issues. Nil sends JSON null and the key never expires. Any other value is sent as
	// is, even a negative one, so tests can check that a client rejects it. Such a key
	// gets 401 from the API once that many seconds have passed on the Now clock, which
	// is at once for 0 or less.
	KeyExpiresIn *int64

	// Logger receives debug records of requests, of rejected requests and of streams
	// that the client closed early. Nil discards. Records contain no API keys,
	// authorization codes, PKCE verifiers or state values.
	Logger *slog.Logger

	// ChunkDelay is the pause before each streamed chat chunk after the first, or none if 0.
	ChunkDelay time.Duration

	// Now is the clock for code and key expiry and for created timestamps.
	// Nil means time.Now.
	Now func() time.Time
}

// Server is a running fake Poe. Its methods are safe for concurrent use.
type Server struct {
	clientID     string
	keyExpiresIn *int64
	logger       *slog.Logger
	chunkDelay   time.Duration
	now          func() time.Time

	url        string
	httpServer *http.Server
	baseCtx    context.Context
	cancelBase context.CancelFunc
	served     chan struct{}
	closeOnce  sync.Once

	// active counts running handlers. Add is called only under mu while closing is
	// false, so Close can Wait once it has set closing.
	active sync.WaitGroup

	closedEarly chan struct{}

	mu               sync.Mutex
	closing          bool
	fault            Fault
	keys             map[string]account
	issuedKeys       []string
	codes            map[string]grant
	requests         []Request
	closedEarlyCount int
	completionCount  int
}

// Request is one HTTP request the server received, recorded for assertions.
// Nothing is redacted.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// Start starts a fake Poe that listens on 127.0.0.1 on a port the system picks.
// Call Close when done.
func Start(opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1 for the fake Poe: %w", err)
	}

	s := &Server{
		clientID:    opts.ClientID,
		logger:      opts.Logger,
		chunkDelay:  opts.ChunkDelay,
		now:         opts.Now,
		url:         "http://" + ln.Addr().String(),
		served:      make(chan struct{}),
		closedEarly: make(chan struct{}, closedEarlyBuffer),
		keys:        make(map[string]account),
		codes:       make(map[string]grant),
	}
	if s.clientID == "" {
		s.clientID = DefaultClientID
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.KeyExpiresIn != nil {
		seconds := *opts.KeyExpiresIn
		s.keyExpiresIn = &seconds
	}

	// Every request context derives from baseCtx, so Close can end streams that
	// would otherwise wait for the client, such as the "stall" quirk.
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.httpServer = &http.Server{
		Handler:           s.record(s.routes()),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(s.served)
		err := s.httpServer.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("fake Poe stopped serving", "err", err)
		}
	}()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /token", s.handleToken)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /usage/current_balance", s.handleBalance)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	return mux
}

// Close stops the server, ends open streams and waits for every handler to return.
// It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()

		s.cancelBase()
		if err := s.httpServer.Close(); err != nil {
			s.logger.Warn("close fake Poe listener", "err", err)
		}
		<-s.served
		s.active.Wait()
	})
}

// URL returns the server's origin, "http://127.0.0.1:PORT". A client that checks the
// RFC 9207 iss parameter expects this value, because it is the authorize URL's origin.
func (s *Server) URL() string { return s.url }

// BaseURL returns the base of the OpenAI-compatible API, URL()+"/v1".
func (s *Server) BaseURL() string { return s.url + "/v1" }

// AuthorizeURL returns the OAuth authorization endpoint, URL()+"/oauth/authorize".
func (s *Server) AuthorizeURL() string { return s.url + "/oauth/authorize" }

// TokenURL returns the OAuth token endpoint, URL()+"/token".
func (s *Server) TokenURL() string { return s.url + "/token" }

// Requests returns a copy of every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()

	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// StreamsClosedEarly returns a channel that receives one value each time a chat
// client goes away before its stream has ended. A stream that the server cuts on
// purpose, or that Close ends, does not count. The channel is buffered, and values
// beyond its capacity of 1024 unread ones are dropped, but ClosedEarly counts them all.
func (s *Server) StreamsClosedEarly() <-chan struct{} { return s.closedEarly }

// ClosedEarly returns how many chat streams the client closed before they ended,
// counted as StreamsClosedEarly counts them.
func (s *Server) ClosedEarly() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedEarlyCount
}

func (s *Server) recordClosedEarly(id string) {
	s.mu.Lock()
	s.closedEarlyCount++
	s.mu.Unlock()

	s.logger.Debug("chat client closed the stream early", "id", id)
	select {
	case s.closedEarly <- struct{}{}:
	default:
	}
}

// record wraps next so that each request is counted for Close, has its body read
// into memory (bounded by maxRequestBody) and is appended to the request log.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			http.Error(w, "The fake Poe is shutting down.", http.StatusServiceUnavailable)
			return
		}
		s.active.Add(1)
		s.mu.Unlock()
		defer s.active.Done()

		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method:   r.Method,
			Path:     r.URL.Path,
			RawQuery: r.URL.RawQuery,
			Header:   r.Header.Clone(),
			Body:     bytes.Clone(body),
		})
		s.mu.Unlock()
		s.logger.Debug("fake Poe request", "method", r.Method, "path", r.URL.Path)

		if err != nil {
			s.logger.Warn("read request body", "method", r.Method, "path", r.URL.Path, "err", err)
			http.Error(w, "The request body could not be read.", http.StatusBadRequest)
			return
		}
		if len(body) > maxRequestBody {
			http.Error(w, "The request body is larger than 32 MiB.", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// nextCompletionID returns a new id for a chat completion, unique within this server.
func (s *Server) nextCompletionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	s.completionCount++
	return fmt.Sprintf("chatcmpl-fake-%d", s.completionCount)
}
