// Child processes of the end-to-end test: the fake Poe and code-server. Every
// process started here is stopped by stopAll, and every server binds to
// 127.0.0.1.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/** Upper bound in milliseconds for a process to exit after SIGTERM, before SIGKILL. */
const STOP_MS = 5_000;

const children = new Set<ChildProcess>();

/** Rejects with an error naming label when promise has not settled within ms milliseconds. */
export async function within<T>(promise: Promise<T>, label: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('the port probe server has no TCP address');
  }
  return address.port;
}

/** FakePoe is the running fake and the addresses it printed. */
export interface FakePoe {
  url: string;
  baseUrl: string;
  authorizeUrl: string;
  tokenUrl: string;
  child: ChildProcess;
}

/** Starts the fake Poe at binary with args and resolves once it has printed its addresses. */
export async function startFake(binary: string, args: string[]): Promise<FakePoe> {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });

  const lines = createInterface({ input: child.stdout! });
  const firstLine = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`fakepoe exited (code ${code}, signal ${signal}) before printing its addresses; stderr: ${stderr}`)));
  });
  const line = await within(firstLine, 'fakepoe to print its addresses', 15_000);
  lines.close();

  const urls = JSON.parse(line) as Record<string, unknown>;
  for (const field of ['url', 'baseUrl', 'authorizeUrl', 'tokenUrl']) {
    const value = urls[field];
    if (typeof value !== 'string' || !value.startsWith('http://127.0.0.1:')) {
      throw new Error(`fakepoe printed no 127.0.0.1 address in field ${field}: ${line}`);
    }
  }
  return { ...(urls as unknown as Omit<FakePoe, 'child'>), child };
}

/** Output is the combined stdout and stderr of a process, kept for the failure report. */
export class Output {
  text = '';
  private readonly waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];

  add(chunk: string): void {
    this.text += chunk;
    for (const waiter of [...this.waiters]) {
      if (waiter.pattern.test(this.text)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves once the output matches pattern, which may have happened already. */
  waitFor(pattern: RegExp): Promise<void> {
    if (pattern.test(this.text)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}

/** Runs command to completion and rejects with its output when it exits non-zero. */
export async function run(command: string, args: string[], env: NodeJS.ProcessEnv, ms: number): Promise<string> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = new Output();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.add(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.add(chunk));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  try {
    const code = await within(exit, `${command} ${args.join(' ')}`, ms);
    if (code !== 0) {
      throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.text}`);
    }
    return output.text;
  } finally {
    await stopProcess(child);
  }
}

/** Process groups started by startBackground, stopped as a whole so that no grandchild outlives the test. */
const groups = new Set<ChildProcess>();

/**
 * Starts command in the background in a process group of its own; its
 * output is collected in the returned Output. code-server runs its extension
 * host, and so the sidecar, in child processes, which stopProcess stops with it.
 */
export function startBackground(command: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: Output } {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  groups.add(child);
  const output = new Output();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.add(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.add(chunk));
  child.once('error', (error) => output.add(`\nfailed to start ${command}: ${error.message}\n`));
  return { child, output };
}

/** Stops child with SIGTERM, then SIGKILL after STOP_MS. Safe to call on a process that has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  children.delete(child);
  const group = groups.delete(child);
  if (child.pid === undefined) {
    return;
  }
  const pid = child.pid;
  const signal = (name: NodeJS.Signals): void => {
    try {
      // A negative pid signals the process group that startBackground created.
      process.kill(group ? -pid : pid, name);
    } catch {
      // The process or group is gone already.
    }
  };

  if (child.exitCode !== null || child.signalCode !== null) {
    if (group) {
      signal('SIGTERM');
    }
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signal('SIGTERM');
  try {
    await within(exited, `process ${pid} to stop`, STOP_MS);
  } catch {
    signal('SIGKILL');
    await exited;
  }
}

/** Stops every process this module started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopProcess));
}
