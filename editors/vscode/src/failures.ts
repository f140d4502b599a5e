// Sorting of failed requests by what the extension shows: nothing for a cancellation,
// the sidecar's own sentence for an expected failure (a declined sign-in, a
// rejected key, a Poe API error), and a sentence with a pointer to the logs for
// anything else.

import { ErrorCode, type ErrorData } from './protocol';

/**
 * JSON-RPC codes that vscode-jsonrpc 10 gives a request it could not finish
 * because the connection to the sidecar broke or was closed.
 */
const CONNECTION_CODES = new Set([
  -32099, // MessageWriteError
  -32098, // MessageReadError
  -32097, // PendingResponseRejected: the connection closed with the request pending
  -32096, // ConnectionInactive: the client is stopped or failed to start
]);

/** Kind of a failure, which decides how it is shown. */
export type FailureKind =
  /** The user or the extension cancelled the request: show nothing. */
  | 'cancelled'
  /** A failure the user can act on; its message is a sentence for the user. */
  | 'expected'
  /** The sidecar went away or a bug showed up: show the message and offer the logs. */
  | 'unexpected';

/** Failure is what the extension shows for one failed request. */
export interface Failure {
  kind: FailureKind;
  message: string;
  /** Sidecar's data.reason, such as "access_denied", when it sent one. */
  reason?: string;
  /** Whether signing in again is the fix, so the message offers "Sign In". */
  signIn: boolean;
}

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

/**
 * Classifies error, the rejection of a request to the sidecar. action names
 * what failed, as in "Sign-in", and starts the message of unexpected failures.
 */
export function describeFailure(error: unknown, action: string): Failure {
  const e: ErrorLike = typeof error === 'object' && error !== null ? (error as ErrorLike) : {};
  const code = typeof e.code === 'number' ? e.code : undefined;
  const text = typeof e.message === 'string' && e.message !== '' ? e.message : String(error);
  const data = isErrorData(e.data) ? e.data : undefined;

  if (code === ErrorCode.requestCancelled) {
    return { kind: 'cancelled', message: `${action} was cancelled.`, signIn: false };
  }
  if (code === ErrorCode.authRequired || code === ErrorCode.signInFailed || code === ErrorCode.poeApi) {
    return {
      kind: 'expected',
      message: text,
      reason: data?.reason,
      signIn: code === ErrorCode.authRequired || data?.action === 'signIn',
    };
  }
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return {
      kind: 'unexpected',
      message: `${action} failed because the Poe sidecar stopped. Run "Poe: Restart Sidecar", and see "Poe: Show Logs" if it happens again.`,
      signIn: false,
    };
  }
  if (code === -32601) {
    return {
      kind: 'unexpected',
      message: `${action} failed: this poe-sidecar does not know the method (${text}). Update poe-sidecar or the extension so that their versions match.`,
      signIn: false,
    };
  }
  return { kind: 'unexpected', message: `${action} failed: ${text}`, signIn: false };
}

function isErrorData(value: unknown): value is ErrorData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
