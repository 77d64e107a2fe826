/**
 * Token buckets by key (a business number, a recipient): `take` resolves when
 * the key may send again. The clock and the sleep are injectable for specs.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    },
  ) {}

  /** Waits for a token; returns how long it waited, in ms. */
  async take(key: string): Promise<number> {
    let waited = 0;
    for (;;) {
      const now = this.clock.now();
      const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
      this.buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return waited;
      }
      const ms = Math.ceil(((1 - bucket.tokens) / this.perSecond) * 1000);
      waited += ms;
      await this.clock.sleep(ms);
    }
  }
}
