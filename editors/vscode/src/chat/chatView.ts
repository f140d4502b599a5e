// The chat webview view in the Poe side bar container.

import * as vscode from 'vscode';

import { chatPage, newNonce } from '../chatHtml';
import type { FromWebview, ToWebview } from '../chatProtocol';
import type { PoeContext } from '../poeContext';
import type { ChatController } from './chatController';

/** View id from package.json; VS Code adds the command "poe.chat.focus" for it. */
export const CHAT_VIEW_ID = 'poe.chat';

/**
 * ChatView draws the controller's state in a webview and passes the user's
 * actions back to it. The webview reloads whenever it is hidden and shown
 * again; it then sends "ready" and gets the whole state.
 */
export class ChatView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  /** Message box text to put in once the view is ready. */
  private pendingDraft: string | undefined;

  constructor(
    private readonly ctx: PoeContext,
    private readonly controller: ChatController,
  ) {
    this.subscriptions.push(controller.onDidPost((message) => this.post(message)));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.ctx.log.info('chat view opened');
    this.view = view;
    const extensionUri = this.ctx.extension.extensionUri;
    const webview = view.webview;
    webview.options = {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
    webview.html = chatPage({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'chat.css')).toString(),
      nonce: newNonce(),
    });

    const subscriptions = [webview.onDidReceiveMessage((message: FromWebview) => void this.handle(message))];
    view.onDidDispose(() => {
      for (const subscription of subscriptions) {
        subscription.dispose();
      }
      if (this.view === view) {
        this.view = undefined;
      }
    });
  }

  /** Shows the view and focuses its message box, putting draft there when given. */
  async reveal(draft?: string): Promise<void> {
    this.pendingDraft = draft;
    await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    if (this.view !== undefined) {
      this.view.show(false);
      this.post({ type: 'focusInput', draft });
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }

  private post(message: ToWebview): void {
    void this.view?.webview.postMessage(message);
  }

  private async handle(message: FromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.controller.postState();
        if (this.pendingDraft !== undefined) {
          this.post({ type: 'focusInput', draft: this.pendingDraft });
          this.pendingDraft = undefined;
        }
        return;
      case 'send':
        await this.controller.send(message.text);
        return;
      case 'stop':
        await this.controller.stop();
        return;
      case 'selectConversation':
        this.controller.selectConversation(message.id);
        return;
      case 'deleteConversation':
        await this.confirmDelete(message.id);
        return;
      case 'selectModel':
        await vscode.commands.executeCommand('poe.selectModel');
        return;
      case 'signIn':
        await vscode.commands.executeCommand('poe.signIn');
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        void vscode.window.setStatusBarMessage('$(check) Copied the code', 2000);
        return;
      case 'insert':
        await this.insert(message.text);
        return;
    }
  }

  private async confirmDelete(id: string): Promise<void> {
    const choice = await vscode.window.showWarningMessage('Delete this conversation?', { modal: true }, 'Delete');
    if (choice === 'Delete') {
      await this.controller.deleteConversation(id);
    }
  }

  private async insert(text: string): Promise<void> {
    const editor = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors[0];
    if (editor === undefined) {
      void vscode.window.showInformationMessage('Open a file in an editor to insert the code there.');
      return;
    }
    await editor.edit((edit) => {
      for (const selection of editor.selections) {
        edit.replace(selection, text);
      }
    });
  }
}
