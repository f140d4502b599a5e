// Sign-in paths beyond the plain ones: stray requests to the callback server,
// a cancelled wait, the pasted callback URL and code of a headless host, a
// replaced attempt, a key from POE_API_KEY, and two sidecars that share one
// credential file.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';

import { Sidecar, WAIT_MS, randomApiKey, rejectsWithCode, startFake, stopAll, within } from './harness.mjs';

/** Fetches url and resolves with { status, body, response }, failing after WAIT_MS. */
async function fetchPage(url, init = {}) {
  const response = await within(fetch(url, { ...init, signal: AbortSignal.timeout(WAIT_MS) }), `a response from ${url}`);
  const body = await response.text();
  return { status: response.status, body, response };
}

/**
 * Loads the authorize URL of attempt from the fake Poe without following its
 * redirect, and returns the callback URL that a browser on a headless host
 * fails to load and the user pastes instead.
 */
async function callbackUrlFor(attempt) {
  const { status, response } = await fetchPage(attempt.url, { redirect: 'manual' });
  assert.equal(status, 302);
  const location = response.headers.get('location');
  assert.ok(location?.startsWith(attempt.redirectUri + '?'), `redirect to ${location}`);
  return location;
}

describe('sign-in', { timeout: 120_000 }, () => {
  const apiKey = randomApiKey();
  let fake;
  let sidecar;

  before(async () => {
    fake = await startFake(['-key', apiKey]);
    sidecar = await Sidecar.start(fake);
    await sidecar.initialize({});
  });

  after(async () => {
    await sidecar?.close();
    await stopAll();
  });

  async function signOut() {
    const status = await sidecar.request('auth/signOut');
    assert.equal(status.signedIn, false);
  }

  it('callback server rejects strays', async () => {
    await signOut();
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    const origin = new URL(attempt.redirectUri).origin;

    const strays = [
      { name: 'other path', url: `${origin}/other`, init: {}, want: 404 },
      { name: 'POST', url: `${attempt.redirectUri}?code=c&state=s`, init: { method: 'POST' }, want: 405 },
      { name: 'wrong state', url: `${attempt.redirectUri}?code=c&state=wrong`, init: {}, want: 400 },
      { name: 'missing state', url: `${attempt.redirectUri}?code=c`, init: {}, want: 400 },
      { name: 'error, wrong state', url: `${attempt.redirectUri}?error=access_denied&state=wrong`, init: {}, want: 400 },
    ];
    for (const { name, url, init, want } of strays) {
      const { status } = await fetchPage(url, init);
      assert.equal(status, want, `status for ${name}`);
    }

    // None of them may have ended the attempt.
    const completed = sidecar.request('auth/complete', { attemptId: attempt.attemptId });
    const page = await fetchPage(attempt.url);
    assert.equal(page.status, 200, page.body);
    const result = await completed;
    assert.equal(result.signedIn, true);
    assert.equal(result.method, 'oauth');
    assert.equal(result.expiresAt, null);
  });

  it('cancelled wait keeps attempt', async () => {
    await signOut();
    const changesBefore = sidecar.authChanges.items.length;
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });

    const source = new CancellationTokenSource();
    const waiting = sidecar.request('auth/complete', { attemptId: attempt.attemptId }, source.token);
    source.cancel();
    await rejectsWithCode(waiting, -32800);
    source.dispose();

    const page = await fetchPage(attempt.url);
    assert.equal(page.status, 200, page.body);
    const change = await sidecar.authChanges.waitFor((c) => c.signedIn, 'auth/didChange after the browser sign-in', changesBefore);
    assert.equal(change.method, 'oauth');
  });

  it('pasted callbackUrl', async () => {
    await signOut();
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    const callbackUrl = await callbackUrlFor(attempt);

    const result = await sidecar.request('auth/complete', { attemptId: attempt.attemptId, callbackUrl });

    assert.equal(result.signedIn, true);
    assert.equal(result.method, 'oauth');
  });

  it('pasted callbackUrl wrong state', async () => {
    await signOut();
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    const callbackUrl = new URL(await callbackUrlFor(attempt));
    callbackUrl.searchParams.set('state', 'not-the-state');

    const error = await rejectsWithCode(
      sidecar.request('auth/complete', { attemptId: attempt.attemptId, callbackUrl: callbackUrl.href }),
      1010,
    );

    assert.equal(error.data.reason, 'state_mismatch');
    const code = callbackUrl.searchParams.get('code');
    assert.ok(!error.message.includes(code), 'the error message must not contain the code');
  });

  it('pasted bare code', async () => {
    await signOut();
    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    const code = new URL(await callbackUrlFor(attempt)).searchParams.get('code');

    const result = await sidecar.request('auth/complete', { attemptId: attempt.attemptId, code });

    assert.equal(result.signedIn, true);
    assert.equal(result.method, 'oauth');
  });

  it('new authorize ends pending attempt', async () => {
    await signOut();
    const first = await sidecar.request('auth/authorize', { method: 'oauth' });
    // The handlers are attached at once because the error may arrive before
    // the second auth/authorize response.
    const waiting = sidecar.connection.sendRequest('auth/complete', { attemptId: first.attemptId }).then(
      (result) => ({ result }),
      (error) => ({ error }),
    );

    const second = await sidecar.request('auth/authorize', { method: 'oauth' });
    assert.notEqual(second.attemptId, first.attemptId);

    const { result, error } = await within(waiting, 'the wait on the replaced attempt to end');
    assert.equal(result, undefined, 'the replaced attempt must not complete');
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${error}`);
    assert.equal(error.code, 1010, `error: ${error.message}`);
  });

  it('unknown attemptId', async () => {
    const error = await rejectsWithCode(sidecar.request('auth/complete', { attemptId: 'no-such-attempt' }), 1010);

    assert.equal(error.data.reason, 'unknown_attempt');
  });

  it('POE_API_KEY outlives signOut', async () => {
    const envSidecar = await Sidecar.start(fake, { env: { POE_API_KEY: apiKey } });
    try {
      await envSidecar.initialize({});

      const status = await envSidecar.request('auth/status');
      assert.equal(status.signedIn, true);
      assert.equal(status.source, 'env');
      const balance = await envSidecar.request('provider/balance');
      assert.ok(Number.isInteger(balance.points));

      const remaining = await envSidecar.request('auth/signOut');
      assert.equal(remaining.signedIn, true, 'the key from the environment must still be in use');
      assert.equal(remaining.source, 'env');
      assert.equal(envSidecar.stderr, '');
    } finally {
      await envSidecar.close();
    }
  });

  it('shared credential file', async () => {
    await signOut();
    const shared = await mkdtemp(path.join(tmpdir(), 'poe-sidecar-shared-'));
    const first = await Sidecar.start(fake, { dataHome: shared });
    const second = await Sidecar.start(fake, { dataHome: shared });
    try {
      await first.initialize({});
      await second.initialize({});
      assert.equal((await second.request('auth/status')).signedIn, false);

      const attempt = await first.request('auth/authorize', { method: 'apiKey' });
      await first.request('auth/complete', { attemptId: attempt.attemptId, apiKey });

      const status = await second.request('auth/status');
      assert.equal(status.signedIn, true, 'a sign-in in one sidecar must reach the other');
      assert.equal(status.method, 'apiKey');
      const change = await second.authChanges.waitFor((c) => c.signedIn, 'auth/didChange in the other sidecar');
      assert.equal(change.method, 'apiKey');
      const balance = await second.request('provider/balance');
      assert.ok(Number.isInteger(balance.points));

      await second.request('auth/signOut');
      assert.equal((await first.request('auth/status')).signedIn, false, 'a sign-out in one sidecar must reach the other');
      assert.equal(first.stderr, '');
      assert.equal(second.stderr, '');
    } finally {
      await first.close();
      await second.close();
      await rm(shared, { recursive: true, force: true });
    }
  });
});
