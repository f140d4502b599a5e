// Checks of what the user types during sign-in: a pasted API key, and the
// address the browser was redirected to when it could not reach the sidecar's
// callback server.

/**
 * Shape of a Poe API key as the sidecar checks it: an optional "sk-poe-"
 * prefix, then at least 34 letters, digits, "-" or "_".
 */
const API_KEY_SHAPE = /^(?:sk-poe-)?[A-Za-z0-9_-]{34,}$/;

/** Returns why key cannot be a Poe API key, or undefined when its shape is right. */
export function apiKeyProblem(key: string): string | undefined {
  const trimmed = key.trim();
  if (trimmed === '') {
    return 'Paste the key that you created on Poe.';
  }
  if (/\s/.test(trimmed)) {
    return 'A Poe API key has no spaces; copy it again.';
  }
  if (!API_KEY_SHAPE.test(trimmed)) {
    return 'This is not a Poe API key: a key has at least 34 letters, digits, "-" or "_", after an optional "sk-poe-".';
  }
  return undefined;
}

/** PastedCallback is what auth/complete gets from a pasted address: the whole address or a bare code. */
export type PastedCallback = { callbackUrl: string } | { code: string };

/**
 * Reads the text the user pasted after the browser failed to load the
 * callback page. An address must carry a code or an error parameter, and the
 * sidecar checks the rest. Text without "://" and without spaces counts as a
 * bare authorization code. Returns a sentence for the user when it is neither.
 */
export function parsePastedCallback(text: string): PastedCallback | { problem: string } {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { problem: 'Paste the address from the browser’s address bar.' };
  }
  if (!trimmed.includes('://')) {
    if (/\s/.test(trimmed)) {
      return { problem: 'Paste the whole address, starting with http://127.0.0.1.' };
    }
    return { code: trimmed };
  }

  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { problem: 'This is not a valid address; copy the whole address from the browser.' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { problem: `The address must start with http://, not ${url.protocol}//.` };
  }
  if (!url.searchParams.has('code') && !url.searchParams.has('error')) {
    return { problem: 'This address has no "code" parameter. Copy the address the browser ended on after you approved the sign-in.' };
  }
  return { callbackUrl: trimmed };
}
