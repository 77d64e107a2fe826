/**
 * One lane per customer: what one customer sends is recorded one event after the
 * other, in the order it arrived, while different customers go at once. A
 * customer who sends five photos at once arrives as five webhooks at the same
 * moment; without a lane they would race for the same conversation version and
 * lose retries to each other (the channel would get errors and deliver again).
 */
export class CustomerLanes {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    // The last one out removes the lane, so idle customers cost nothing.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Lanes with work queued or running (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
