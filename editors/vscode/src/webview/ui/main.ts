// Script of the chat webview. It draws the state the extension sends, renders
// streamed text as it arrives, and turns clicks and key presses into messages
// for the extension. It keeps no conversation data of its own beyond the draft
// in the message box.

import type { Conversation, FromWebview, StoredMessage, ToWebview, ViewState } from '../../chatProtocol';
import { renderMarkdown } from '../markdown';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

const PERSON_ICON =
  '<svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.3" aria-hidden="true"><circle cx="8" cy="5.5" r="2.75"/><path d="M2.75 14c.6-2.9 2.7-4.5 5.25-4.5s4.65 1.6 5.25 4.5"/></svg>';

/** Distance in pixels from the bottom within which the list keeps following new text. */
const FOLLOW_THRESHOLD = 48;

const elements = {
  conversation: byId<HTMLSelectElement>('conversation'),
  deleteConversation: byId<HTMLButtonElement>('delete-conversation'),
  messages: byId<HTMLElement>('messages'),
  input: byId<HTMLTextAreaElement>('input'),
  send: byId<HTMLButtonElement>('send'),
  stop: byId<HTMLButtonElement>('stop'),
  model: byId<HTMLButtonElement>('model'),
  modelName: byId<HTMLElement>('model-name'),
  signedOut: byId<HTMLElement>('signed-out'),
};

let state: ViewState | undefined;

/** Text of streaming messages by id, redrawn at most once per animation frame. */
const pendingText = new Map<string, string>();
let frameRequested = false;

function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) {
    throw new Error(`the chat view has no element with id "${id}"`);
  }
  return element as T;
}

function post(message: FromWebview): void {
  vscode.postMessage(message);
}

function isNearBottom(): boolean {
  const list = elements.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < FOLLOW_THRESHOLD;
}

function scrollToBottom(): void {
  elements.messages.scrollTop = elements.messages.scrollHeight;
}

// Drawing the whole state.

function draw(next: ViewState): void {
  const follow = state === undefined || state.active?.id !== next.active?.id || isNearBottom();
  state = next;
  pendingText.clear();

  drawConversationList(next);
  drawMessages(next.active, next);
  drawComposer(next);

  if (follow) {
    scrollToBottom();
  }
}

function drawConversationList(view: ViewState): void {
  const select = elements.conversation;
  select.replaceChildren();
  if (view.conversations.length === 0) {
    select.append(new Option('New chat', ''));
    select.disabled = true;
    elements.deleteConversation.disabled = true;
    return;
  }
  for (const summary of view.conversations) {
    select.append(new Option(summary.title, summary.id, false, summary.id === view.active?.id));
  }
  select.disabled = false;
  elements.deleteConversation.disabled = view.active === undefined;
}

function drawMessages(conversation: Conversation | undefined, view: ViewState): void {
  const list = elements.messages;
  list.replaceChildren();
  if (conversation === undefined || conversation.messages.length === 0) {
    list.append(welcome(view));
    return;
  }
  for (const message of conversation.messages) {
    list.append(messageElement(message));
  }
}

function welcome(view: ViewState): HTMLElement {
  const box = document.createElement('div');
  box.className = 'welcome';

  const mark = document.createElement('div');
  mark.className = 'welcome-mark';
  mark.textContent = 'P';
  const title = document.createElement('h2');
  title.textContent = 'Ask Poe anything';
  const hint = document.createElement('p');
  hint.textContent = view.signedIn
    ? `Answers stream from ${view.model}. Select code in an editor and run "Send Selection to Poe" to ask about it.`
    : 'Sign in to Poe with your browser or an API key to start a chat.';
  box.append(mark, title, hint);

  if (!view.signedIn) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'primary-button';
    button.textContent = 'Sign In to Poe';
    button.addEventListener('click', () => post({ type: 'signIn' }));
    box.append(button);
  }
  return box;
}

function messageElement(message: StoredMessage): HTMLElement {
  const article = document.createElement('article');
  article.className = `message ${message.role} status-${message.status}`;
  article.dataset.id = message.id;

  const header = document.createElement('div');
  header.className = 'message-header';
  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  if (message.role === 'user') {
    avatar.innerHTML = PERSON_ICON;
  } else {
    avatar.textContent = 'P';
  }
  avatar.setAttribute('aria-hidden', 'true');
  const author = document.createElement('span');
  author.className = 'author';
  author.textContent = message.role === 'user' ? 'You' : 'Poe';
  header.append(avatar, author);
  if (message.role === 'assistant' && message.model !== undefined) {
    const model = document.createElement('span');
    model.className = 'model-label';
    model.textContent = message.model;
    header.append(model);
  }

  const body = document.createElement('div');
  body.className = 'message-body markdown';
  body.innerHTML = renderMarkdown(message.text);
  article.append(header, body);

  const note = noteFor(message);
  if (note !== undefined) {
    article.append(note);
  }
  return article;
}

