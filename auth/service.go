package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Defaults that Config falls back to.
const (
	// DefaultClientID is the public OAuth client id that opencode uses with Poe. Poe's
	// consent screen shows that client's name until this project registers its own client.
	DefaultClientID = "client_728290227fc048cc9262091a1ea197ea"

	DefaultAuthorizeURL   = "https://poe.com/oauth/authorize"
	DefaultTokenURL       = "https://api.poe.com/token"
	DefaultListenAddr     = "127.0.0.1:0"
	DefaultAttemptTimeout = 5 * time.Minute

	// APIKeyPageURL is the Poe page where users create and copy API keys.
	APIKeyPageURL = "https://poe.com/api_key"

	defaultHTTPTimeout = 30 * time.Second
)

// KeyChecker checks an API key against Poe (the caller wires it to the balance endpoint).
// It returns an error wrapping ErrKeyRejected when Poe rejected the key (401 or 403), or
// any other error for a 5xx or network failure, which Complete passes on unchanged.
type KeyChecker func(ctx context.Context, apiKey string) error

// Config configures a Service. Zero fields take the defaults named on them.
type Config struct {
	ClientID     string // "": DefaultClientID
	AuthorizeURL string // "": DefaultAuthorizeURL
	TokenURL     string // "": DefaultTokenURL
	Store        *Store // required

	// EnvKey is the value of POE_API_KEY, "" when it is unset. It wins over the file.
	EnvKey string

	// CheckKey is required for API key sign-in.
	CheckKey KeyChecker

	HTTPClient *http.Client     // token exchange; nil: a client with a 30 s timeout that follows no redirects
	Now        func() time.Time // nil: time.Now

	// OpenBrowser opens the authorize URL. StartOAuth calls it and only logs its error, so
	// it should return once the browser is launched. nil: the caller opens the URL.
	OpenBrowser func(url string) error

	ListenAddr     string         // callback server address, a loopback host; "": DefaultListenAddr
	AttemptTimeout time.Duration  // lifetime of a browser sign-in attempt; 0: DefaultAttemptTimeout
	CallbackLimits CallbackLimits // timeouts and header limit of the callback server

	// OnChange receives the new State after each sign-in and sign-out, when the key expires
	// and when another process changes the credential file. Calls come one at a time from a
	// goroutine of the Service and never while it holds a lock, so OnChange may call the
	// Service, except Close, which waits for OnChange to return.
	OnChange func(State)

	Logger *slog.Logger // nil: discard
}

// State is the sign-in state that auth/status reports.
type State struct {
	SignedIn bool   // a usable key exists: false when the file's key has expired
	Method   string // MethodOAuth or MethodAPIKey from the file, "" for the environment
	Source   string // SourceFile or SourceEnv, "" when there is no key

	// ExpiresAt and Expired describe the file's key, also when it has expired.
	// ExpiresAt is nil for a key that never expires.
	ExpiresAt *time.Time
	Expired   bool

	Problem *Problem // an unusable credential file, also reported when EnvKey wins
}

// Problem is an unusable credential file.
type Problem struct {
	Reason  string // ReasonCorruptCredentials
	Message string
	Path    string
}

// equal reports whether two states would read the same to a client.
func (s State) equal(o State) bool {
	if s.SignedIn != o.SignedIn || s.Method != o.Method || s.Source != o.Source || s.Expired != o.Expired {
		return false
	}
	if (s.ExpiresAt == nil) != (o.ExpiresAt == nil) || (s.ExpiresAt != nil && !s.ExpiresAt.Equal(*o.ExpiresAt)) {
		return false
	}
	if (s.Problem == nil) != (o.Problem == nil) || (s.Problem != nil && *s.Problem != *o.Problem) {
		return false
	}
	return true
}

// Service signs the user in and hands out the stored API key. Its methods are safe for
// concurrent use.
type Service struct {
	cfg         Config
	store       *Store
	log         *slog.Logger
	now         func() time.Time
	httpClient  *http.Client
	clientID    string
	authorize   string // authorize endpoint URL
	issuer      string // origin of the authorize URL, the expected RFC 9207 "iss"
	tokenURL    string
	listenAddr  string
	timeout     time.Duration
	limits      CallbackLimits
	ctx         context.Context // ends at Close; bounds token exchanges
	cancel      context.CancelFunc
	wake        chan struct{} // wakes the notifier, buffered 1
	stop        chan struct{} // closed by Close
	closeOnce   sync.Once
	backgrounds sync.WaitGroup // goroutines that Close waits for

	mu           sync.Mutex
	closed       bool
	started      bool
	file         fileSnapshot
	lastNotified State
	forceNotify  bool
	notifying    bool // the notifier goroutine runs
	expiry       *time.Timer
	expiryAt     time.Time
	watcher      *fsnotify.Watcher
	debounce     *time.Timer
	attempts     map[string]*attempt
	endedIDs     []string // ended attempts still in attempts, oldest first
}

