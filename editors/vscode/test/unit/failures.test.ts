import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ResponseError } from 'vscode-jsonrpc';

import { describeFailure } from '../../src/failures';

describe('describeFailure', () => {
  it('hides a cancelled request', () => {
    const got = describeFailure(new ResponseError(-32800, 'request cancelled'), 'Sign-in');
    assert.equal(got.kind, 'cancelled');
    assert.equal(got.signIn, false);
  });

  it('shows a declined sign-in as the sidecar wrote it', () => {
    const error = new ResponseError(1010, 'Sign-in was declined in the browser; sign in again to retry.', { reason: 'access_denied' });
    const got = describeFailure(error, 'Sign-in');
    assert.equal(got.kind, 'expected');
    assert.equal(got.message, 'Sign-in was declined in the browser; sign in again to retry.');
    assert.equal(got.reason, 'access_denied');
    assert.equal(got.signIn, false);
  });

  it('offers sign-in for a missing key', () => {
    const got = describeFailure(new ResponseError(1001, 'Sign in to Poe first.', { reason: 'not_signed_in', action: 'signIn' }), 'Chat');
    assert.equal(got.kind, 'expected');
    assert.equal(got.signIn, true);
  });

  it('offers sign-in when Poe rejects the key', () => {
    const got = describeFailure(new ResponseError(1020, 'Poe rejected the key.', { reason: 'forbidden', action: 'signIn' }), 'Chat');
    assert.equal(got.signIn, true);
  });

  it('keeps a rate limit without sign-in', () => {
    const got = describeFailure(new ResponseError(1020, 'Poe is rate limiting; retry in 30 seconds.', { reason: 'rate_limited', retryAfter: 30 }), 'Chat');
    assert.equal(got.kind, 'expected');
    assert.equal(got.reason, 'rate_limited');
    assert.equal(got.signIn, false);
  });

  for (const code of [-32099, -32098, -32097, -32096]) {
    it(`treats connection code ${code} as a stopped sidecar`, () => {
      const got = describeFailure(new ResponseError(code, 'Pending response rejected since connection got disposed'), 'Chat');
      assert.equal(got.kind, 'unexpected');
      assert.match(got.message, /^Chat failed because the Poe sidecar stopped/);
    });
  }

  it('names an unknown method as a version mismatch', () => {
    const got = describeFailure(new ResponseError(-32601, 'method not found: "auth/methods"'), 'Sign-in');
    assert.equal(got.kind, 'unexpected');
    assert.match(got.message, /versions match/);
  });

  it('describes a plain Error with its message', () => {
    const got = describeFailure(new Error('spawn EACCES'), 'Sign-in');
    assert.deepEqual(got, { kind: 'unexpected', message: 'Sign-in failed: spawn EACCES', signIn: false });
  });

  it('describes a thrown string', () => {
    assert.equal(describeFailure('boom', 'Chat').message, 'Chat failed: boom');
  });

  it('ignores data that is not an object', () => {
    const got = describeFailure({ code: 1010, message: 'Sign-in failed.', data: 'oops' }, 'Sign-in');
    assert.equal(got.reason, undefined);
    assert.equal(got.kind, 'expected');
  });
});
