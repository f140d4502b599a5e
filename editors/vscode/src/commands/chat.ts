// Commands that open the chat view: "Poe: Open Chat", "Poe: New Chat" and
// "Send Selection to Poe" from the editor's context menu.

import * as path from 'node:path';

import * as vscode from 'vscode';

import type { ChatController } from '../chat/chatController';
import type { ChatView } from '../chat/chatView';
import { selectionPrompt } from '../selectionPrompt';

/** Returns the handler of poe.openChat. */
export function openChatCommand(view: ChatView): () => Promise<void> {
  return () => view.reveal();
}

/** Returns the handler of poe.newChat. */
export function newChatCommand(view: ChatView, controller: ChatController): () => Promise<void> {
  return async () => {
    controller.newConversation();
    await view.reveal();
  };
}

/**
 * Returns the handler of poe.sendSelection. It asks what to do with the
 * selected code and sends the question with the code as a new message.
 */
export function sendSelectionCommand(view: ChatView, controller: ChatController): () => Promise<void> {
  return async () => {
    const editor = vscode.window.activeTextEditor;
    const selection = editor?.selection;
    if (editor === undefined || selection === undefined || selection.isEmpty) {
      void vscode.window.showInformationMessage('Select some code in an editor first.');
      return;
    }

    const question = await vscode.window.showInputBox({
      title: 'Send the selection to Poe',
      prompt: 'What should Poe do with the selected code?',
      value: 'Explain this code.',
      valueSelection: [0, 'Explain this code.'.length],
    });
    if (question === undefined || question.trim() === '') {
      return;
    }

    const code = editor.document.getText(selection);
    const fileName = path.basename(editor.document.fileName);
    await view.reveal();
    await controller.send(selectionPrompt(question, code, editor.document.languageId, fileName));
  };
}
