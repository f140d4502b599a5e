// "Poe: Sign In": the browser (OAuth with PKCE, run by the sidecar) or a pasted API key.

import * as vscode from 'vscode';

import { describeFailure } from '../failures';
import type { PoeContext } from '../poeContext';
import {
  Method,
  type AuthMethodsResult,
  type AuthorizeResult,
  type CompleteParams,
  type CompleteResult,
  type SignInMethodId,
} from '../protocol';
import { apiKeyProblem, parsePastedCallback } from '../signInInput';

interface MethodItem extends vscode.QuickPickItem {
  method: SignInMethodId;
}

const METHOD_DETAILS: Record<SignInMethodId, { icon: string; detail: string }> = {
  oauth: { icon: '$(globe)', detail: 'Approve on poe.com in your browser; Poe creates a key for this editor.' },
  apiKey: { icon: '$(key)', detail: 'Create a key at poe.com/api_key and paste it here.' },
};

/** Returns the handler of poe.signIn. */
export function signInCommand(ctx: PoeContext): () => Promise<void> {
  return async () => {
    const method = await pickMethod(ctx);
    if (method === 'oauth') {
      await signInWithBrowser(ctx);
    } else if (method === 'apiKey') {
      await signInWithApiKey(ctx);
    }
  };
}

async function pickMethod(ctx: PoeContext): Promise<SignInMethodId | undefined> {
  let methods: AuthMethodsResult['methods'];
  try {
    methods = (await ctx.sidecar.request<AuthMethodsResult>(Method.authMethods)).methods;
  } catch (error) {
    ctx.report(error, 'Sign-in');
    return undefined;
  }

  const items: MethodItem[] = methods
    .filter((method) => method.id in METHOD_DETAILS)
    .map((method) => ({
      label: `${METHOD_DETAILS[method.id].icon} ${method.label}`,
      detail: METHOD_DETAILS[method.id].detail,
      method: method.id,
    }));

  let placeHolder = 'How do you want to sign in to Poe?';
  if (ctx.auth?.source === 'env') {
    placeHolder = 'POE_API_KEY is set, and it is used instead of a key you sign in with here.';
  } else if (ctx.signedIn) {
    placeHolder = 'You are signed in to Poe. Signing in again replaces the stored key.';
  }
  const picked = await vscode.window.showQuickPick(items, { title: 'Sign in to Poe', placeHolder });
  return picked?.method;
}

/** Reports whether the browser may run on another machine than the sidecar, so the redirect to 127.0.0.1 can fail. */
function browserMayBeRemote(): boolean {
  return vscode.env.remoteName !== undefined || vscode.env.uiKind === vscode.UIKind.Web;
}

async function signInWithBrowser(ctx: PoeContext): Promise<void> {
  let attempt: AuthorizeResult;
  try {
    attempt = await ctx.sidecar.request<AuthorizeResult>(Method.authAuthorize, { method: 'oauth' });
  } catch (error) {
    ctx.report(error, 'Sign-in');
    return;
  }

  // Strict parsing keeps the query as the sidecar wrote it.
  const opened = await vscode.env.openExternal(vscode.Uri.parse(attempt.url, true));
  if (!opened) {
    ctx.log.info('the browser was not opened; offering to copy the sign-in address');
    void vscode.window
      .showWarningMessage('The browser did not open. Copy the sign-in address and open it in your browser.', 'Copy Address')
      .then((choice) => {
        if (choice === 'Copy Address') {
          void vscode.env.clipboard.writeText(attempt.url);
        }
      });
  }

  const remote = browserMayBeRemote();
  const waitMessage = remote
    ? 'Approve the sign-in in your browser. If the browser then fails to load a page at 127.0.0.1, click Cancel and paste that page’s address.'
    : 'Approve the sign-in in your browser.';
  const done = await complete(ctx, { attemptId: attempt.attemptId }, waitMessage);
  if (done !== 'cancelled' || !remote) {
    return;
  }

  const pasted = await promptCallback();
  if (pasted !== undefined) {
    await complete(ctx, { attemptId: attempt.attemptId, ...pasted }, 'Finishing the sign-in.');
  }
}

