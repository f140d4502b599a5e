// Messages between the extension and the chat webview, and the conversation
// records both sides share. The webview bundle imports this file too, so it
// must not import anything.

/** Status of a message: an answer streams, then ends in one of the other three. */
export type MessageStatus = 'streaming' | 'done' | 'cancelled' | 'error';

/** StoredMessage is one message of a conversation as the extension keeps it. */
export interface StoredMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  status: MessageStatus;
  /** Model that wrote an answer. */
  model?: string;
  /** Sentence for the user when status is "error". */
  error?: string;
  /** Whether signing in again fixes the error. */
  signIn?: boolean;
  /** Unix milliseconds. */
  createdAt: number;
}

/** Conversation is one chat thread. Its title is the start of its first message. */
export interface Conversation {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  messages: StoredMessage[];
}

/** ConversationSummary is a conversation's entry in the view's list. */
export interface ConversationSummary {
  id: string;
  title: string;
  updatedAt: number;
}

/** ViewState is everything the webview shows, sent whole after each structural change. */
export interface ViewState {
  /** Newest first. */
  conversations: ConversationSummary[];
  active: Conversation | undefined;
  model: string;
  signedIn: boolean;
  /** Whether an answer in the active conversation is still streaming. */
  streaming: boolean;
}

/** Messages from the extension to the webview. */
export type ToWebview =
  | { type: 'state'; state: ViewState }
  /** A piece of streamed text for a message of the active conversation. */
  | { type: 'append'; conversationId: string; messageId: string; delta: string }
  /** Puts text into the message box and focuses it. */
  | { type: 'focusInput'; draft?: string };

/** Messages from the webview to the extension. */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'selectConversation'; id: string }
  | { type: 'deleteConversation'; id: string }
  | { type: 'selectModel' }
  | { type: 'signIn' }
  | { type: 'copy'; text: string }
  | { type: 'insert'; text: string };
