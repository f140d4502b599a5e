// Text, tooltip and click command of the Poe status bar item in each state.
// statusBar.ts applies them to a vscode.StatusBarItem.

import type { AuthState } from './protocol';

/** State of the sidecar process as the status bar reports it. */
export type SidecarState = 'starting' | 'running' | 'stopped' | 'missing';

/** StatusInput is everything the status bar item depends on. */
export interface StatusInput {
  sidecar: SidecarState;
  /** Latest auth/status or auth/didChange; undefined until the first one arrives. */
  auth: AuthState | undefined;
  /** Model that new chat messages go to. */
  model: string;
  /** Point balance: a number, null when Poe reports none, undefined when not fetched. */
  points: number | null | undefined;
}

/** StatusView is the text, tooltip and click command of the status bar item. */
export interface StatusView {
  /** Text with $(icon) references. */
  text: string;
  tooltip: string;
  command: { id: string; args?: unknown[] };
  severity: 'normal' | 'warning' | 'error';
}

/** Formats points for the status bar, such as "12,345 pts". */
export function formatPoints(points: number): string {
  return `${Math.trunc(points).toLocaleString('en-US')} pts`;
}

/** Returns the status bar item's presentation for input. */
export function statusView(input: StatusInput): StatusView {
  switch (input.sidecar) {
    case 'missing':
      return {
        text: '$(error) Poe',
        tooltip: 'Poe: the poe-sidecar binary was not found. Click to set poe.sidecar.path.',
        command: { id: 'workbench.action.openSettings', args: ['poe.sidecar.path'] },
        severity: 'error',
      };
    case 'stopped':
      return {
        text: '$(error) Poe: stopped',
        tooltip: 'Poe: the sidecar stopped after repeated crashes. Click to restart it.',
        command: { id: 'poe.restartSidecar' },
        severity: 'error',
      };
    case 'starting':
      return {
        text: '$(loading~spin) Poe',
        tooltip: 'Poe: starting the sidecar.',
        command: { id: 'poe.showLogs' },
        severity: 'normal',
      };
    case 'running':
      return signedInOrOut(input);
  }
}

function signedInOrOut(input: StatusInput): StatusView {
  const auth = input.auth;
  if (auth === undefined) {
    return {
      text: '$(loading~spin) Poe',
      tooltip: 'Poe: checking the sign-in.',
      command: { id: 'poe.showLogs' },
      severity: 'normal',
    };
  }
  if (auth.expired) {
    const when = auth.expiresAt !== null ? ` on ${auth.expiresAt.slice(0, 10)}` : '';
    return {
      text: '$(warning) Poe: key expired',
      tooltip: `Poe: your API key expired${when}. Click to sign in again.`,
      command: { id: 'poe.signIn' },
      severity: 'warning',
    };
  }
  if (!auth.signedIn) {
    if (auth.problem !== undefined) {
      return {
        text: '$(warning) Poe: Sign In',
        tooltip: `Poe: ${auth.problem.message} Click to sign in again.`,
        command: { id: 'poe.signIn' },
        severity: 'warning',
      };
    }
    return {
      text: '$(account) Poe: Sign In',
      tooltip: 'Poe: signed out. Click to sign in.',
      command: { id: 'poe.signIn' },
      severity: 'normal',
    };
  }

  const parts = [`$(comment-discussion) ${input.model}`];
  if (typeof input.points === 'number') {
    parts.push(formatPoints(input.points));
  }
  const tooltip = [`Poe: signed in ${describeSignIn(auth)}.`, `Model: ${input.model}.`];
  if (typeof input.points === 'number') {
    tooltip.push(`Balance: ${formatPoints(input.points).replace('pts', 'points')}.`);
  }
  tooltip.push('Click for chat, model and account actions.');
  return {
    text: parts.join(' · '),
    tooltip: tooltip.join('\n'),
    command: { id: 'poe.statusMenu' },
    severity: 'normal',
  };
}

function describeSignIn(auth: AuthState): string {
  if (auth.source === 'env') {
    return 'with the POE_API_KEY environment variable';
  }
  const how = auth.method === 'oauth' ? 'with the browser' : 'with an API key';
  if (auth.expiresAt === null) {
    return how;
  }
  return `${how}; the key expires on ${auth.expiresAt.slice(0, 10)}`;
}
