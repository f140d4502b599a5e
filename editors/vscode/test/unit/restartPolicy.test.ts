import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RestartPolicy } from '../../src/restartPolicy';

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => { time += ms; } };
}

describe('RestartPolicy', () => {
  it('restarts up to the limit, then stops', () => {
    const time = clock();
    const policy = new RestartPolicy(3, 60_000, time.now);
    const got = [1, 2, 3, 4].map(() => {
      time.advance(1000);
      return policy.recordCrash();
    });
    assert.deepEqual(got, [
      { action: 'restart', attempt: 1 },
      { action: 'restart', attempt: 2 },
      { action: 'restart', attempt: 3 },
      { action: 'stop', crashes: 4 },
    ]);
  });

  it('forgets crashes older than the window', () => {
    const time = clock();
    const policy = new RestartPolicy(2, 60_000, time.now);
    policy.recordCrash();
    policy.recordCrash();
    time.advance(60_000);
    assert.deepEqual(policy.recordCrash(), { action: 'restart', attempt: 1 });
  });

  it('counts only crashes inside the window', () => {
    const time = clock();
    const policy = new RestartPolicy(2, 60_000, time.now);
    policy.recordCrash();
    time.advance(40_000);
    policy.recordCrash();
    time.advance(30_000);
    // The first crash is 70 s old now, so two crashes remain in the window.
    assert.deepEqual(policy.recordCrash(), { action: 'restart', attempt: 2 });
    assert.deepEqual(policy.recordCrash(), { action: 'stop', crashes: 3 });
  });

  it('starts over after reset', () => {
    const policy = new RestartPolicy(1, 60_000, clock().now);
    policy.recordCrash();
    assert.equal(policy.recordCrash().action, 'stop');
    policy.reset();
    assert.deepEqual(policy.recordCrash(), { action: 'restart', attempt: 1 });
  });

  it('stops at once with no restarts allowed', () => {
    assert.deepEqual(new RestartPolicy(0, 1000, clock().now).recordCrash(), { action: 'stop', crashes: 1 });
  });

  it('rejects invalid limits', () => {
    assert.throws(() => new RestartPolicy(-1, 1000), RangeError);
    assert.throws(() => new RestartPolicy(1.5, 1000), RangeError);
    assert.throws(() => new RestartPolicy(1, 0), RangeError);
  });
});
