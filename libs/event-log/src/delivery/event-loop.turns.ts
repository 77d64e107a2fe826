/**
 * SQLite answers synchronously, so a reader working through a backlog of the
 * log (a projection, the live feed, the dispatcher) resolves every await at once
 * and never gives the sockets a turn (docs/benchmarks.md has what that cost). A reader calls `pause()` after each
 * event; it yields to the event loop once its share of the turn is used.
 */
export class EventLoopTurns {
  private since = performance.now();

  constructor(private readonly budgetMs = 5) {}

  pause(): Promise<void> | undefined {
    if (performance.now() - this.since < this.budgetMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        this.since = performance.now();
        resolve();
      }),
    );
  }
}
