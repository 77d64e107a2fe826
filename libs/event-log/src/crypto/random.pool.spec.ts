import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { RandomPool, pooledRandomBytes } from './random.pool';

describe('the pool of random bytes for keys and IVs', () => {
  it('hands out copies of fresh bytes, zeroes what it handed out, and refills when it runs short', () => {
    const bytes = Buffer.alloc(64);
    let refills = 0;
    let counter = 1;
    const pool = new RandomPool(bytes, (into) => {
      refills++;
      for (let i = 0; i < into.length; i++) into[i] = counter++ % 251 || 1;
    });
    const key = pool.take(32);
    assert.equal(refills, 1);
    assert.equal(key.length, 32);
    assert.ok(key.every((b) => b !== 0));
    assert.ok(
      bytes.subarray(0, 32).every((b) => b === 0),
      'the key is no longer in the pool',
    );
    assert.ok(
      bytes.subarray(32).every((b) => b !== 0),
      'the rest is still to be handed out',
    );
    key.fill(7);
    const iv = pool.take(12);
    assert.ok(
      iv.every((b) => b !== 0 && b !== 7),
      'a draw is a copy of its own',
    );
    const next = pool.take(32);
    assert.equal(refills, 2, 'twenty bytes left were too few for 32');
    assert.notDeepEqual(next, iv.subarray(0, 12));
    assert.throws(() => pool.take(65), RangeError);
    assert.throws(() => pool.take(0), RangeError);
  });

  it('never hands out the same bytes twice (the shared pool, across refills)', () => {
    const seen = new Set(Array.from({ length: 3000 }, () => pooledRandomBytes(12).toString('hex')));
    assert.equal(seen.size, 3000);
    assert.equal(pooledRandomBytes(32).length, 32);
  });
});
