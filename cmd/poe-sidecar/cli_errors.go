package main

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/poe-sidecar/poe-sidecar/auth"
	"github.com/poe-sidecar/poe-sidecar/provider"
)

// loginHint is the next step for every error whose fix is a new sign-in.
const loginHint = "Run 'poe-sidecar login' to sign in."

// describe returns the message for err as plain sentences, with the same reasons and
// next steps that the protocol gives editors plus the command to run, and the exit
// status that matches the protocol's error code.
func (c *cli) describe(err error) (string, int) {
	var hinted *hintError
	if errors.As(err, &hinted) {
		message, code := c.describe(hinted.err)
		return message + " " + hinted.hint, code
	}

	var (
		credErr   *auth.CredentialError
		signInErr *auth.SignInError
		paramErr  *auth.ParamError
		apiErr    *provider.Error
	)
	switch {
	case errors.As(err, &credErr):
		return describeCredential(credErr), exitAuthRequired

	case errors.As(err, &signInErr):
		return describeSignIn(signInErr), exitSignInFailed

	case errors.As(err, &paramErr):
		return sentence(paramErr.Error()), exitSignInFailed

	case errors.As(err, &apiErr):
		if apiErr.Reason == provider.ReasonUnauthorized {
			if c.envKeySet {
				return sentence(apiErr.Error()) + " The key comes from POE_API_KEY: set it to a valid key, or unset it to use the stored key.", exitAuthRequired
			}
			return sentence(apiErr.Error()) + " " + loginHint, exitAuthRequired
		}
		return sentence(apiErr.Error()), exitPoeAPI

	default:
		return sentence(err.Error()), exitFailure
	}
}

func describeCredential(e *auth.CredentialError) string {
	switch e.Reason {
	case auth.ReasonNotSignedIn:
		return "You are not signed in to Poe. " + loginHint
	case auth.ReasonExpired:
		return sentence(e.Error()) + " Run 'poe-sidecar login'."
	default:
		return sentence(e.Error()) + " " + loginHint
	}
}

func describeSignIn(e *auth.SignInError) string {
	message := sentence(e.Error())
	switch e.Reason {
	case auth.ReasonInvalidAPIKey:
		return message
	default:
		return message + " Run 'poe-sidecar login' to try again."
	}
}

// sentence turns an error message into a sentence: the first letter in upper case and
// a full stop at the end.
func sentence(message string) string {
	message = strings.TrimSpace(message)
	if message == "" {
		return "Unknown error."
	}
	first, size := utf8.DecodeRuneInString(message)
	message = string(unicode.ToUpper(first)) + message[size:]
	if !strings.HasSuffix(message, ".") && !strings.HasSuffix(message, "!") && !strings.HasSuffix(message, "?") {
		message += "."
	}
	return message
}

// hintError is err with a next step that only the command can give, such as pointing
// chat's users to the models command.
type hintError struct {
	err  error
	hint string // a sentence
}

func (e *hintError) Error() string { return e.err.Error() + ". " + e.hint }
func (e *hintError) Unwrap() error { return e.err }
