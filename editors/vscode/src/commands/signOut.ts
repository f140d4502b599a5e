// "Poe: Sign Out": deletes the stored key after the user confirms.

import * as vscode from 'vscode';

import type { PoeContext } from '../poeContext';
import { Method, type AuthState } from '../protocol';

/** Page where Poe users delete keys; Poe has no endpoint that revokes one. */
const KEYS_PAGE = 'https://poe.com/api/keys';

/** Returns the handler of poe.signOut. */
export function signOutCommand(ctx: PoeContext): () => Promise<void> {
  return async () => {
    if (ctx.auth !== undefined && !ctx.signedIn && !ctx.auth.expired && ctx.auth.problem === undefined) {
      void vscode.window.showInformationMessage('You are not signed in to Poe.');
      return;
    }

    const choice = await vscode.window.showWarningMessage(
      'Sign out of Poe?',
      {
        modal: true,
        detail: 'This deletes the key stored on this computer, which signs out every editor and terminal that uses poe-sidecar.',
      },
      'Sign Out',
    );
    if (choice !== 'Sign Out') {
      return;
    }

    let state: AuthState;
    try {
      state = await ctx.sidecar.request<AuthState>(Method.authSignOut);
    } catch (error) {
      ctx.report(error, 'Sign-out');
      return;
    }
    ctx.setAuth(state);

    if (state.signedIn && state.source === 'env') {
      void vscode.window.showWarningMessage(
        'The stored key was deleted, but you are still signed in through the POE_API_KEY environment variable. Unset it and restart VS Code to sign out.',
      );
      return;
    }
    const open = await vscode.window.showInformationMessage(
      'Signed out of Poe. The key still works on Poe until you delete it there.',
      'Open Poe API Keys',
    );
    if (open === 'Open Poe API Keys') {
      await vscode.env.openExternal(vscode.Uri.parse(KEYS_PAGE));
    }
  };
}
