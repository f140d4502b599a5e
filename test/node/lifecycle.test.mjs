// Lifecycle rules that need a sidecar process of their own: requests before
// initialize, a second initialize, exit without shutdown, invalid and fatal
// frames, and an editor that closes stdin in the middle of a chat stream and
// a browser sign-in.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { EXIT_MS, Sidecar, randomApiKey, rejectsWithCode, startFake, stopAll, within } from './harness.mjs';

describe('lifecycle', { timeout: 60_000 }, () => {
  const apiKey = randomApiKey();
  const sidecars = [];
  let fake;

  before(async () => {
    fake = await startFake(['-key', apiKey, '-chunk-delay', '20ms', '-key-expires-in', '-1']);
  });

  after(async () => {
    await Promise.all(sidecars.map((sidecar) => sidecar.close()));
    await stopAll();
  });

  async function startSidecar() {
    const sidecar = await Sidecar.start(fake);
    sidecars.push(sidecar);
    return sidecar;
  }

  it('request before initialize', async () => {
    const sidecar = await startSidecar();

    await rejectsWithCode(sidecar.request('auth/status'), -32002);
    await rejectsWithCode(sidecar.request('provider/models'), -32002);

    const result = await sidecar.initialize({});
    assert.equal(result.capabilities.experimental.poe.protocolVersion, 1);
    const status = await sidecar.request('auth/status');
    assert.equal(status.signedIn, false);

    await rejectsWithCode(sidecar.request('initialize', { processId: null, capabilities: {} }), -32600);
    assert.equal(sidecar.stderr, '');
    assert.deepEqual(sidecar.connectionErrors.map(String), []);
  });

  it('exit without shutdown', async () => {
    const sidecar = await startSidecar();
    await sidecar.initialize({});

    await sidecar.connection.sendNotification('exit');

    const { code, signal } = await within(sidecar.exited, 'the sidecar to exit after exit', EXIT_MS);
    assert.equal(signal, null);
    assert.equal(code, 1);
    assert.equal(sidecar.stderr, '');
  });

  it('invalid bodies keep session', async () => {
    const sidecar = await startSidecar();
    await sidecar.initialize({});

    // Written straight to stdin between two requests, while the connection
    // has no write of its own in progress.
    for (const body of ['{"jsonrpc": "2.0", "id": 7, "method": ', '{"hello": "world"}']) {
      sidecar.child.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    const status = await sidecar.request('auth/status');
    assert.equal(status.signedIn, false);

    // vscode-jsonrpc logs a response with id null instead of failing a request.
    const logged = sidecar.libraryErrors.join('\n');
    assert.match(logged, /-32700/, 'a parse error response must have arrived');
    assert.match(logged, /-32600/, 'an invalid request response must have arrived');
    assert.equal(sidecar.stderr, '');
  });

  const fatalFrames = [
    { name: 'header without colon', bytes: 'Hello there\r\n\r\n{}' },
    { name: 'Content-Length over 16 MiB', bytes: `Content-Length: ${16 * 1024 * 1024 + 1}\r\n\r\n{}` },
  ];
  for (const { name, bytes } of fatalFrames) {
    it(`${name} ends session`, async () => {
      const sidecar = await startSidecar();
      await sidecar.initialize({});

      sidecar.child.stdin.write(bytes);

      const { code, signal } = await within(sidecar.exited, `the sidecar to exit after a frame with ${name}`, EXIT_MS);
      assert.equal(signal, null);
      assert.equal(code, 1);
      assert.equal(sidecar.stderr, '');
    });
  }

  it('stdin close mid-stream', async () => {
    const sidecar = await startSidecar();
    await sidecar.initialize({});
    const attempt = await sidecar.request('auth/authorize', { method: 'apiKey' });
    await sidecar.request('auth/complete', { attemptId: attempt.attemptId, apiKey });
    const models = await sidecar.request('provider/models');

    // A stream in flight and a sign-in wait must not hold the process open.
    const log = sidecar.stream('left-open');
    const chat = sidecar.chat('left-open', models.models[0].id, '/long 2000');
    await log.firstDelta();
    const oauth = await sidecar.request('auth/authorize', { method: 'oauth' });
    const waiting = sidecar.connection.sendRequest('auth/complete', { attemptId: oauth.attemptId }).then(
      (result) => ({ result }),
      (error) => ({ error }),
    );

    sidecar.child.stdin.end();

    const { code, signal } = await within(sidecar.exited, 'the sidecar to exit after stdin closed', EXIT_MS);
    assert.equal(signal, null);
    assert.equal(code, 1);
    assert.equal(sidecar.stderr, '');

    // The sidecar may send an error response to both requests before it
    // exits. Disposing the connection rejects any request left without one.
    sidecar.connection.dispose();
    const [chatOutcome, waitOutcome] = await Promise.all([chat, waiting]);
    assert.ok(chatOutcome.error, 'chat/send must not have a result');
    assert.ok(waitOutcome.error, 'auth/complete must not have a result');
  });
});
