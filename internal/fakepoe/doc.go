// Package fakepoe runs a fake Poe on 127.0.0.1 for tests and for the demo command.
//
// Start returns a running Server. Point a client at its AuthorizeURL, TokenURL and
// BaseURL, and the client can sign in with the OAuth 2.0 authorization code flow with
// PKCE (RFC 6749 section 4.1, RFC 7636) or check a pasted key on
// /usage/current_balance. It can also list /v1/models without a key and stream
// /v1/chat/completions as server-sent events. SetFault switches on one of the
// failures or wire quirks that Poe may produce. Requests and StreamsClosedEarly let a
// test check what the client sent and when it hung up.
//
// The server writes nothing to stdout or stderr, because it logs only through
// Options.Logger. Chat replies are deterministic (see ReplyFor), but authorization
// codes and API keys are random.
//
// Files: server.go (lifecycle and request log), fault.go (switchable faults),
// authorize.go and token.go (OAuth), keys.go (API keys and the balance endpoint),
// models.go, chat.go, stream.go (SSE writer and quirks), reply.go (reply text),
// apierror.go (Poe's two error shapes).
package fakepoe
