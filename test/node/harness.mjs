// Process and connection helpers for the tests that drive the poe-sidecar
// binary with vscode-jsonrpc, the library VS Code's language client uses.
//
// The binaries come from two environment variables, which scripts/test.sh
// sets: POE_SIDECAR_BIN (the sidecar) and FAKEPOE_BIN (the fake Poe server).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  Trace,
} from 'vscode-jsonrpc/node';

/** Upper bound, in milliseconds, for any single wait on the sidecar or the fake. */
export const WAIT_MS = 15_000;

/** Upper bound, in milliseconds, for a sidecar to exit after exit or a closed stdin. */
export const EXIT_MS = 5_000;

const children = new Set();

/**
 * Returns the path in the environment variable name, or throws an error that
 * names the script and variables that set it.
 */
function binaryFromEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run scripts/test.sh, or build the binaries and set POE_SIDECAR_BIN and FAKEPOE_BIN`);
  }
  return value;
}

/**
 * Resolves with the value of promise, or rejects when it has not settled
 * within ms milliseconds. label names the awaited event in the error.
 */
export async function within(promise, label, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that promise rejects with a ResponseError of code and returns that error. */
export async function rejectsWithCode(promise, code) {
  const error = await promise.then(
    (result) => assert.fail(`expected error ${code}, got result ${JSON.stringify(result)}`),
    (e) => e,
  );
  assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${error}`);
  assert.equal(error.code, code, `error message: ${error.message}`);
  return error;
}

/**
 * Returns a key of the shape Poe's keys have: "sk-poe-" and 40 characters of
 * [A-Za-z0-9_-].
 */
export function randomApiKey() {
  return 'sk-poe-' + randomBytes(30).toString('base64url');
}

/** Resolves with { code, signal } once child has exited. */
function exitOf(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Stops child with SIGTERM, then SIGKILL if it is still running after
 * EXIT_MS. Safe to call on a process that has exited.
 */
export async function stopProcess(child) {
  const exited = exitOf(child);
  // A child whose spawn failed has no pid and never emits exit.
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    try {
      await within(exited, `process ${child.pid} to stop after SIGTERM`, EXIT_MS);
    } catch {
      child.kill('SIGKILL');
      await exited;
    }
  }
  children.delete(child);
}

/** Stops every process this module started and has not stopped yet. */
export async function stopAll() {
  await Promise.all([...children].map(stopProcess));
}

/**
 * Starts the fake Poe with the given flags and resolves once it has printed
 * its URLs. The result contains url, baseUrl, authorizeUrl, tokenUrl and the
 * child process.
 */
export async function startFake(args) {
  const child = spawn(binaryFromEnv('FAKEPOE_BIN'), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr += chunk; });

  const lines = createInterface({ input: child.stdout });
  const firstLine = new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      reject(new Error(`fakepoe exited (code ${code}, signal ${signal}) before printing its URLs; stderr: ${stderr}`));
    });
  });
  const line = await within(firstLine, 'fakepoe to print its URLs');
  lines.close();

  const urls = JSON.parse(line);
  for (const field of ['url', 'baseUrl', 'authorizeUrl', 'tokenUrl']) {
    if (typeof urls[field] !== 'string' || !urls[field].startsWith('http://127.0.0.1:')) {
      throw new Error(`fakepoe printed no 127.0.0.1 URL in field ${field}: ${line}`);
    }
  }
  return { ...urls, child };
}

/**
 * EventLog stores values in arrival order and lets a test wait for the first
 * value, from a given index on, that matches a predicate.
 */
export class EventLog {
  items = [];
  #waiters = [];

  push(item) {
    this.items.push(item);
    for (const waiter of [...this.#waiters]) {
      if (this.items.length - 1 >= waiter.from && waiter.match(item)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(item);
      }
    }
  }

  /**
   * Resolves with the first item at index from or later that match accepts,
   * which may be one that has already arrived.
   */
  waitFor(match, label, from = 0) {
    const found = this.items.slice(from).find(match);
    if (found !== undefined) {
      return Promise.resolve(found);
    }
    const promise = new Promise((resolve) => {
      this.#waiters.push({ match, from, resolve });
    });
    return within(promise, label);
  }
}

/**
 * StreamLog is the list of chat/stream notifications of one streamId. Each
 * entry is { params, at }, where at is the connection-wide arrival number.
 */
export class StreamLog extends EventLog {
  get notifications() {
    return this.items.map((entry) => entry.params);
  }

  get doneNotifications() {
    return this.notifications.filter((params) => params.done === true);
  }

  /** Returns every delta joined in arrival order. */
  get text() {
    return this.notifications.map((params) => params.delta ?? '').join('');
  }

  firstDelta() {
    return this.waitFor((entry) => typeof entry.params.delta === 'string', 'the first chat/stream delta');
  }
}

/**
 * Sidecar is one poe-sidecar process, its scratch folders and the
 * vscode-jsonrpc connection to it. It records every notification, every
 * connection error and everything the process writes to stderr.
 */
export class Sidecar {
  /** Arrival counter shared by notifications and chat/send responses. */
  arrivals = 0;
  streams = new Map();
  authChanges = new EventLog();
  unexpectedNotifications = [];
  connectionErrors = [];
  /** Errors and warnings vscode-jsonrpc logged, such as a response with id null. */
  libraryErrors = [];
  /** Text trace of every message, one entry per message, from vscode-jsonrpc. */
  trace = [];
  stderr = '';

