import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { RateLimiter } from './rate.limiter';

/** A clock that only moves when someone sleeps. */
function fakeClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => void (now += ms),
    get elapsed() {
      return now;
    },
  };
}

describe('rate limiter', () => {
  it('lets a burst through, then spaces sends at the rate', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(80, 80, clock);
    for (let i = 0; i < 80; i++) assert.equal(await limiter.take('number-1'), 0);
    for (let i = 0; i < 80; i++) await limiter.take('number-1');
    assert.ok(clock.elapsed >= 990 && clock.elapsed <= 1010, `160 sends at 80/s with a burst of 80 take one second, took ${clock.elapsed} ms`);
  });

  it('keeps keys apart', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1, 1, clock);
    await limiter.take('a');
    assert.equal(await limiter.take('b'), 0, 'another recipient is not slowed');
    assert.equal(await limiter.take('a'), 1000, 'the same recipient waits a second');
  });
});