/**
 * Waits for auth/complete under a cancellable notification. Cancelling stops
 * the wait but leaves the attempt open, so a pasted address can still
 * finish it.
 */
async function complete(ctx: PoeContext, params: CompleteParams, message: string): Promise<'signedIn' | 'cancelled' | 'failed'> {
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Signing in to Poe', cancellable: true },
      (progress, token) => {
        progress.report({ message });
        return ctx.sidecar.request<CompleteResult>(Method.authComplete, params, token);
      },
    );
    ctx.log.info(`signed in with ${result.method}`);
    void vscode.window.showInformationMessage(signedInMessage(result));
    await ctx.refreshAuth();
    return 'signedIn';
  } catch (error) {
    return ctx.report(error, 'Sign-in').kind === 'cancelled' ? 'cancelled' : 'failed';
  }
}

async function promptCallback(): Promise<{ callbackUrl: string } | { code: string } | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'Finish signing in to Poe',
    prompt: 'Paste the address from the browser’s address bar. It starts with http://127.0.0.1 and contains code=.',
    placeHolder: 'http://127.0.0.1:…/callback?code=…&state=…',
    ignoreFocusOut: true,
    validateInput: (value) => {
      const parsed = parsePastedCallback(value);
      return 'problem' in parsed ? parsed.problem : undefined;
    },
  });
  if (text === undefined) {
    return undefined;
  }
  const parsed = parsePastedCallback(text);
  return 'problem' in parsed ? undefined : parsed;
}

async function signInWithApiKey(ctx: PoeContext): Promise<void> {
  let attempt: AuthorizeResult;
  try {
    attempt = await ctx.sidecar.request<AuthorizeResult>(Method.authAuthorize, { method: 'apiKey' });
  } catch (error) {
    ctx.report(error, 'Sign-in');
    return;
  }

  const result = await new Promise<CompleteResult | undefined>((resolve) => {
    const input = vscode.window.createInputBox();
    const openKeyPage: vscode.QuickInputButton = {
      iconPath: new vscode.ThemeIcon('link-external'),
      tooltip: `Open ${attempt.url} to create a key`,
    };
    input.title = 'Sign in to Poe with an API key';
    input.prompt = `Paste a key from ${attempt.url}. It is stored in a file that only you can read.`;
    input.placeholder = 'sk-poe-…';
    input.password = true;
    input.ignoreFocusOut = true;
    input.buttons = [openKeyPage];

    let finished = false;
    const subscriptions = [
      input.onDidTriggerButton(() => void vscode.env.openExternal(vscode.Uri.parse(attempt.url, true))),
      input.onDidChangeValue(() => {
        input.validationMessage = undefined;
      }),
      input.onDidAccept(async () => {
        const problem = apiKeyProblem(input.value);
        if (problem !== undefined) {
          input.validationMessage = problem;
          return;
        }
        input.busy = true;
        input.enabled = false;
        try {
          const completed = await ctx.sidecar.request<CompleteResult>(Method.authComplete, {
            attemptId: attempt.attemptId,
            apiKey: input.value.trim(),
          });
          finished = true;
          input.hide();
          resolve(completed);
        } catch (error) {
          const failure = describeFailure(error, 'Sign-in');
          if (failure.reason === 'invalid_api_key') {
            // The attempt stays open after a rejected key, so the user can paste another.
            input.validationMessage = failure.message;
            input.busy = false;
            input.enabled = true;
            return;
          }
          finished = true;
          input.hide();
          ctx.report(error, 'Sign-in');
          resolve(undefined);
        }
      }),
      input.onDidHide(() => {
        for (const subscription of subscriptions) {
          subscription.dispose();
        }
        input.dispose();
        if (!finished) {
          resolve(undefined);
        }
      }),
    ];
    input.show();
  });

  if (result !== undefined) {
    ctx.log.info('signed in with an API key');
    void vscode.window.showInformationMessage(signedInMessage(result));
    await ctx.refreshAuth();
  }
}

function signedInMessage(result: CompleteResult): string {
  const expiry = result.expiresAt === null ? '' : ` The key expires on ${result.expiresAt.slice(0, 10)}.`;
  return `Signed in to Poe.${expiry}`;
}