// NewService checks cfg, fills in the defaults and reads the credential file once.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Store.Path == "" {
		return nil, errors.New("new auth service: Config.Store with a Path is required")
	}
	if cfg.AttemptTimeout < 0 {
		return nil, fmt.Errorf("new auth service: AttemptTimeout %v is negative", cfg.AttemptTimeout)
	}
	if err := cfg.CallbackLimits.check(); err != nil {
		return nil, err
	}

	s := &Service{
		cfg:        cfg,
		store:      cfg.Store,
		log:        cfg.Logger,
		now:        cfg.Now,
		httpClient: cfg.HTTPClient,
		clientID:   cmpOr(cfg.ClientID, DefaultClientID),
		authorize:  cmpOr(cfg.AuthorizeURL, DefaultAuthorizeURL),
		tokenURL:   cmpOr(cfg.TokenURL, DefaultTokenURL),
		listenAddr: cmpOr(cfg.ListenAddr, DefaultListenAddr),
		timeout:    cfg.AttemptTimeout,
		limits:     cfg.CallbackLimits.withDefaults(),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		attempts:   make(map[string]*attempt),
	}
	if s.log == nil {
		s.log = discardLogger
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{
			Timeout: defaultHTTPTimeout,
			// A redirect of the token request would resend the code elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if s.timeout == 0 {
		s.timeout = DefaultAttemptTimeout
	}

	authorizeURL, err := parseEndpoint("AuthorizeURL", s.authorize)
	if err != nil {
		return nil, err
	}
	s.issuer = (&url.URL{Scheme: authorizeURL.Scheme, Host: authorizeURL.Host}).String()
	if _, err := parseEndpoint("TokenURL", s.tokenURL); err != nil {
		return nil, err
	}
	if err := checkLoopbackAddr(s.listenAddr); err != nil {
		return nil, err
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.lastNotified = s.stateFrom(s.refresh(false))
	return s, nil
}

func cmpOr(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

// parseEndpoint checks that raw is an absolute http or https URL.
func parseEndpoint(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("new auth service: %s %q is not a URL: %w", field, raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("new auth service: %s %q is not an absolute http or https URL", field, raw)
	}
	return u, nil
}

// checkLoopbackAddr rejects a listen address that other hosts could reach. RFC 8252
// section 8.3 recommends listening on the loopback interface only.
func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("new auth service: ListenAddr %q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("new auth service: ListenAddr %q is not a loopback address such as 127.0.0.1:0", addr)
	}
	return nil
}

// Start creates the credential folder if needed, starts watching it and arms the expiry
// timer. It returns ctx.Err() if ctx is already done; ctx does not bound the watching,
// which lasts until Close. A Service works without Start, but then it notices changes by
// other processes only when it reads the file.
func (s *Service) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.started:
		s.mu.Unlock()
		return errors.New("start auth service: already started")
	}
	s.started = true
	s.armExpiryLocked()
	s.mu.Unlock()

	// Catch changes made between NewService and Start.
	s.refresh(true)

	if err := s.startWatching(); err != nil {
		return fmt.Errorf("start auth service: %w; changes made by other processes are noticed only when the key is next used", err)
	}
	return nil
}

// Close ends every attempt, closes the callback servers and the watcher and waits for
// the Service's goroutines. It is idempotent and always returns nil.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		var pending []*attempt
		for _, a := range s.attempts {
			if !a.ended {
				pending = append(pending, a)
			}
		}
		watcher := s.watcher
		for _, t := range []*time.Timer{s.expiry, s.debounce} {
			if t != nil {
				t.Stop()
			}
		}
		s.mu.Unlock()

		s.cancel()
		for _, a := range pending {
			s.finish(a, Result{}, &SignInError{Reason: ReasonUnknownAttempt, Err: ErrClosed})
		}
		if watcher != nil {
			if err := watcher.Close(); err != nil {
				s.log.Warn("cannot close credential folder watcher", "error", err)
			}
		}
		close(s.stop)
		s.backgrounds.Wait()
		s.log.Debug("auth service closed")
	})
	return nil
}

// Status returns the current sign-in state. It stats the credential file and parses it
// again only when the file changed.
func (s *Service) Status() State {
	return s.stateFrom(s.refresh(true))
}

// APIKey returns the key to use now: EnvKey when set, else the file's key. The error is a
// *CredentialError when there is no usable key.
func (s *Service) APIKey() (string, error) {
	if s.cfg.EnvKey != "" {
		return s.cfg.EnvKey, nil
	}

	snap := s.refresh(true)
	var corrupt *CorruptError
	switch {
	case errors.As(snap.err, &corrupt):
		return "", &CredentialError{Reason: ReasonCorruptCredentials, Path: corrupt.Path, Err: corrupt}
	case snap.cred == nil:
		return "", &CredentialError{Reason: ReasonNotSignedIn}
	case snap.cred.expired(s.now()):
		return "", &CredentialError{Reason: ReasonExpired, ExpiresAt: *snap.cred.ExpiresAt}
	}
	return snap.cred.APIKey, nil
}

// SignOut removes the stored key and returns the state that remains, which is still
// signed in through the environment when EnvKey is set. A corrupt file is moved aside
// instead of being deleted. Poe documents no revocation endpoint, so the key stays valid
// at Poe until the user deletes it at https://poe.com/api/keys.
func (s *Service) SignOut() (State, error) {
	if err := s.store.Delete(); err != nil {
		return State{}, fmt.Errorf("sign out: %w", err)
	}
	state := s.stateFrom(s.refresh(false))
	s.poke(true)
	s.log.Info("signed out")
	return state, nil
}