  /**
   * Starts the sidecar with "--stdio" against the fake Poe, with a fresh
   * XDG_STATE_HOME folder and without POE_API_KEY. XDG_DATA_HOME is
   * options.dataHome when given, so two sidecars can share a credential
   * file, and a fresh folder otherwise. options.env adds variables last.
   */
  static async start(fake, options = {}) {
    const root = await mkdtemp(path.join(tmpdir(), 'poe-sidecar-node-'));
    const dataHome = options.dataHome ?? path.join(root, 'data');
    const stateHome = path.join(root, 'state');
    await mkdir(dataHome, { recursive: true });
    await mkdir(stateHome);

    const env = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith('POE_') && !name.startsWith('XDG_')) {
        env[name] = value;
      }
    }
    Object.assign(env, {
      XDG_DATA_HOME: dataHome,
      XDG_STATE_HOME: stateHome,
      POE_BASE_URL: fake.baseUrl,
      POE_OAUTH_AUTHORIZE_URL: fake.authorizeUrl,
      POE_OAUTH_TOKEN_URL: fake.tokenUrl,
    }, options.env);

    const child = spawn(binaryFromEnv('POE_SIDECAR_BIN'), ['--stdio'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    try {
      await new Promise((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (error) {
      children.delete(child);
      await rm(root, { recursive: true, force: true });
      throw error;
    }
    return new Sidecar(child, root, dataHome, stateHome);
  }

  constructor(child, root, dataHome, stateHome) {
    this.child = child;
    this.root = root;
    this.dataHome = dataHome;
    this.stateHome = stateHome;
    this.exited = exitOf(child);

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { this.stderr += chunk; });

    const logger = {
      error: (message) => this.libraryErrors.push(message),
      warn: (message) => this.libraryErrors.push(message),
      info: () => {},
      log: () => {},
    };
    this.connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
      logger,
    );
    void this.connection.trace(Trace.Messages, { log: (message) => this.trace.push(message) });

    // failure rejects once the connection breaks, so a pending request fails
    // at once with the cause instead of waiting for its timeout.
    let fail;
    this.failure = new Promise((_, reject) => { fail = reject; });
    this.failure.catch(() => {});
    this.connection.onError(([error]) => {
      this.connectionErrors.push(error);
      fail(new Error(`the connection to the sidecar failed: ${error.message}`));
    });
    this.connection.onClose(() => {
      fail(new Error(`the sidecar closed its stdout; its stderr: ${JSON.stringify(this.stderr)}`));
    });
    this.connection.onNotification('chat/stream', (params) => {
      this.arrivals += 1;
      this.stream(params.streamId).push({ params, at: this.arrivals });
    });
    this.connection.onNotification('auth/didChange', (params) => {
      this.arrivals += 1;
      this.authChanges.push(params);
    });
    this.connection.onUnhandledNotification((message) => this.unexpectedNotifications.push(message));
    this.connection.listen();
  }

  /** Returns the log of streamId, creating it when no notification has arrived yet. */
  stream(streamId) {
    let log = this.streams.get(streamId);
    if (log === undefined) {
      log = new StreamLog();
      this.streams.set(streamId, log);
    }
    return log;
  }

  /**
   * Sends a request and waits up to WAIT_MS for its response. The promise
   * rejects early when the connection breaks.
   */
  request(method, params, token) {
    const args = [method];
    if (params !== undefined) {
      args.push(params);
    }
    if (token !== undefined) {
      args.push(token);
    }
    return within(Promise.race([this.connection.sendRequest(...args), this.failure]), `the ${method} response`);
  }

  /** Sends initialize and then initialized, and resolves with the initialize result. */
  async initialize(initializationOptions) {
    const result = await this.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'poe-sidecar node test' },
      rootUri: null,
      capabilities: {},
      initializationOptions,
    });
    await this.connection.sendNotification('initialized', {});
    return result;
  }

  /**
   * Sends chat/send for one user message. The returned promise resolves with
   * { result } or { error }, and with doneCountAtResponse: how many done
   * notifications of the stream had been handled when the response settled.
   * vscode-jsonrpc 10.0.0 handles one incoming message per setImmediate
   * callback, so a done notification written before the response is always
   * counted and one written after it never is.
   */
  chat(streamId, model, prompt, token) {
    const log = this.stream(streamId);
    const params = { streamId, model, messages: [{ role: 'user', content: prompt }] };
    const args = token === undefined ? ['chat/send', params] : ['chat/send', params, token];

    const response = Promise.race([this.connection.sendRequest(...args), this.failure]);
    const settled = response.then(
      (result) => ({ result }),
      (error) => ({ error }),
    ).then((outcome) => {
      this.arrivals += 1;
      return { ...outcome, at: this.arrivals, doneCountAtResponse: log.doneNotifications.length };
    });
    return within(settled, `the chat/send response for ${streamId}`);
  }

  /** Stops the process if it still runs and removes the scratch folders. */
  async close() {
    this.connection.dispose();
    await stopProcess(this.child);
    await rm(this.root, { recursive: true, force: true });
  }
}
