// Removal of secrets from the protocol trace, whose lines contain request
// parameters: the pasted API key of auth/complete, an authorization code, and
// the OAuth state in authorize and callback addresses.

/** Text that replaces a secret. */
export const REDACTED = '<redacted>';

/** A JSON member "apiKey" or "code" with a string value, in compact or indented JSON. */
const SECRET_MEMBER = /("(?:apiKey|code)"\s*:\s*)"(?:[^"\\]|\\.)*"/g;

/** The value of a code, state or code_verifier query parameter in a URL. */
const SECRET_QUERY = /([?&](?:code|state|code_verifier)=)[^&#"\s\\]*/g;

/** A string of the shape of a Poe API key anywhere, such as one pasted into a chat message. */
const POE_KEY = /sk-poe-[A-Za-z0-9_-]{16,}/g;

/** Returns text with every API key, authorization code and OAuth state replaced by REDACTED. */
export function redactSecrets(text: string): string {
  return text
    .replace(SECRET_MEMBER, `$1"${REDACTED}"`)
    .replace(SECRET_QUERY, `$1${REDACTED}`)
    .replace(POE_KEY, REDACTED);
}
