// The poe-sidecar process, started and restarted through vscode-languageclient.

import * as os from 'node:os';
import { createInterface } from 'node:readline';

import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  ResponseError,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';

import type { InitializationOptions, PoeCapabilities } from './protocol';
import { PROTOCOL_VERSION } from './protocol';
import { RestartPolicy } from './restartPolicy';
import { parseSidecarLogLine } from './sidecarLog';
import { locateSidecar, SidecarNotFoundError } from './sidecarPath';
import type { SidecarState } from './statusModel';
import type { TraceChannel } from './traceChannel';

/** Restarts allowed after crashes within RESTART_WINDOW_MS before the sidecar stays stopped. */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

/** Time in milliseconds that the sidecar gets to respond to shutdown and exit before it is killed. */
const STOP_TIMEOUT_MS = 2000;

/** ConnectionInactive of vscode-jsonrpc: what a request gets while no sidecar runs. */
const CONNECTION_INACTIVE = -32096;

type NotificationHandler = (params: unknown) => void;

/**
 * Sidecar owns the language client that runs poe-sidecar. It finds the
 * binary, restarts it after a crash at most MAX_RESTARTS times within
 * RESTART_WINDOW_MS, and reports its state. Notification handlers registered
 * here survive restarts.
 */
export class Sidecar implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private clientSubscriptions: vscode.Disposable[] = [];
  private readonly handlers = new Map<string, NotificationHandler>();
  private readonly policy = new RestartPolicy(MAX_RESTARTS, RESTART_WINDOW_MS);
  private readonly stateChanged = new vscode.EventEmitter<SidecarState>();
  private readonly started = new vscode.EventEmitter<void>();
  private currentState: SidecarState = 'starting';
  /** Error message naming the missing binary, set while the state is "missing". */
  private missingReason = '';

  /** Fires when the state changes. */
  readonly onDidChangeState = this.stateChanged.event;
  /** Fires each time a sidecar process has finished the initialize handshake. */
  readonly onDidStart = this.started.event;

  constructor(
    private readonly extensionPath: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly traceChannel: TraceChannel,
  ) {}

  get state(): SidecarState {
    return this.currentState;
  }

  /** Registers the handler of a notification from the sidecar, for this and every later process. */
  onNotification(method: string, handler: NotificationHandler): void {
    this.handlers.set(method, handler);
    this.client?.onNotification(method, handler);
  }

  /**
   * Sends a request and resolves with its result. Rejects with a
   * ResponseError: the sidecar's error, -32800 when token cancels it, or
   * ConnectionInactive when no sidecar runs.
   */
  async request<R>(method: string, params?: unknown, token?: vscode.CancellationToken): Promise<R> {
    const client = this.client;
    if (this.currentState === 'missing') {
      throw new Error(this.missingReason);
    }
    if (client === undefined || this.currentState === 'stopped') {
      throw new ResponseError(CONNECTION_INACTIVE, 'The Poe sidecar is not running.');
    }
    // vscode-jsonrpc sends every argument it is given, an undefined one as null.
    // Two arguments go out as a params array, so pass only those that are set.
    if (params === undefined) {
      return token === undefined ? client.sendRequest<R>(method) : client.sendRequest<R>(method, token);
    }
    return token === undefined ? client.sendRequest<R>(method, params) : client.sendRequest<R>(method, params, token);
  }

  /** Starts the sidecar. Resolves once it runs, or once starting it failed and the failure was shown. */
  async start(): Promise<void> {
    let binary: string;
    try {
      const location = locateSidecar({
        configured: vscode.workspace.getConfiguration('poe').get<string>('sidecar.path', ''),
        extensionPath: this.extensionPath,
        platform: process.platform,
        homeDir: os.homedir(),
        pathEnv: process.env.PATH,
      });
      binary = location.path;
      this.log.info(`starting ${binary} (found: ${location.source})`);
    } catch (error) {
      if (!(error instanceof SidecarNotFoundError)) {
        throw error;
      }
      this.log.error(`${error.message} Searched: ${error.tried.join(', ')}`);
      this.missingReason = error.message;
      this.setState('missing');
      void vscode.window.showErrorMessage(error.message, 'Open Settings').then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', 'poe.sidecar.path');
        }
      });
      return;
    }

    const client = this.createClient(binary);
    this.client = client;
    this.setState('starting');
    try {
      await client.start();
    } catch (error) {
      // The client has logged the failure and shown it with a link to this log.
      this.log.error(`the sidecar failed to start: ${error instanceof Error ? error.message : String(error)}`);
      this.setState('stopped');
    }
  }

  /** Stops the running sidecar, if any, and starts a new one with the current settings. */
  async restart(): Promise<void> {
    this.policy.reset();
    await this.stopClient();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stopClient();
    this.stateChanged.dispose();
    this.started.dispose();
  }

  private createClient(binary: string): LanguageClient {
    const serverOptions: ServerOptions = {
      command: binary,
      // The client adds --stdio. Logs go to stderr, which the client passes to the Poe output channel.
      args: ['--log-stderr'],
      transport: TransportKind.stdio,
    };
    const initializationOptions: InitializationOptions = { openBrowser: false };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.log,
      traceOutputChannel: this.traceChannel,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions,
      errorHandler: this.errorHandler(),
      stdioOptions: {
        stdout: () => {
          // stdout carries the protocol; the transport reads it.
        },
        stderr: (input, channel) => {
          createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line) => {
            const parsed = parseSidecarLogLine(line);
            channel[parsed.level](`[sidecar] ${parsed.text}`);
          });
        },
      },
    };

    const client = new LanguageClient('poe', 'Poe', serverOptions, clientOptions);
    for (const [method, handler] of this.handlers) {
      client.onNotification(method, handler);
    }
    this.clientSubscriptions.push(
      client.onDidChangeState((event) => {
        if (event.newState === State.Running) {
          this.checkVersion(client);
          this.setState('running');
          this.started.fire();
        } else if (event.newState === State.Starting) {
          this.setState('starting');
        }
      }),
    );
    return client;
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (error, _message, count): ErrorHandlerResult => {
        this.log.error(`the connection to the sidecar failed: ${error.message}`);
        if (count !== undefined && count <= 3) {
          return { action: ErrorAction.Continue, handled: true };
        }
        return { action: ErrorAction.Shutdown, handled: true };
      },
      closed: (): CloseHandlerResult => {
        const decision = this.policy.recordCrash();
        if (decision.action === 'restart') {
          const message = `The Poe sidecar stopped unexpectedly; starting it again (restart ${decision.attempt} of ${MAX_RESTARTS}).`;
          this.log.warn(message);
          this.setState('starting');
          return { action: CloseAction.Restart, message, handled: true };
        }

        const minutes = RESTART_WINDOW_MS / 60_000;
        const message = `The Poe sidecar crashed ${decision.crashes} times in ${minutes} minutes, so it was not started again.`;
        this.log.error(message);
        this.setState('stopped');
        void vscode.window.showErrorMessage(`${message} See the log for the cause.`, 'Show Logs', 'Restart Sidecar').then((choice) => {
          if (choice === 'Show Logs') {
            this.log.show();
          } else if (choice === 'Restart Sidecar') {
            void this.restart();
          }
        });
        return { action: CloseAction.DoNotRestart, message, handled: true };
      },
    };
  }

  private checkVersion(client: LanguageClient): void {
    const experimental = client.initializeResult?.capabilities.experimental as { poe?: PoeCapabilities } | undefined;
    const version = experimental?.poe?.protocolVersion;
    const serverInfo = client.initializeResult?.serverInfo;
    this.log.info(`sidecar running: ${serverInfo?.name ?? 'poe-sidecar'} ${serverInfo?.version ?? ''}, protocol version ${version ?? 'unknown'}`);
    if (version !== PROTOCOL_VERSION) {
      void vscode.window.showWarningMessage(
        `This poe-sidecar speaks protocol version ${version ?? 'unknown'}, but the extension expects version ${PROTOCOL_VERSION}. Update poe-sidecar or the extension if sign-in or chat fails.`,
      );
    }
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const subscription of this.clientSubscriptions) {
      subscription.dispose();
    }
    this.clientSubscriptions = [];
    if (client === undefined) {
      return;
    }
    try {
      if (client.needsStop()) {
        await client.stop(STOP_TIMEOUT_MS);
      }
    } catch (error) {
      this.log.warn(`stopping the sidecar failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      await client.dispose(STOP_TIMEOUT_MS);
    } catch {
      // dispose stops the client again, which fails when it is stopped already.
    }
  }

  private setState(state: SidecarState): void {
    if (state !== this.currentState) {
      this.currentState = state;
      this.stateChanged.fire(state);
    }
  }
}
