// Package rpc serves poe-sidecar's JSON-RPC protocol to one editor.
//
// Start with Server: it checks the lifecycle (initialize, shutdown, exit),
// dispatches requests to auth and provider, runs long requests on their own
// goroutines so that reading never blocks, and implements $/cancelRequest.
// Stream frames messages as the Language Server Protocol does and answers
// malformed bodies without ending the session. errors.go is the one place
// where Go errors become JSON-RPC errors.
package rpc
