package auth

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// callbackPath is the redirect URI's path. Poe's docs exempt localhost redirect URIs from
// registration, and the clients known to work use http://127.0.0.1:<port>/callback.
// NOTE: whether Poe accepts other paths is unknown.
const callbackPath = "/callback"

// CallbackLimits bounds what the callback server reads and how long it keeps a connection,
// so that a client on this machine cannot hold the server open or fill its memory. Zero
// fields take the defaults named on them.
type CallbackLimits struct {
	// ReadHeaderTimeout is the time a client has to send a request's headers. 0: 10 s.
	ReadHeaderTimeout time.Duration

	// ReadTimeout is the time a client has to send a whole request. 0: 15 s.
	ReadTimeout time.Duration

	// WriteTimeout runs from the end of a request's headers to the end of the page. The
	// token exchange runs before the page is written, so it must exceed the HTTP client's
	// timeout. 0: 45 s.
	WriteTimeout time.Duration

	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	// 0: 15 s.
	IdleTimeout time.Duration

	// MaxHeaderBytes bounds the request line and headers. net/http allows 4 KiB more
	// before it replies 431 Request Header Fields Too Large. 0: 16 KiB.
	MaxHeaderBytes int
}

// withDefaults returns l with its zero fields set to the defaults.
func (l CallbackLimits) withDefaults() CallbackLimits {
	if l.ReadHeaderTimeout == 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.ReadTimeout == 0 {
		l.ReadTimeout = 15 * time.Second
	}
	if l.WriteTimeout == 0 {
		l.WriteTimeout = defaultHTTPTimeout + 15*time.Second
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = 15 * time.Second
	}
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = 16 << 10
	}
	return l
}

// check rejects negative limits, which net/http would read as "no limit".
func (l CallbackLimits) check() error {
	timeouts := []struct {
		name  string
		value time.Duration
	}{
		{"ReadHeaderTimeout", l.ReadHeaderTimeout},
		{"ReadTimeout", l.ReadTimeout},
		{"WriteTimeout", l.WriteTimeout},
		{"IdleTimeout", l.IdleTimeout},
	}
	for _, timeout := range timeouts {
		if timeout.value < 0 {
			return fmt.Errorf("new auth service: CallbackLimits.%s %v is negative", timeout.name, timeout.value)
		}
	}
	if l.MaxHeaderBytes < 0 {
		return fmt.Errorf("new auth service: CallbackLimits.MaxHeaderBytes %d is negative", l.MaxHeaderBytes)
	}
	return nil
}

// newCallbackServer returns the attempt's callback server with the Service's limits.
func (s *Service) newCallbackServer(a *attempt) *http.Server {
	return &http.Server{
		Handler:           s.callbackHandler(a),
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		ReadTimeout:       s.limits.ReadTimeout,
		WriteTimeout:      s.limits.WriteTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		MaxHeaderBytes:    s.limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// callbackHandler serves the attempt's loopback redirect (RFC 8252 section 7.3). Only
// GET /callback with the server's own Host reaches the attempt. Other requests get an
// error page and leave the attempt pending.
func (s *Service) callbackHandler(a *attempt) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())

		// A Host other than the loopback address means a DNS rebinding attempt or a
		// misdirected request.
		if !a.allowsHost(r.Host) {
			s.log.Info("callback request with a foreign Host header rejected", "attempt", a.id)
			writePage(w, http.StatusBadRequest, pageBadHost)
			return
		}
		// The path and method are not logged: a browser or proxy that escapes the "?" of the
		// redirect puts the code and state into the path.
		if r.URL.Path != callbackPath {
			s.log.Debug("callback request for another path rejected", "attempt", a.id)
			writePage(w, http.StatusNotFound, pageNotFound)
			return
		}
		if r.Method != http.MethodGet {
			s.log.Debug("callback request with another method rejected", "attempt", a.id)
			w.Header().Set("Allow", http.MethodGet)
			writePage(w, http.StatusMethodNotAllowed, pageMethodNotAllowed)
			return
		}

		err := s.acceptResponse(a, r.URL.Query())
		switch {
		case errors.Is(err, errNotPending):
			s.log.Info("second callback for the attempt rejected", "attempt", a.id)
			writePage(w, http.StatusConflict, pageAlreadyFinished)
			return
		case err != nil:
			writePage(w, http.StatusBadRequest, pageStateMismatch)
			return
		}

		select {
		case <-a.done:
		case <-r.Context().Done():
			return
		}
		// The server shuts down after this page, so the connection is not kept open.
		w.Header().Set("Connection", "close")
		status, page := outcomePage(a.err)
		writePage(w, status, page)
	})
}

