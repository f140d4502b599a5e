// Package auth signs the user in to Poe and keeps the API key that the sign-in produces.
//
// Start with [Service]. [Service.StartOAuth] and [Service.StartAPIKey] begin a sign-in
// attempt, [Service.Complete] finishes it, and [Service.APIKey] returns the key to send to
// Poe. The browser sign-in is the OAuth 2.0 authorization code flow with PKCE (RFC 6749,
// RFC 7636) through a loopback redirect to 127.0.0.1 (RFC 8252). Poe's token endpoint returns
// an API key instead of an access token, and there is no refresh token, so a key that
// expires means signing in again.
//
// [Store] keeps the key in a JSON file under the XDG data directory. It replaces the file
// atomically under an advisory lock, so several sidecars can share it. [Service] re-reads
// the file before each use and watches its folder, so a sign-in or sign-out in another
// process reaches every running sidecar.
//
// The package does not depend on JSON-RPC or on any editor. Callers map the typed errors
// ([CredentialError], [SignInError], [ParamError]) to their own protocol, and hand in the
// function that checks a pasted key against Poe ([KeyChecker]).
package auth
