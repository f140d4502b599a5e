// Types and names of the poe-sidecar wire protocol, version 1, as docs/protocol.md
// at the repository root describes it. Only the fields this extension reads are
// typed; the sidecar may add optional fields, which the extension ignores.

/** Method names of the requests and notifications the extension uses. */
export const Method = {
  authMethods: 'auth/methods',
  authAuthorize: 'auth/authorize',
  authComplete: 'auth/complete',
  authStatus: 'auth/status',
  authSignOut: 'auth/signOut',
  authDidChange: 'auth/didChange',
  providerModels: 'provider/models',
  providerBalance: 'provider/balance',
  chatSend: 'chat/send',
  chatStream: 'chat/stream',
  chatCancel: 'chat/cancel',
} as const;

/** Protocol version this extension speaks. */
export const PROTOCOL_VERSION = 1;

/** JSON-RPC error codes that the sidecar returns. */
export const ErrorCode = {
  requestCancelled: -32800,
  serverNotInitialized: -32002,
  invalidParams: -32602,
  authRequired: 1001,
  signInFailed: 1010,
  poeApi: 1020,
} as const;

export type SignInMethodId = 'oauth' | 'apiKey';

/** One entry of the auth/methods result. */
export interface SignInMethod {
  id: SignInMethodId;
  type: SignInMethodId;
  label: string;
}

export interface AuthMethodsResult {
  methods: SignInMethod[];
}

/** Result of auth/authorize. url is the page to open: Poe's consent screen or its API key page. */
export interface AuthorizeResult {
  attemptId: string;
  method: SignInMethodId;
  mode: 'auto' | 'prompt';
  url: string;
  redirectUri?: string;
  instructions?: string;
  attemptExpiresAt?: string;
}

/** Parameters of auth/complete: at most one of apiKey, callbackUrl and code. */
export interface CompleteParams {
  attemptId: string;
  apiKey?: string;
  callbackUrl?: string;
  code?: string;
}

export interface CompleteResult {
  signedIn: boolean;
  method: SignInMethodId;
  expiresAt: string | null;
}

/** Shape of auth/status, auth/signOut and auth/didChange. */
export interface AuthState {
  signedIn: boolean;
  method?: SignInMethodId;
  source?: 'file' | 'env';
  expiresAt: string | null;
  expired: boolean;
  problem?: { reason: string; message: string; path?: string };
}

/** One model of provider/models. Every field but id is optional. */
export interface Model {
  id: string;
  name?: string;
  ownedBy?: string;
  description?: string;
  contextWindow?: number;
  maxOutputTokens?: number;
  inputModalities?: string[];
  outputModalities?: string[];
}

export interface ModelsResult {
  models: Model[];
}

/** Result of provider/balance. points is null when Poe reports no number. */
export interface BalanceResult {
  points: number | null;
  email?: string;
}

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

export interface ChatSendParams {
  streamId: string;
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
}

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

export interface ChatSendResult {
  streamId: string;
  text: string;
  finishReason: string;
  usage?: Usage;
}

/** The error object of a failed request, and of a chat/stream that ended in an error. */
export interface WireError {
  code: number;
  message: string;
  data?: ErrorData;
}

/** The data member of the sidecar's application errors (codes 1001, 1010 and 1020). */
export interface ErrorData {
  reason?: string;
  action?: string;
  status?: number;
  type?: string;
  message?: string;
  retryAfter?: number;
  expiresAt?: string;
  path?: string;
}

/**
 * One chat/stream notification: a piece of text (delta), or the final one of the
 * stream (done), which carries finishReason or error.
 */
export interface StreamEvent {
  streamId: string;
  seq: number;
  delta?: string;
  done?: boolean;
  finishReason?: string;
  usage?: Usage;
  error?: WireError;
}

/** Options the extension sends in initializationOptions. */
export interface InitializationOptions {
  openBrowser: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** The part of the initialize result that names the protocol version. */
export interface PoeCapabilities {
  protocolVersion?: number;
  logFile?: string | null;
}
