// The one object that commands, the status bar and the chat view share: the
// sidecar, the output channels, and what is known about the account.

import * as vscode from 'vscode';

import { describeFailure, type Failure } from './failures';
import { Method, type AuthState, type BalanceResult } from './protocol';
import { Sidecar } from './sidecar';
import { TraceChannel } from './traceChannel';

/** Model used when the poe.defaultModel setting is empty; the same default as the sidecar's chat command. */
export const FALLBACK_MODEL = 'Claude-Sonnet-4.6';

/**
 * PoeContext owns the sidecar, the "Poe" log channel, the protocol trace
 * channel, the latest sign-in state and point balance, and fires
 * onDidChange when any of them or the model changes.
 */
export class PoeContext implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly trace: TraceChannel;
  readonly sidecar: Sidecar;

  private authState: AuthState | undefined;
  private pointsValue: number | null | undefined;
  private balanceRequest = 0;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly subscriptions: vscode.Disposable[] = [];

  /** Fires when the sign-in state, the balance, the model or the sidecar's state changes. */
  readonly onDidChange = this.changed.event;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Poe', { log: true });
    this.trace = new TraceChannel('Poe Protocol Trace');
    this.sidecar = new Sidecar(extension.extensionPath, this.log, this.trace);

    this.sidecar.onNotification(Method.authDidChange, (params) => this.setAuth(params as AuthState));
    this.subscriptions.push(
      this.sidecar.onDidChangeState(() => this.changed.fire()),
      this.sidecar.onDidStart(() => void this.refreshAuth()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('poe.defaultModel')) {
          this.changed.fire();
        }
        if (event.affectsConfiguration('poe.sidecar.path')) {
          void vscode.window
            .showInformationMessage('Restart the Poe sidecar to use the new poe.sidecar.path.', 'Restart Sidecar')
            .then((choice) => {
              if (choice === 'Restart Sidecar') {
                void this.sidecar.restart();
              }
            });
        }
      }),
    );
  }

  /** Latest sign-in state, undefined until the sidecar has reported one. */
  get auth(): AuthState | undefined {
    return this.authState;
  }

  get signedIn(): boolean {
    return this.authState?.signedIn === true;
  }

  /** Point balance: undefined when not fetched or unknown, null when Poe reports no number. */
  get points(): number | null | undefined {
    return this.pointsValue;
  }

  /** Model that new chat messages go to. */
  get model(): string {
    const configured = vscode.workspace.getConfiguration('poe').get<string>('defaultModel', '').trim();
    return configured === '' ? FALLBACK_MODEL : configured;
  }

  /** Stores model in the user's settings, where poe.defaultModel lives. */
  async setModel(model: string): Promise<void> {
    await vscode.workspace.getConfiguration('poe').update('defaultModel', model, vscode.ConfigurationTarget.Global);
    this.log.info(`model set to ${model}`);
  }

  /** Records a sign-in state from auth/status, auth/signOut or auth/didChange. */
  setAuth(state: AuthState): void {
    const wasSignedIn = this.signedIn;
    this.authState = state;
    this.log.info(`sign-in state: ${state.signedIn ? `signed in (${state.source ?? 'unknown source'})` : state.expired ? 'key expired' : 'signed out'}`);
    if (!state.signedIn) {
      this.pointsValue = undefined;
    }
    this.changed.fire();
    if (state.signedIn && !wasSignedIn) {
      void this.refreshBalance();
    }
  }

  /** Asks the sidecar for the sign-in state. Failures are logged, since the status bar shows the sidecar's state. */
  async refreshAuth(): Promise<void> {
    try {
      this.setAuth(await this.sidecar.request<AuthState>(Method.authStatus));
    } catch (error) {
      this.log.warn(`auth/status failed: ${describeFailure(error, 'Reading the sign-in state').message}`);
    }
  }

  /** Asks the sidecar for the point balance when signed in. A failure leaves the balance unknown. */
  async refreshBalance(): Promise<void> {
    if (!this.signedIn) {
      return;
    }
    // Only the newest of overlapping requests updates the balance.
    const request = ++this.balanceRequest;
    let points: number | null | undefined;
    try {
      const result = await this.sidecar.request<BalanceResult>(Method.providerBalance);
      points = typeof result.points === 'number' ? result.points : null;
    } catch (error) {
      this.log.warn(`provider/balance failed: ${describeFailure(error, 'Reading the point balance').message}`);
      points = undefined;
    }
    if (request === this.balanceRequest) {
      this.pointsValue = points;
      this.changed.fire();
    }
  }

  /**
   * Shows a failed request once: nothing for a cancellation, the sidecar's
   * sentence for an expected failure (with "Sign In" when that is the fix),
   * and otherwise the failure with "Show Logs". Returns the failure.
   */
  report(error: unknown, action: string): Failure {
    const failure = describeFailure(error, action);
    if (failure.kind === 'cancelled') {
      this.log.info(failure.message);
      return failure;
    }

    this.log.warn(`${action}: ${failure.message}${failure.reason !== undefined ? ` (${failure.reason})` : ''}`);
    const buttons: string[] = [];
    if (failure.signIn) {
      buttons.push('Sign In');
    } else if (failure.kind === 'unexpected') {
      buttons.push('Show Logs');
    }
    void vscode.window.showErrorMessage(failure.message, ...buttons).then((choice) => {
      if (choice === 'Sign In') {
        void vscode.commands.executeCommand('poe.signIn');
      } else if (choice === 'Show Logs') {
        this.log.show();
      }
    });
    return failure;
  }

  dispose(): void {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
    this.changed.dispose();
    this.trace.dispose();
    this.log.dispose();
  }
}
