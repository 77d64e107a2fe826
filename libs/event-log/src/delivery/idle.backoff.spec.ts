import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { IdleBackoff } from './idle.backoff';

describe('idle backoff of a log follower', () => {
  it('looks again at once while it finds events, then waits longer and longer up to its limit, and is quick again after a find', () => {
    const backoff = new IdleBackoff(50, 500);
    assert.equal(backoff.next(true), 0);
    assert.deepEqual(
      Array.from({ length: 7 }, () => backoff.next(false)),
      [50, 100, 200, 400, 500, 500, 500],
    );
    assert.equal(backoff.next(true), 0);
    assert.equal(backoff.next(false), 50);
  });

  it('stays at its limit however long it is idle', () => {
    const backoff = new IdleBackoff(100, 1000);
    let last = 0;
    for (let i = 0; i < 10_000; i++) last = backoff.next(false);
    assert.equal(last, 1000);
  });
});
