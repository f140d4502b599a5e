// The "Poe Protocol Trace" output channel, which the language client writes
// its message trace to. It removes secrets before writing, and it turns the
// poe.trace.server setting into the log level that vscode-languageclient 11
// reads to decide whether to trace at all.

import * as vscode from 'vscode';

import { redactSecrets } from './redact';

/** Setting that switches the trace on and picks its detail. */
export const TRACE_SETTING = 'poe.trace.server';

/**
 * TraceChannel is a LogOutputChannel whose log level follows poe.trace.server:
 * Trace when the setting is "messages", "compact" or "verbose", Off when it is
 * "off". vscode-languageclient 11 traces only while the channel's level is
 * Trace, and then takes the detail from the same setting.
 */
export class TraceChannel implements vscode.LogOutputChannel {
  private readonly channel: vscode.OutputChannel;
  private readonly levelChanged = new vscode.EventEmitter<vscode.LogLevel>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private level: vscode.LogLevel;

  readonly onDidChangeLogLevel = this.levelChanged.event;

  constructor(readonly name: string) {
    this.channel = vscode.window.createOutputChannel(name);
    this.level = levelFromSetting();
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (!event.affectsConfiguration(TRACE_SETTING)) {
          return;
        }
        const level = levelFromSetting();
        if (level !== this.level) {
          this.level = level;
          this.levelChanged.fire(level);
        }
      }),
    );
  }

  get logLevel(): vscode.LogLevel {
    return this.level;
  }

  trace(message: string, ...args: unknown[]): void {
    this.write('trace', message, args);
  }

  debug(message: string, ...args: unknown[]): void {
    this.write('debug', message, args);
  }

  info(message: string, ...args: unknown[]): void {
    this.write('info', message, args);
  }

  warn(message: string, ...args: unknown[]): void {
    this.write('warning', message, args);
  }

  error(error: string | Error, ...args: unknown[]): void {
    this.write('error', typeof error === 'string' ? error : (error.stack ?? error.message), args);
  }

  append(value: string): void {
    this.channel.append(redactSecrets(value));
  }

  appendLine(value: string): void {
    this.channel.appendLine(redactSecrets(value));
  }

  replace(value: string): void {
    this.channel.replace(redactSecrets(value));
  }

  clear(): void {
    this.channel.clear();
  }

  show(preserveFocus?: boolean): void;
  show(column?: vscode.ViewColumn, preserveFocus?: boolean): void;
  show(first?: boolean | vscode.ViewColumn, second?: boolean): void {
    this.channel.show(typeof first === 'boolean' ? first : (second ?? false));
  }

  hide(): void {
    this.channel.hide();
  }

  dispose(): void {
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
    this.levelChanged.dispose();
    this.channel.dispose();
  }

  private write(level: string, message: string, args: unknown[]): void {
    const extra = args.length === 0 ? '' : ` ${args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')}`;
    this.channel.appendLine(redactSecrets(`${new Date().toISOString()} [${level}] ${message}${extra}`));
  }
}

function levelFromSetting(): vscode.LogLevel {
  const value = vscode.workspace.getConfiguration().get<string>(TRACE_SETTING, 'off');
  return value === 'off' ? vscode.LogLevel.Off : vscode.LogLevel.Trace;
}
