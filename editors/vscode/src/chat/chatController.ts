// Sending chat messages to the sidecar and routing the streamed answers into
// the conversations, which are saved in globalState after each change.

import { randomUUID } from 'node:crypto';

import * as vscode from 'vscode';

import type { Conversation, ToWebview, ViewState } from '../chatProtocol';
import { ConversationStore, type AnswerEnd } from '../conversations';
import { describeFailure } from '../failures';
import type { PoeContext } from '../poeContext';
import { Method, type ChatSendParams, type ChatSendResult, type StreamEvent } from '../protocol';

const STORAGE_KEY = 'poe.conversations';

/** LiveStream is a chat/send in flight and the answer its notifications go to. */
interface LiveStream {
  conversationId: string;
  messageId: string;
  /** Next seq expected, to log a gap in the notifications. */
  nextSeq: number;
}

/**
 * ChatController owns the conversations and the live streams. The chat view
 * calls it for user actions and listens to onDidPost for what to draw.
 */
export class ChatController implements vscode.Disposable {
  private readonly store = new ConversationStore();
  private readonly streams = new Map<string, LiveStream>();
  private readonly posted = new vscode.EventEmitter<ToWebview>();
  private readonly subscription: vscode.Disposable;

  /** Fires with each message for the webview. */
  readonly onDidPost = this.posted.event;

  constructor(private readonly ctx: PoeContext) {
    this.store.restore(ctx.extension.globalState.get(STORAGE_KEY));
    ctx.sidecar.onNotification(Method.chatStream, (params) => this.onStreamEvent(params as StreamEvent));
    this.subscription = ctx.onDidChange(() => this.postState());
  }

  /** Returns everything the view shows. */
  viewState(): ViewState {
    const active = this.store.active;
    return {
      conversations: this.store.summaries(),
      active,
      model: this.ctx.model,
      signedIn: this.ctx.signedIn,
      streaming: active !== undefined && this.store.isStreaming(active),
    };
  }

  /** Sends text as the user's next message in the active conversation and streams the answer. */
  async send(text: string): Promise<void> {
    const trimmed = text.trim();
    if (trimmed === '') {
      return;
    }
    const conversation = this.store.active ?? this.store.startConversation();
    if (this.store.isStreaming(conversation)) {
      void vscode.window.showInformationMessage('Poe is still answering in this conversation. Stop the answer or start a new chat.');
      return;
    }

    const model = this.ctx.model;
    this.store.addUserMessage(conversation, trimmed);
    const params: ChatSendParams = {
      streamId: `vscode-${randomUUID()}`,
      model,
      messages: this.store.history(conversation),
    };
    const answer = this.store.startAnswer(conversation, model);
    this.streams.set(params.streamId, { conversationId: conversation.id, messageId: answer.id, nextSeq: 0 });
    this.changed();

    let end: AnswerEnd;
    try {
      const result = await this.ctx.sidecar.request<ChatSendResult>(Method.chatSend, params);
      end = { status: result.finishReason === 'cancelled' ? 'cancelled' : 'done', text: result.text };
    } catch (error) {
      end = this.endFromError(error);
    } finally {
      this.streams.delete(params.streamId);
    }
    this.store.endAnswer(conversation, answer.id, end);
    this.changed();
    void this.ctx.refreshBalance();
  }

  /** Stops the answer that streams in the active conversation, if any. */
  async stop(): Promise<void> {
    const active = this.store.active;
    for (const [streamId, stream] of this.streams) {
      if (stream.conversationId !== active?.id) {
        continue;
      }
      try {
        await this.ctx.sidecar.request(Method.chatCancel, { streamId });
      } catch (error) {
        this.ctx.log.warn(`chat/cancel failed: ${describeFailure(error, 'Stopping the answer').message}`);
      }
    }
  }

  /** Starts an empty conversation and shows it. */
  newConversation(): void {
    this.store.startConversation();
    this.changed();
  }

  selectConversation(id: string): void {
    if (this.store.select(id)) {
      this.postState();
    }
  }

  /** Deletes a conversation after stopping its answer. */
  async deleteConversation(id: string): Promise<void> {
    const conversation = this.store.find(id);
    if (conversation === undefined) {
      return;
    }
    for (const [streamId, stream] of this.streams) {
      if (stream.conversationId === id) {
        await this.ctx.sidecar.request(Method.chatCancel, { streamId }).catch(() => undefined);
      }
    }
    this.store.delete(id);
    this.changed();
  }

  /** Sends the current state to the view. */
  postState(): void {
    this.posted.fire({ type: 'state', state: this.viewState() });
  }

  dispose(): void {
    this.subscription.dispose();
    this.posted.dispose();
  }

  private onStreamEvent(event: StreamEvent): void {
    const stream = this.streams.get(event.streamId);
    if (stream === undefined) {
      return;
    }
    if (event.seq !== stream.nextSeq) {
      this.ctx.log.warn(`chat/stream ${event.streamId}: expected seq ${stream.nextSeq}, got ${event.seq}; some text may be missing`);
    }
    stream.nextSeq = event.seq + 1;

    const conversation = this.store.find(stream.conversationId);
    if (conversation === undefined) {
      return;
    }
    if (typeof event.delta === 'string' && event.delta !== '') {
      if (this.store.appendDelta(conversation, stream.messageId, event.delta)) {
        this.posted.fire({ type: 'append', conversationId: conversation.id, messageId: stream.messageId, delta: event.delta });
      }
    }
    if (event.done === true) {
      this.endFromNotification(conversation, stream.messageId, event);
    }
  }

  /** Ends the answer as the final chat/stream notification says, before the chat/send response arrives. */
  private endFromNotification(conversation: Conversation, messageId: string, event: StreamEvent): void {
    let end: AnswerEnd;
    if (event.error !== undefined) {
      end = this.endFromError(event.error);
    } else {
      end = { status: event.finishReason === 'cancelled' ? 'cancelled' : 'done' };
    }
    if (this.store.endAnswer(conversation, messageId, end)) {
      this.changed();
    }
  }

  private endFromError(error: unknown): AnswerEnd {
    const failure = describeFailure(error, 'The answer');
    if (failure.kind === 'cancelled') {
      return { status: 'cancelled' };
    }
    this.ctx.log.warn(`chat failed: ${failure.message}${failure.reason !== undefined ? ` (${failure.reason})` : ''}`);
    return { status: 'error', error: failure.message, signIn: failure.signIn };
  }

  /** Saves the conversations and redraws the view after a structural change. */
  private changed(): void {
    void this.ctx.extension.globalState.update(STORAGE_KEY, this.store.save());
    this.postState();
  }
}
