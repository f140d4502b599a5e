// One editor session against the fake Poe, driven the way VS Code's language
// client drives a server: initialize, both sign-in flows, the provider
// methods, chat streams with both kinds of cancellation, then shutdown and
// exit. The steps run in order and share one sidecar process.

import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';

import { EXIT_MS, Sidecar, WAIT_MS, randomApiKey, rejectsWithCode, startFake, stopAll, within } from './harness.mjs';

/** Lifetime, in seconds, of the keys the fake issues through OAuth. */
const OAUTH_KEY_SECONDS = 3600;

/** Asserts the seq, text and done rules of one finished stream against its chat/send result. */
function assertStreamMatches(log, result, finishReason) {
  const seqs = log.notifications.map((params) => params.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i), 'seq must start at 0 and grow by one');

  const done = log.doneNotifications;
  assert.equal(done.length, 1, 'exactly one done notification');
  assert.equal(log.notifications.at(-1).done, true, 'the done notification must be the last');
  assert.equal(done[0].finishReason, finishReason);

  assert.equal(result.finishReason, finishReason);
  assert.equal(log.text, result.text, 'the deltas joined must equal result.text');
}

describe('session', { timeout: 120_000 }, () => {
  const apiKey = randomApiKey();
  // Values that must never reach the log file, by description.
  const secrets = new Map([['the pasted API key', apiKey]]);
  const startedStreams = new Set();
  // Streams whose chat/send failed validation. The sidecar may end them with a
  // done notification or send nothing at all.
  const paramErrorStreams = new Set();
  let fake;
  let sidecar;
  let model;

  before(async () => {
    fake = await startFake(['-key', apiKey, '-chunk-delay', '20ms', '-key-expires-in', String(OAUTH_KEY_SECONDS)]);
    sidecar = await Sidecar.start(fake);
  });

  after(async () => {
    await sidecar?.close();
    await stopAll();
  });

  function chat(streamId, prompt, token) {
    startedStreams.add(streamId);
    return sidecar.chat(streamId, model, prompt, token);
  }

  it('initialize result', async () => {
    // Debug level logs the most, which gives the secrets check below more to read.
    const result = await sidecar.initialize({ logLevel: 'debug' });

    assert.equal(result.capabilities.experimental.poe.protocolVersion, 1);
    assert.equal(result.serverInfo.name, 'poe-sidecar');
    assert.equal(typeof result.serverInfo.version, 'string');

    const logFile = result.capabilities.experimental.poe.logFile;
    assert.equal(typeof logFile, 'string', 'logFile is a path when logs go to a file');
    assert.ok(
      logFile.startsWith(path.join(sidecar.stateHome, 'poe-sidecar') + path.sep),
      `log file ${logFile} must be under $XDG_STATE_HOME/poe-sidecar`,
    );
  });

  it('auth/methods list', async () => {
    const result = await sidecar.request('auth/methods');

    assert.deepEqual(result, {
      methods: [
        { id: 'oauth', type: 'oauth', label: 'Sign in with Poe (browser)' },
        { id: 'apiKey', type: 'apiKey', label: 'Paste a Poe API key' },
      ],
    });
  });

  it('auth/status signed out', async () => {
    const result = await sidecar.request('auth/status');

    assert.equal(result.signedIn, false);
    assert.equal(result.expired, false);
    assert.equal(result.problem, undefined);
  });

  it('provider/models before sign-in', async () => {
    const result = await sidecar.request('provider/models');

    assert.ok(result.models.length > 0, 'Poe serves the model list without a key');
  });

  it('provider/balance needs sign-in', async () => {
    const error = await rejectsWithCode(sidecar.request('provider/balance'), 1001);

    assert.equal(error.data.reason, 'not_signed_in');
    assert.equal(error.data.action, 'signIn');
  });

  const badKeyCases = [
    { name: 'unknown to Poe', key: randomApiKey() },
    { name: 'wrong shape', key: 'not-a-poe-key' },
    { name: 'too short', key: 'sk-poe-abc' },
    { name: 'blank', key: '   ' },
  ];
  for (const { name, key } of badKeyCases) {
    it(`apiKey sign-in rejects key ${name}`, async () => {
      if (key.trim().length >= 10) {
        secrets.set(`the rejected key ${name}`, key);
      }
      const attempt = await sidecar.request('auth/authorize', { method: 'apiKey' });

      const error = await rejectsWithCode(
        sidecar.request('auth/complete', { attemptId: attempt.attemptId, apiKey: key }),
        1010,
      );

      assert.equal(error.data.reason, 'invalid_api_key');
      if (key.trim() !== '') {
        assert.ok(!error.message.includes(key), 'the error message must not contain the key');
        assert.ok(!JSON.stringify(error.data).includes(key), 'the error data must not contain the key');
      }
      const status = await sidecar.request('auth/status');
      assert.equal(status.signedIn, false, 'a rejected key must not be stored');
    });
  }

  it('apiKey sign-in', async () => {
    const changesBefore = sidecar.authChanges.items.length;

    const attempt = await sidecar.request('auth/authorize', { method: 'apiKey' });
    assert.equal(typeof attempt.attemptId, 'string');
    assert.notEqual(attempt.attemptId, '');
    assert.equal(attempt.method, 'apiKey');
    assert.equal(attempt.mode, 'prompt');
    assert.equal(attempt.url, 'https://poe.com/api_key');
    assert.equal(typeof attempt.instructions, 'string');

    // Surrounding white space, as a paste often carries, must be trimmed.
    const result = await sidecar.request('auth/complete', { attemptId: attempt.attemptId, apiKey: ` ${apiKey}\n` });
    assert.deepEqual(result, { signedIn: true, method: 'apiKey', expiresAt: null });

    const change = await sidecar.authChanges.waitFor((c) => c.signedIn, 'auth/didChange after the apiKey sign-in', changesBefore);
    assert.equal(change.method, 'apiKey');
    assert.equal(change.expired, false);

    const status = await sidecar.request('auth/status');
    assert.equal(status.signedIn, true);
    assert.equal(status.method, 'apiKey');
    assert.equal(status.source, 'file');
    assert.equal(status.expiresAt, null);
    assert.equal(status.expired, false);
  });

  it('credential file modes', async () => {
    const folder = path.join(sidecar.dataHome, 'poe-sidecar');
    const folderInfo = await stat(folder);
    const fileInfo = await stat(path.join(folder, 'auth.json'));

    assert.equal(folderInfo.mode & 0o777, 0o700, `mode of ${folder}`);
    assert.equal(fileInfo.mode & 0o777, 0o600, 'mode of auth.json');
  });

  it('provider/balance with key', async () => {
    const result = await sidecar.request('provider/balance');

    assert.equal(typeof result.points, 'number');
    assert.ok(Number.isInteger(result.points), `points ${result.points} must be an integer`);
  });

  it('auth/signOut', async () => {
    const changesBefore = sidecar.authChanges.items.length;

    const result = await sidecar.request('auth/signOut');
    assert.equal(result.signedIn, false);
    assert.equal(result.expired, false);

    const change = await sidecar.authChanges.waitFor((c) => !c.signedIn, 'auth/didChange after sign-out', changesBefore);
    assert.equal(change.expired, false);
    await rejectsWithCode(sidecar.request('provider/balance'), 1001);
  });

  it('oauth sign-in', async () => {
    const changesBefore = sidecar.authChanges.items.length;

    const attempt = await sidecar.request('auth/authorize', { method: 'oauth' });
    assert.equal(typeof attempt.attemptId, 'string');
    assert.equal(attempt.method, 'oauth');
    assert.equal(attempt.mode, 'auto');
    assert.equal(typeof attempt.instructions, 'string');
    assert.match(attempt.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const expiresAt = Date.parse(attempt.attemptExpiresAt);
    assert.ok(expiresAt > Date.now(), `attemptExpiresAt ${attempt.attemptExpiresAt} must be in the future`);
    assert.ok(expiresAt <= Date.now() + 310_000, `attemptExpiresAt ${attempt.attemptExpiresAt} must be about 300 s ahead`);

    assert.ok(attempt.url.startsWith(fake.authorizeUrl + '?'), `authorize URL ${attempt.url} must point at the fake`);
    const query = new URL(attempt.url).searchParams;
    assert.notEqual(query.get('client_id') ?? '', '');
    assert.equal(query.get('redirect_uri'), attempt.redirectUri);
    assert.equal(query.get('response_type'), 'code');
    assert.equal(query.get('scope'), 'apikey:create');
    assert.match(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(query.get('code_challenge_method'), 'S256');
    assert.notEqual(query.get('state') ?? '', '');

    // As in an editor, the wait starts before the browser visits the URL.
    const completed = sidecar.request('auth/complete', { attemptId: attempt.attemptId });
    const page = await within(fetch(attempt.url, { signal: AbortSignal.timeout(WAIT_MS) }), 'the callback page');
    const body = await page.text();

    assert.equal(page.status, 200, `callback page: ${body}`);
    assert.ok(page.redirected, 'fetch must have followed the redirect to the callback');
    const landed = new URL(page.url);
    assert.equal(landed.origin + landed.pathname, attempt.redirectUri);
    const code = landed.searchParams.get('code');
    assert.ok(code, 'the fake must have sent a code');
    assert.ok(!body.includes(code), 'the page must not show the authorization code');
    secrets.set('the authorization code', code);
    secrets.set('the OAuth state', query.get('state'));

    const result = await completed;
    assert.equal(result.signedIn, true);
    assert.equal(result.method, 'oauth');
    const keyExpiry = Date.parse(result.expiresAt);
    const wantExpiry = Date.now() + OAUTH_KEY_SECONDS * 1000;
    assert.ok(Math.abs(keyExpiry - wantExpiry) < 60_000, `expiresAt ${result.expiresAt} must be about ${OAUTH_KEY_SECONDS} s ahead`);

    const change = await sidecar.authChanges.waitFor((c) => c.signedIn, 'auth/didChange after the oauth sign-in', changesBefore);
    assert.equal(change.method, 'oauth');
    assert.equal(change.expiresAt, result.expiresAt);

    const status = await sidecar.request('auth/status');
    assert.equal(status.signedIn, true);
    assert.equal(status.method, 'oauth');
    assert.equal(status.source, 'file');
    assert.equal(status.expired, false);

    const stored = await readFile(path.join(sidecar.dataHome, 'poe-sidecar', 'auth.json'), 'utf8');
    const issuedKey = stored.match(/sk-poe-[A-Za-z0-9_-]{34,}/)?.[0];
    assert.ok(issuedKey, 'auth.json must contain the key the fake issued');
    secrets.set('the key issued through OAuth', issuedKey);
  });

  it('provider/models list', async () => {
    const result = await sidecar.request('provider/models');

    assert.ok(Array.isArray(result.models), 'models must be an array');
    assert.ok(result.models.length > 0, 'models must not be empty');
    for (const entry of result.models) {
      assert.equal(typeof entry.id, 'string');
      assert.notEqual(entry.id, '');
    }
    model = result.models[0].id;
  });

  it('provider/balance after oauth', async () => {
    const result = await sidecar.request('provider/balance');

    assert.ok(Number.isInteger(result.points), `points ${result.points} must be an integer`);
  });

  it('chat/send streams the reply', async () => {
    const prompt = 'hello from the node test';

    const { result, error, doneCountAtResponse } = await chat('single', prompt);
    assert.equal(error, undefined);
    assert.equal(doneCountAtResponse, 1, 'the done notification must arrive before the chat/send response');

    assert.equal(result.streamId, 'single');
    assert.ok(result.text.includes(`You said: ${prompt}`), `text: ${result.text}`);
    const log = sidecar.stream('single');
    assert.ok(log.notifications.length > 2, 'the reply must come in several deltas');
    assertStreamMatches(log, result, 'stop');
  });

  it('chat/send non-ASCII text', async () => {
    // Content-Length counts bytes, so multi-byte characters check both sides' framing.
    const prompt = 'grüße aus 東京 😀 naïve café';

    const { result, error } = await chat('non-ascii', prompt);
    assert.equal(error, undefined);

    assert.ok(result.text.includes(`You said: ${prompt}`), `text: ${result.text}`);
    assertStreamMatches(sidecar.stream('non-ascii'), result, 'stop');
  });

  it('chat/send large message', async () => {
    // One 300 000-character word, so its reply delta is one large frame too.
    const word = 'ab'.repeat(150_000);

    const { result, error } = await chat('large', word);
    assert.equal(error, undefined);

    assert.ok(result.text.includes(`You said: ${word}`), `text length: ${result.text.length}`);
    assertStreamMatches(sidecar.stream('large'), result, 'stop');
  });

  it('chat/send unknown model', async () => {
    startedStreams.add('unknown-model');
    const log = sidecar.stream('unknown-model');

    const { error, doneCountAtResponse } = await sidecar.chat('unknown-model', 'No-Such-Model-1', 'hello');
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${error}`);
    assert.equal(error.code, 1020);
    assert.equal(error.data.reason, 'bad_request');
    assert.equal(error.data.status, 404);
    assert.equal(doneCountAtResponse, 1, 'the done notification must arrive before the error response');

    const [done] = log.doneNotifications;
    assert.equal(done.error?.code, 1020, `done notification: ${JSON.stringify(done)}`);
    assert.equal(done.error?.data?.reason, 'bad_request');
  });

  const invalidChatCases = [
    { name: 'missing streamId', field: 'streamId', params: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } },
    { name: 'missing model', field: 'model', params: { streamId: 'invalid-model', messages: [{ role: 'user', content: 'hi' }] } },
    { name: 'missing messages', field: 'messages', params: { streamId: 'invalid-messages', model: 'm' } },
  ];
  for (const { name, field, params } of invalidChatCases) {
    it(`chat/send ${name}`, async () => {
      if (params.streamId !== undefined) {
        paramErrorStreams.add(params.streamId);
      }

      const error = await rejectsWithCode(sidecar.request('chat/send', params), -32602);

      assert.ok(error.message.includes(field), `message ${JSON.stringify(error.message)} must name ${field}`);
    });
  }

  it('chat/send two concurrent streams', async () => {
    const promptB = 'second stream says hi';

    const sendA = chat('concurrent-a', '/long 40');
    const sendB = chat('concurrent-b', promptB);
    const [a, b] = await Promise.all([sendA, sendB]);

    assert.equal(a.error, undefined);
    assert.equal(b.error, undefined);
    const logA = sidecar.stream('concurrent-a');
    const logB = sidecar.stream('concurrent-b');
    assertStreamMatches(logA, a.result, 'stop');
    assertStreamMatches(logB, b.result, 'stop');
    assert.equal(a.doneCountAtResponse, 1);
    assert.equal(b.doneCountAtResponse, 1);

    assert.equal(a.result.text.trim().split(/\s+/).length, 40, `text of A: ${a.result.text}`);
    assert.ok(b.result.text.includes(`You said: ${promptB}`), `text of B: ${b.result.text}`);
    assert.ok(!a.result.text.includes(promptB), 'stream A must not carry text of stream B');
    const firstOfB = logB.items[0].at;
    const doneOfA = logA.items.at(-1).at;
    assert.ok(firstOfB < doneOfA, 'stream B must start before stream A ends');
  });

  it('chat/cancel ends a stream', async () => {
    const log = sidecar.stream('cancel-by-method');
    const sent = chat('cancel-by-method', '/long 2000');
    await log.firstDelta();

    const cancel = await sidecar.request('chat/cancel', { streamId: 'cancel-by-method' });
    assert.deepEqual(cancel, { cancelled: true });

    const { result, error, doneCountAtResponse } = await sent;
    assert.equal(error, undefined, 'a cancelled stream must return a normal result');
    assert.equal(doneCountAtResponse, 1, 'the done notification must arrive before the chat/send response');
    assert.equal(result.streamId, 'cancel-by-method');
    assertStreamMatches(log, result, 'cancelled');
    assert.ok(log.notifications.length < 2001, 'the stream must end before all 2000 words');
  });

  it('chat/cancel of ended stream', async () => {
    const result = await sidecar.request('chat/cancel', { streamId: 'cancel-by-method' });

    assert.deepEqual(result, { cancelled: false });
  });

  it('chat/cancel right after send', async () => {
    // The editor sends chat/cancel without waiting for any delta, so the
    // sidecar reads it right after the chat/send of the same stream. A race
    // in the sidecar could let a single try pass by chance, so the test
    // makes ten.
    for (let i = 0; i < 10; i++) {
      const streamId = `cancel-at-once-${i}`;
      const sent = chat(streamId, '/long 50');

      const cancel = await sidecar.request('chat/cancel', { streamId });
      const { result, error } = await sent;

      assert.deepEqual(cancel, { cancelled: true }, `chat/cancel of ${streamId}`);
      assert.equal(error, undefined);
      assertStreamMatches(sidecar.stream(streamId), result, 'cancelled');
    }
  });

  it('$/cancelRequest ends a stream', async () => {
    const log = sidecar.stream('cancel-by-token');
    const source = new CancellationTokenSource();
    const sent = chat('cancel-by-token', '/long 2000', source.token);
    await log.firstDelta();

    source.cancel();

    const { error, doneCountAtResponse } = await sent;
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${error}`);
    assert.equal(error.code, -32800);
    assert.equal(doneCountAtResponse, 1, 'the done notification must arrive before the error response');
    const done = log.doneNotifications;
    assert.equal(done.length, 1);
    assert.equal(done[0].finishReason, 'cancelled');
    const seqs = log.notifications.map((params) => params.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i));
    source.dispose();
  });

  it('unknown method', async () => {
    await rejectsWithCode(sidecar.request('poe/noSuchMethod', {}), -32601);
  });

  it('shutdown and exit', async () => {
    const result = await sidecar.request('shutdown');
    assert.equal(result, null);
    await rejectsWithCode(sidecar.request('auth/status'), -32600);

    await sidecar.connection.sendNotification('exit');
    const { code, signal } = await within(sidecar.exited, 'the sidecar to exit after exit', EXIT_MS);
    assert.equal(signal, null);
    assert.equal(code, 0);
  });

  it('stdout carried only protocol', () => {
    assert.deepEqual(sidecar.connectionErrors.map(String), []);
    assert.deepEqual(sidecar.libraryErrors, []);
    assert.deepEqual(sidecar.unexpectedNotifications, []);
  });

  it('no response without request', () => {
    assert.ok(sidecar.trace.length > 0, 'the message trace must be on');
    const stray = sidecar.trace.filter((line) => line.includes('without active response promise'));
    assert.deepEqual(stray, []);
  });

  it('stderr stayed empty', () => {
    assert.equal(sidecar.stderr, '');
  });

  it('every stream ended once', () => {
    for (const streamId of startedStreams) {
      assert.ok(sidecar.streams.get(streamId)?.items.length > 0, `no notification for ${streamId}`);
    }
    for (const streamId of sidecar.streams.keys()) {
      const known = startedStreams.has(streamId) || paramErrorStreams.has(streamId);
      assert.ok(known, `notification for stream ${streamId}, which was never started`);
    }
    for (const [streamId, log] of sidecar.streams) {
      if (log.items.length === 0) {
        continue;
      }
      assert.equal(log.doneNotifications.length, 1, `done notifications of ${streamId}`);
      assert.equal(log.notifications.at(-1).done, true, `last notification of ${streamId}`);
    }
  });

  it('log file keeps secrets out', async () => {
    const logFolder = path.join(sidecar.stateHome, 'poe-sidecar');
    const names = await readdir(logFolder);
    assert.ok(names.length > 0, 'the sidecar must have written a log file');

    for (const name of names) {
      const text = await readFile(path.join(logFolder, name), 'utf8');
      assert.ok(text.includes('chat/send'), `${name} must contain the debug log of the session`);
      for (const [description, value] of secrets) {
        assert.ok(!text.includes(value), `${name} must not contain ${description}`);
      }
    }
  });
});
