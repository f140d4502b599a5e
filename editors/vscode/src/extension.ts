// Entry point of the Poe extension: builds the context, the chat view, the
// status bar and the commands, then starts the sidecar.

import * as vscode from 'vscode';

import { ChatController } from './chat/chatController';
import { CHAT_VIEW_ID, ChatView } from './chat/chatView';
import { newChatCommand, openChatCommand, sendSelectionCommand } from './commands/chat';
import { selectModelCommand } from './commands/selectModel';
import { signInCommand } from './commands/signIn';
import { signOutCommand } from './commands/signOut';
import { statusMenuCommand } from './commands/statusMenu';
import { PoeContext } from './poeContext';
import { StatusBar } from './statusBar';

let active: PoeContext | undefined;

export function activate(extension: vscode.ExtensionContext): void {
  const ctx = new PoeContext(extension);
  active = ctx;

  // Notification handlers must be registered before the sidecar starts, so the controller comes first.
  const controller = new ChatController(ctx);
  const view = new ChatView(ctx, controller);
  extension.subscriptions.push(
    controller,
    view,
    new StatusBar(ctx),
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, view),
  );

  const commands: Record<string, () => unknown> = {
    'poe.signIn': signInCommand(ctx),
    'poe.signOut': signOutCommand(ctx),
    'poe.selectModel': selectModelCommand(ctx),
    'poe.openChat': openChatCommand(view),
    'poe.newChat': newChatCommand(view, controller),
    'poe.sendSelection': sendSelectionCommand(view, controller),
    'poe.showLogs': () => ctx.log.show(),
    'poe.restartSidecar': () => ctx.sidecar.restart(),
    'poe.statusMenu': statusMenuCommand(ctx),
  };
  for (const [id, handler] of Object.entries(commands)) {
    extension.subscriptions.push(vscode.commands.registerCommand(id, handler));
  }

  // Not awaited: requests wait for the start themselves, and a slow start must not hold up activation.
  void ctx.sidecar.start();
}

export async function deactivate(): Promise<void> {
  const ctx = active;
  active = undefined;
  if (ctx === undefined) {
    return;
  }
  await ctx.sidecar.dispose();
  ctx.dispose();
}
