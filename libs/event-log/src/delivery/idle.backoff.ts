/**
 * How long a follower of the log waits before it looks again: not at all while
 * it finds events, then `minMs`, doubling up to `maxMs` while it finds none. An
 * idle follower polling every 50 ms is twenty queries a second for nothing; a
 * stack of eight replicas of such followers kept FerretDB at 80 % of a core.
 */
export class IdleBackoff {
  private idle = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** The wait before the next look, given whether this one found anything. */
  next(found: boolean): number {
    if (found) {
      this.idle = 0;
      return 0;
    }
    this.idle++;
    return Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.idle - 1, 20));
  }
}
