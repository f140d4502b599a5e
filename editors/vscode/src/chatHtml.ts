// The chat webview's HTML page and its Content-Security-Policy.

import { randomBytes } from 'node:crypto';

/** Addresses and nonce the page needs; the view provider fills them in. */
export interface ChatPageInputs {
  /** webview.cspSource: the origin of the extension's files inside the webview. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  /** Random value that marks the one script allowed to run. */
  nonce: string;
}

/** Returns a fresh nonce: 128 random bits in base64. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * Returns the Content-Security-Policy of the page. Nothing loads by default;
 * the only script is the bundle with the nonce, styles come from the
 * extension's files, and images only from the extension and data addresses:
 * an image in an answer is rendered as a link, so no answer makes the page
 * fetch anything by itself. The page makes no network requests.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    "connect-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const SEND_ICON =
  '<svg viewBox="0 0 16 16" aria-hidden="true"><path fill="currentColor" d="M1.7 1.55a.5.5 0 0 1 .54-.07l12.5 6.1a.5.5 0 0 1 0 .9l-12.5 6.1a.5.5 0 0 1-.7-.57L2.98 8 1.54 1.99a.5.5 0 0 1 .16-.44ZM3.9 8.5l-1 4.2L12.86 8 2.9 3.3l1 4.2H8.5a.5.5 0 0 1 0 1H3.9Z"/></svg>';

const STOP_ICON = '<svg viewBox="0 0 16 16" aria-hidden="true"><rect x="3.5" y="3.5" width="9" height="9" rx="1.5" fill="currentColor"/></svg>';

const TRASH_ICON =
  '<svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.2" stroke-linecap="round" aria-hidden="true"><path d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4M6.75 6.5v4.5M9.25 6.5v4.5"/></svg>';

const CHEVRON_ICON =
  '<svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M4.5 6.5 8 10l3.5-3.5"/></svg>';

/** Returns the page. The script draws every dynamic part, so the page itself contains no user data. */
export function chatPage(inputs: ChatPageInputs): string {
  const csp = contentSecurityPolicy(inputs.cspSource, inputs.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(inputs.styleUri)}">
<title>Poe Chat</title>
</head>
<body>
<header class="toolbar">
  <select id="conversation" aria-label="Conversation" title="Conversations"></select>
  <button type="button" id="delete-conversation" class="icon-button" title="Delete this conversation" aria-label="Delete this conversation">${TRASH_ICON}</button>
</header>
<main id="messages" aria-live="polite" aria-label="Messages"></main>
<footer class="composer">
  <div id="signed-out" class="signed-out" hidden>
    <span>You are signed out of Poe.</span>
    <button type="button" id="signed-out-sign-in" class="secondary-button">Sign In</button>
  </div>
  <div class="input-box">
    <textarea id="input" rows="1" placeholder="Ask Poe (Enter to send, Shift+Enter for a new line)" aria-label="Message to Poe"></textarea>
    <div class="input-bar">
      <button type="button" id="model" class="model-button"><span id="model-name"></span>${CHEVRON_ICON}</button>
      <span class="spacer"></span>
      <button type="button" id="send" class="send-button" title="Send (Enter)" aria-label="Send">${SEND_ICON}</button>
      <button type="button" id="stop" class="stop-button" title="Stop (Escape)" aria-label="Stop the answer" hidden>${STOP_ICON}</button>
    </div>
  </div>
</footer>
<script nonce="${escapeAttribute(inputs.nonce)}" src="${escapeAttribute(inputs.scriptUri)}"></script>
</body>
</html>
`;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
