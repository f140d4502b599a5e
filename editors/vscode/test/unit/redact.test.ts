import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';

import { createMessageConnection, StreamMessageReader, StreamMessageWriter, Trace, TraceFormat } from 'vscode-jsonrpc/node';

import { REDACTED, redactSecrets } from '../../src/redact';

const KEY = 'sk-poe-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-';

/**
 * Sends auth/complete with params over a pair of in-memory streams and
 * returns the client's trace at the given level, in the format that the
 * language client writes to its trace channel.
 */
async function traceOf(params: object, trace: Trace, format: TraceFormat = TraceFormat.Text): Promise<string> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const client = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  server.onRequest('auth/complete', () => ({ signedIn: true, method: 'apiKey', expiresAt: null }));
  server.listen();
  client.listen();

  const lines: string[] = [];
  await client.trace(trace, {
    log: (message: string | object, data?: string) => {
      lines.push(typeof message === 'string' ? (data === undefined ? message : `${message}\n${data}`) : JSON.stringify(message));
    },
  }, { traceFormat: format });
  await client.sendRequest('auth/complete', params);
  client.dispose();
  server.dispose();
  return lines.join('\n');
}

describe('redactSecrets', () => {
  for (const [name, level, format] of [
    ['verbose', Trace.Verbose, TraceFormat.Text],
    ['compact', Trace.Compact, TraceFormat.Text],
    ['json', Trace.Verbose, TraceFormat.JSON],
  ] as const) {
    it(`removes a pasted key from a ${name} trace`, async () => {
      const trace = await traceOf({ attemptId: 'attempt-1', apiKey: KEY }, level, format);
      assert.ok(trace.includes(KEY), 'the raw trace should contain the key, or this test checks nothing');

      const got = redactSecrets(trace);
      assert.ok(!got.includes(KEY), got);
      assert.ok(!got.includes('AbCdEfGhIjKlMnOp'), got);
      assert.ok(got.includes(REDACTED), got);
      assert.ok(got.includes('attempt-1'), 'the attempt id is no secret and stays');
    });
  }

  it('removes a key without the sk-poe- prefix', async () => {
    const bare = 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
    const got = redactSecrets(await traceOf({ attemptId: 'a', apiKey: bare }, Trace.Verbose));
    assert.ok(!got.includes(bare), got);
  });

  it('removes a bare authorization code', async () => {
    const got = redactSecrets(await traceOf({ attemptId: 'a', code: 'code-value-123' }, Trace.Verbose));
    assert.ok(!got.includes('code-value-123'), got);
  });

  it('removes code and state from a pasted callback address', async () => {
    const callbackUrl = 'http://127.0.0.1:53127/callback?code=secret-code&state=secret-state&iss=https%3A%2F%2Fpoe.com';
    const got = redactSecrets(await traceOf({ attemptId: 'a', callbackUrl }, Trace.Compact));
    assert.ok(!got.includes('secret-code'), got);
    assert.ok(!got.includes('secret-state'), got);
    assert.ok(got.includes('iss=https%3A%2F%2Fpoe.com'), 'other parameters stay');
  });

  it('removes the state from an authorize address', () => {
    const line = '"url": "https://poe.com/oauth/authorize?client_id=c&code_challenge=abc&state=s3cr3t&scope=apikey%3Acreate"';
    const got = redactSecrets(line);
    assert.equal(got, `"url": "https://poe.com/oauth/authorize?client_id=c&code_challenge=abc&state=${REDACTED}&scope=apikey%3Acreate"`);
  });

  it('removes a key quoted inside a chat message', () => {
    const got = redactSecrets(`"content": "my key is ${KEY}, is it valid?"`);
    assert.equal(got, `"content": "my key is ${REDACTED}, is it valid?"`);
  });

  it('keeps numeric error codes', () => {
    const line = '{"code": 1010, "message": "Sign-in failed."}';
    assert.equal(redactSecrets(line), line);
  });

  it('keeps a quoted "code" inside a string value', () => {
    const line = '"content": "print(\\"code\\": \\"x\\")"';
    assert.equal(redactSecrets(line), line);
  });
});
