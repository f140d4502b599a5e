// The menu that a click on the status bar item opens while signed in.

import * as vscode from 'vscode';

import type { PoeContext } from '../poeContext';
import { formatPoints } from '../statusModel';

type Action = vscode.QuickPickItem & { run: () => unknown };

/** Returns the handler of poe.statusMenu. */
export function statusMenuCommand(ctx: PoeContext): () => Promise<void> {
  return async () => {
    const balance = typeof ctx.points === 'number' ? formatPoints(ctx.points).replace('pts', 'points') : 'unknown';
    const actions: Action[] = [
      { label: '$(comment-discussion) Open Chat', run: () => vscode.commands.executeCommand('poe.openChat') },
      { label: '$(symbol-class) Select Model', description: ctx.model, run: () => vscode.commands.executeCommand('poe.selectModel') },
      { label: '$(refresh) Refresh Balance', description: balance, run: () => ctx.refreshBalance() },
      { label: '$(output) Show Logs', run: () => vscode.commands.executeCommand('poe.showLogs') },
      { label: '$(sign-out) Sign Out', run: () => vscode.commands.executeCommand('poe.signOut') },
    ];
    const picked = await vscode.window.showQuickPick(actions, { title: 'Poe', placeHolder: 'Choose an action' });
    await picked?.run();
  };
}
