// Failures an editor must see as errors: a denied browser sign-in, a key
// that expires, a chat stream that Poe cuts off, and one that stalls past the
// idle timeout. Each needs a fake Poe of its own, most with a fault switched on.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { ResponseError } from 'vscode-jsonrpc/node';

import { Sidecar, WAIT_MS, randomApiKey, rejectsWithCode, startFake, stopAll, within } from './harness.mjs';

const sidecars = [];

/**
 * Starts a fake Poe with fault, a sidecar against it with the given
 * initializationOptions, and signs the sidecar in with an API key.
 * Resolves with the sidecar, the fake and the id of the fake's first model.
 */
async function signedInSidecar(fault, initializationOptions = {}) {
  const apiKey = randomApiKey();
  const fake = await startFake(['-key', apiKey, '-chunk-delay', '20ms', '-fault', JSON.stringify(fault)]);
  const sidecar = await Sidecar.start(fake);
  sidecars.push(sidecar);

  await sidecar.initialize(initializationOptions);
  const attempt = await sidecar.request('auth/authorize', { method: 'apiKey' });
  await sidecar.request('auth/complete', { attemptId: attempt.attemptId, apiKey });
  const { models } = await sidecar.request('provider/models');
  return { sidecar, fake, model: models[0].id };
}

/** Asserts that chat/send failed with a 1020 error of reason and that its done notification contains the same error. */
function assertStreamFailed(log, outcome, reason) {
  const { error, doneCountAtResponse } = outcome;
  assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${error}`);
  assert.equal(error.code, 1020, `error: ${error.message}`);
  assert.equal(error.data.reason, reason);
  assert.equal(doneCountAtResponse, 1, 'the done notification must arrive before the error response');

  const done = log.doneNotifications;
  assert.equal(done.length, 1);
  assert.equal(done[0].error?.code, 1020, `done notification: ${JSON.stringify(done[0])}`);
  assert.equal(done[0].error?.data?.reason, reason);
  const seqs = log.notifications.map((params) => params.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i));
}

describe('failures', { timeout: 120_000 }, () => {
  after(async () => {
    await Promise.all(sidecars.map((sidecar) => sidecar.close()));
    await stopAll();
  });

  it('oauth access denied', async () => {
    const { sidecar } = await signedInSidecar({ authorize: 'access_denied' });
    await sidecar.request('auth/signOut');
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });

    const completed = sidecar.request('auth/complete', { attemptId: attempt.attemptId });
    const page = await within(fetch(attempt.url, { signal: AbortSignal.timeout(WAIT_MS) }), 'the callback page');
    const body = await page.text();
    assert.ok(page.redirected, 'fetch must have followed the redirect to the callback');
    assert.ok(body.length > 0, 'the callback page must say what happened');

    const error = await rejectsWithCode(completed, 1010);
    assert.equal(error.data.reason, 'access_denied');
    const status = await sidecar.request('auth/status');
    assert.equal(status.signedIn, false);
  });

  it('oauth key expires', async () => {
    const fake = await startFake(['-key-expires-in', '1']);
    const sidecar = await Sidecar.start(fake);
    sidecars.push(sidecar);
    await sidecar.initialize({});
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    const completed = sidecar.request('auth/complete', { attemptId: attempt.attemptId });
    const page = await within(fetch(attempt.url, { signal: AbortSignal.timeout(WAIT_MS) }), 'the callback page');
    assert.equal(page.status, 200, await page.text());
    const result = await completed;
    assert.equal(typeof result.expiresAt, 'string');

    const change = await sidecar.authChanges.waitFor((c) => c.expired, 'auth/didChange when the key expires');
    assert.equal(change.expiresAt, result.expiresAt);

    const status = await sidecar.request('auth/status');
    assert.equal(status.expired, true);
    const error = await rejectsWithCode(sidecar.request('provider/balance'), 1001);
    assert.equal(error.data.reason, 'expired');
    assert.equal(error.data.action, 'signIn');
  });

  it('chat stream cut off', async () => {
    const { sidecar, model } = await signedInSidecar({ stream: 'cut' });
    const log = sidecar.stream('cut');

    const outcome = await sidecar.chat('cut', model, 'a reply that Poe will cut off halfway');

    assertStreamFailed(log, outcome, 'malformed_response');
    assert.equal(sidecar.stderr, '');
  });

  it('chat stream stalls', async () => {
    const { sidecar, model } = await signedInSidecar({ stream: 'stall' }, { streamIdleTimeoutSeconds: 1 });
    const log = sidecar.stream('stall');

    const outcome = await sidecar.chat('stall', model, 'a reply that stops after one word');

    assertStreamFailed(log, outcome, 'stalled');
    assert.equal(sidecar.stderr, '');
  });
});
