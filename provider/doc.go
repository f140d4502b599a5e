// Package provider talks to Poe's OpenAI-compatible HTTP API: it lists models, reads the
// point balance and streams chat completions.
//
// Start with [Client]. Every failure of a Poe call is an [*Error] whose [Reason]
// classifies the failure. The exception is a cancelled or expired caller context, which
// makes a call return the context's error. The package knows nothing of editors or of how API keys are
// stored: callers pass the key to each call as a string, and the package never logs it or
// puts it in an error.
//
// The streaming body is read by a small server-sent events reader (sse.go) that follows the
// WHATWG HTML "Server-sent events" parsing rules, with a size cap per event: the data of
// one event may take up to 32 MiB, so the text of a 20 MiB data line is passed to the
// caller whole, as one piece. A longer event ends the stream with ReasonMalformed,
// and so does a line longer than the cap plus 1 KiB, as soon as that many bytes have
// arrived without its end, so memory stays bounded.
//
// A failed request is sent once more only when it could not connect or Poe answered 429,
// 500, 502, 503 or 529, and never after any text reached the caller (retry.go).
package provider