// allowsHost reports whether host is the callback server's own address.
func (a *attempt) allowsHost(host string) bool {
	for _, allowed := range a.hosts {
		if strings.EqualFold(host, allowed) {
			return true
		}
	}
	return false
}

// pagePolicy is the Content-Security-Policy of every callback page. The page loads nothing
// but its inline style. base-uri, form-action and frame-ancestors do not fall back to
// default-src, so they are set one by one: no base URL, no form posts, no framing.
const pagePolicy = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// setPageHeaders sets the headers of every callback page: no caching (the address holds
// the code), no referrer, no scripts and no framing.
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pagePolicy)
	h.Set("X-Frame-Options", "DENY")
}

// page is the text of a callback page. html/template escapes every field.
type page struct {
	Title   string
	Message string
	Detail  string // error text shown in a box, may come from Poe's error_description
	Next    string // next step for the user
}

const returnToEditor = "You can close this tab and return to your editor."

var (
	pageBadHost = page{
		Title:   "Bad request",
		Message: "This address is only for the poe-sidecar sign-in on this computer.",
		Next:    "Open the sign-in link from your editor again.",
	}
	pageNotFound = page{
		Title:   "Not found",
		Message: "poe-sidecar serves only the sign-in callback at " + callbackPath + ".",
		Next:    returnToEditor,
	}
	pageMethodNotAllowed = page{
		Title:   "Method not allowed",
		Message: "The sign-in callback accepts only GET requests.",
		Next:    returnToEditor,
	}
	pageAlreadyFinished = page{
		Title:   "Sign-in already finished",
		Message: "poe-sidecar already received the response for this sign-in, so it ignored this one.",
		Next:    "Check the other tab or your editor for the result. " + returnToEditor,
	}
	pageStateMismatch = page{
		Title:   "Sign-in response not recognized",
		Message: "This response does not belong to the sign-in that poe-sidecar is waiting for, so it was ignored.",
		Next:    "Use the link from the latest sign-in in your editor, or start the sign-in again.",
	}
)

// outcomePage returns the status and page for an attempt's outcome.
func outcomePage(err error) (int, page) {
	if err == nil {
		return http.StatusOK, page{
			Title:   "Signed in to Poe",
			Message: "poe-sidecar stored your Poe API key.",
			Next:    returnToEditor,
		}
	}

	failed := page{
		Title:   "Sign-in failed",
		Message: "poe-sidecar could not finish signing in to Poe.",
		Detail:  err.Error(),
		Next:    "Return to your editor and start the sign-in again.",
	}
	var signInErr *SignInError
	if !errors.As(err, &signInErr) {
		return http.StatusInternalServerError, failed
	}
	switch {
	case signInErr.Reason == ReasonAccessDenied && (signInErr.OAuthError == "access_denied" || signInErr.OAuthError == ""):
		failed.Title = "Sign-in cancelled"
		failed.Message = "Poe did not grant access, so poe-sidecar is not signed in."
		return http.StatusBadRequest, failed
	case signInErr.Reason == ReasonExchangeFailed:
		return http.StatusBadGateway, failed
	default:
		return http.StatusBadRequest, failed
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - poe-sidecar</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; line-height: 1.5; }
pre { white-space: pre-wrap; background: #f3f3f3; padding: 0.5rem; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Detail}}<pre>{{.Detail}}</pre>
{{end}}<p>{{.Next}}</p>
</body>
</html>
`))

// writePage renders p with status. The headers come from setPageHeaders.
func writePage(w http.ResponseWriter, status int, p page) {
	var body bytes.Buffer
	if err := pageTemplate.Execute(&body, p); err != nil {
		// The template and its fields are fixed, so this happens only after a bad edit.
		http.Error(w, "poe-sidecar could not render this page.", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	w.Write(body.Bytes())
}