function noteFor(message: StoredMessage): HTMLElement | undefined {
  if (message.status === 'cancelled') {
    const note = document.createElement('div');
    note.className = 'message-note';
    note.textContent = 'Stopped.';
    return note;
  }
  if (message.status === 'error') {
    const note = document.createElement('div');
    note.className = 'message-error';
    note.setAttribute('role', 'alert');
    const text = document.createElement('span');
    text.textContent = message.error ?? 'The answer failed.';
    note.append(text);
    if (message.signIn === true) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary-button';
      button.textContent = 'Sign In';
      button.addEventListener('click', () => post({ type: 'signIn' }));
      note.append(button);
    }
    return note;
  }
  return undefined;
}

function drawComposer(view: ViewState): void {
  elements.modelName.textContent = view.model;
  elements.model.title = `Model: ${view.model}. Click to choose another.`;
  elements.signedOut.hidden = view.signedIn;
  elements.send.hidden = view.streaming;
  elements.stop.hidden = !view.streaming;
  updateSendButton();
}

function updateSendButton(): void {
  elements.send.disabled = elements.input.value.trim() === '' || state?.streaming === true;
}

// Streaming.

function append(conversationId: string, messageId: string, delta: string): void {
  const message = state?.active?.id === conversationId ? state.active.messages.find((m) => m.id === messageId) : undefined;
  if (message === undefined) {
    return;
  }
  message.text += delta;
  pendingText.set(messageId, message.text);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(flushStreamedText);
  }
}

function flushStreamedText(): void {
  frameRequested = false;
  const follow = isNearBottom();
  for (const [messageId, text] of pendingText) {
    const body = elements.messages.querySelector<HTMLElement>(`article[data-id="${CSS.escape(messageId)}"] .message-body`);
    if (body !== null) {
      body.innerHTML = renderMarkdown(text);
    }
  }
  pendingText.clear();
  if (follow) {
    scrollToBottom();
  }
}

// Input.

function send(): void {
  const text = elements.input.value.trim();
  if (text === '' || state?.streaming === true) {
    return;
  }
  post({ type: 'send', text });
  elements.input.value = '';
  saveDraft();
  resizeInput();
  updateSendButton();
}

function resizeInput(): void {
  const input = elements.input;
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

function saveDraft(): void {
  vscode.setState({ draft: elements.input.value });
}

function restoreDraft(): void {
  const saved = vscode.getState();
  if (typeof saved === 'object' && saved !== null && typeof (saved as { draft?: unknown }).draft === 'string') {
    elements.input.value = (saved as { draft: string }).draft;
  }
}

elements.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  } else if (event.key === 'Escape' && state?.streaming === true) {
    post({ type: 'stop' });
  }
});
elements.input.addEventListener('input', () => {
  resizeInput();
  updateSendButton();
  saveDraft();
});
elements.send.addEventListener('click', send);
elements.stop.addEventListener('click', () => post({ type: 'stop' }));
elements.model.addEventListener('click', () => post({ type: 'selectModel' }));
elements.conversation.addEventListener('change', () => {
  if (elements.conversation.value !== '') {
    post({ type: 'selectConversation', id: elements.conversation.value });
  }
});
elements.deleteConversation.addEventListener('click', () => {
  if (state?.active !== undefined) {
    post({ type: 'deleteConversation', id: state.active.id });
  }
});
byId<HTMLButtonElement>('signed-out-sign-in').addEventListener('click', () => post({ type: 'signIn' }));

// Links and code block buttons inside messages, handled once for the whole list.
elements.messages.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target : null;
  if (target?.closest('a')) {
    // The webview host opens links itself, through the editor's opener and
    // its confirmation; a second open from here would open each link twice.
    return;
  }

  const button = target?.closest<HTMLButtonElement>('button[data-action]');
  const code = button?.closest('.code-block')?.querySelector('code')?.textContent;
  if (button === null || button === undefined || code === undefined || code === null) {
    return;
  }
  if (button.dataset.action === 'copy-code') {
    post({ type: 'copy', text: code });
  } else if (button.dataset.action === 'insert-code') {
    post({ type: 'insert', text: code });
  }
});

window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'state':
      draw(message.state);
      break;
    case 'append':
      append(message.conversationId, message.messageId, message.delta);
      break;
    case 'focusInput':
      if (message.draft !== undefined) {
        elements.input.value = message.draft;
        resizeInput();
        updateSendButton();
        saveDraft();
      }
      elements.input.focus();
      break;
  }
});

restoreDraft();
resizeInput();
post({ type: 'ready' });
