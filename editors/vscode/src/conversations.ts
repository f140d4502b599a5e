// The chat view's conversations: their messages, the streaming answer of each,
// the history sent with chat/send, and their saved form in globalState.

import { randomUUID } from 'node:crypto';

import type { Conversation, ConversationSummary, MessageStatus, StoredMessage } from './chatProtocol';
import type { ChatMessage } from './protocol';

/** Conversations kept, newest first; older ones are dropped when a new one starts. */
export const MAX_CONVERSATIONS = 50;

const TITLE_LENGTH = 60;

/** Saved form version; restore ignores data of another version. */
const SAVED_VERSION = 1;

/** How an answer ended. */
export interface AnswerEnd {
  status: Exclude<MessageStatus, 'streaming'>;
  /** Whole text from the chat/send result, which replaces the streamed deltas. */
  text?: string;
  error?: string;
  signIn?: boolean;
}

/** Dependencies of ConversationStore that tests replace. */
export interface StoreClock {
  now(): number;
  newId(): string;
}

const systemClock: StoreClock = { now: Date.now, newId: randomUUID };

/**
 * ConversationStore keeps the conversations and which one the view shows. It
 * has no I/O: the chat controller calls it and then saves and redraws.
 */
export class ConversationStore {
  private conversations: Conversation[] = [];
  private activeId: string | undefined;

  constructor(private readonly clock: StoreClock = systemClock) {}

  /** The conversation the view shows, if any. */
  get active(): Conversation | undefined {
    return this.activeId === undefined ? undefined : this.find(this.activeId);
  }

  /** Returns the conversation with id, if it exists. */
  find(id: string): Conversation | undefined {
    return this.conversations.find((conversation) => conversation.id === id);
  }

  /** Returns the list entries, most recently updated first. */
  summaries(): ConversationSummary[] {
    return [...this.conversations]
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map(({ id, title, updatedAt }) => ({ id, title, updatedAt }));
  }

  /**
   * Makes an empty conversation active and returns it. The active
   * conversation is reused when it has no messages yet, so "New Chat"
   * pressed twice leaves one empty conversation.
   */
  startConversation(): Conversation {
    const active = this.active;
    if (active !== undefined && active.messages.length === 0) {
      return active;
    }

    const now = this.clock.now();
    const conversation: Conversation = { id: this.clock.newId(), title: 'New chat', createdAt: now, updatedAt: now, messages: [] };
    this.conversations.push(conversation);
    this.activeId = conversation.id;
    this.dropOldest();
    return conversation;
  }

  /** Makes the conversation with id active. Returns false when there is none. */
  select(id: string): boolean {
    if (this.find(id) === undefined) {
      return false;
    }
    this.activeId = id;
    return true;
  }

  /**
   * Removes the conversation with id. When it was the active one, the most
   * recently updated remaining conversation becomes active.
   */
  delete(id: string): void {
    this.conversations = this.conversations.filter((conversation) => conversation.id !== id);
    if (this.activeId === id) {
      this.activeId = this.summaries()[0]?.id;
    }
  }

  /** Adds the user's message to conversation and returns it. The first message names the conversation. */
  addUserMessage(conversation: Conversation, text: string): StoredMessage {
    const message = this.push(conversation, { role: 'user', text, status: 'done' });
    if (conversation.messages.filter((m) => m.role === 'user').length === 1) {
      conversation.title = titleFrom(text);
    }
    return message;
  }

  /** Adds an empty answer of model that streams from now on, and returns it. */
  startAnswer(conversation: Conversation, model: string): StoredMessage {
    return this.push(conversation, { role: 'assistant', text: '', status: 'streaming', model });
  }

  /** Appends delta to a streaming answer. Returns false when the answer no longer streams. */
  appendDelta(conversation: Conversation, messageId: string, delta: string): boolean {
    const message = conversation.messages.find((m) => m.id === messageId);
    if (message === undefined || message.status !== 'streaming') {
      return false;
    }
    message.text += delta;
    conversation.updatedAt = this.clock.now();
    return true;
  }

  /**
   * Ends a streaming answer. Returns false when it has ended already, since
   * the final chat/stream notification and the chat/send response both end
   * it and the first one wins.
   */
  endAnswer(conversation: Conversation, messageId: string, end: AnswerEnd): boolean {
    const message = conversation.messages.find((m) => m.id === messageId);
    if (message === undefined || message.status !== 'streaming') {
      return false;
    }
    message.status = end.status;
    if (end.text !== undefined) {
      message.text = end.text;
    }
    if (end.error !== undefined) {
      message.error = end.error;
    }
    if (end.signIn === true) {
      message.signIn = true;
    }
    conversation.updatedAt = this.clock.now();
    return true;
  }

  /** Reports whether conversation has an answer that still streams. */
  isStreaming(conversation: Conversation): boolean {
    return conversation.messages.some((m) => m.status === 'streaming');
  }

  /**
   * Returns the messages to send with chat/send: every user message and every
   * answer with text, in order. Failed answers and the empty answer being
   * streamed are left out.
   */
  history(conversation: Conversation): ChatMessage[] {
    return conversation.messages
      .filter((m) => m.role === 'user' || ((m.status === 'done' || m.status === 'cancelled') && m.text !== ''))
      .map((m) => ({ role: m.role, content: m.text }));
  }

  /** Returns the conversations in their saved form. */
  save(): unknown {
    return { version: SAVED_VERSION, activeId: this.activeId, conversations: this.conversations };
  }

  /**
   * Replaces the conversations with saved ones. Data of another shape is
   * ignored entry by entry, and an answer that was streaming when VS Code
   * closed is kept as cancelled.
   */
  restore(saved: unknown): void {
    if (!isRecord(saved) || saved.version !== SAVED_VERSION || !Array.isArray(saved.conversations)) {
      return;
    }

    this.conversations = saved.conversations.filter(isConversation).map((conversation) => ({
      ...conversation,
      messages: conversation.messages.filter(isMessage).map((m) => (m.status === 'streaming' ? { ...m, status: 'cancelled' as const } : m)),
    }));
    this.dropOldest();
    const activeId = typeof saved.activeId === 'string' ? saved.activeId : undefined;
    this.activeId = activeId !== undefined && this.find(activeId) !== undefined ? activeId : this.summaries()[0]?.id;
  }

  private push(conversation: Conversation, fields: Omit<StoredMessage, 'id' | 'createdAt'>): StoredMessage {
    const now = this.clock.now();
    const message: StoredMessage = { id: this.clock.newId(), createdAt: now, ...fields };
    conversation.messages.push(message);
    conversation.updatedAt = now;
    return message;
  }

  private dropOldest(): void {
    if (this.conversations.length <= MAX_CONVERSATIONS) {
      return;
    }
    const keep = new Set(this.summaries().slice(0, MAX_CONVERSATIONS).map((s) => s.id));
    if (this.activeId !== undefined) {
      keep.add(this.activeId);
    }
    this.conversations = this.conversations.filter((conversation) => keep.has(conversation.id));
  }
}

/**
 * Returns the first line of text without markdown emphasis and code marks,
 * cut to TITLE_LENGTH characters with an ellipsis.
 */
export function titleFrom(text: string): string {
  const line = (text.trim().split('\n')[0] ?? '').replace(/\*\*|__|`/g, '').trim();
  if (line === '') {
    return 'New chat';
  }
  const characters = [...line];
  return characters.length <= TITLE_LENGTH ? line : `${characters.slice(0, TITLE_LENGTH - 1).join('')}…`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isConversation(value: unknown): value is Conversation {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    typeof value.title === 'string' &&
    typeof value.createdAt === 'number' &&
    typeof value.updatedAt === 'number' &&
    Array.isArray(value.messages)
  );
}

const STATUSES: readonly string[] = ['streaming', 'done', 'cancelled', 'error'];

function isMessage(value: unknown): value is StoredMessage {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    (value.role === 'user' || value.role === 'assistant') &&
    typeof value.text === 'string' &&
    typeof value.status === 'string' &&
    STATUSES.includes(value.status) &&
    typeof value.createdAt === 'number'
  );
}
