import { EventLogClosedError } from '../event-log.errors';

interface Waiting<TRequest, TResult> {
  readonly request: TRequest;
  readonly resolve: (result: TResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: appends that arrive while a write is in flight are written
 * together in the next one, so 100 concurrent appenders cost a handful of
 * round trips (MongoDB) or fsyncs (SQLite) instead of 100, and never fight each
 * other for the store's write lock ("database is locked").
 *
 * Two appends to the same stream never share a batch: the second waits for the
 * next one, so it sees the first's result and the expected-version check stays exact.
 */
export class GroupCommitQueue<TRequest extends { readonly streamId: string }, TResult> {
  private readonly waiting: Waiting<TRequest, TResult>[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    /** Writes one batch; returns, per request and in the same order, its result or its error. */
    private readonly writeBatch: (batch: readonly TRequest[]) => Promise<readonly (TResult | Error)[]>,
    private readonly maxBatchSize = 256,
  ) {}

  submit(request: TRequest): Promise<TResult> {
    if (this.closed) return Promise.reject(new EventLogClosedError());
    return new Promise<TResult>((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Stops taking appends and waits for those already taken. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        // Yield to the event loop before every batch, not only the first: appends
        // issued in the same turn join it, and, with a synchronous store (SQLite),
        // the results' continuations would otherwise feed the next batch through
        // microtasks forever and starve the sockets (seconds of stall at 600/s).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.takeBatch();
        let results: readonly (TResult | Error)[];
        try {
          results = await this.writeBatch(batch.map((w) => w.request));
        } catch (error) {
          for (const w of batch) w.reject(error);
          continue;
        }
        batch.forEach((w, i) => {
          const result = results[i];
          if (result instanceof Error) w.reject(result);
          else w.resolve(result as TResult);
        });
      }
    } finally {
      this.running = null;
    }
  }

  private takeBatch(): Waiting<TRequest, TResult>[] {
    const streams = new Set<string>();
    const batch: Waiting<TRequest, TResult>[] = [];
    for (let i = 0; i < this.waiting.length && batch.length < this.maxBatchSize;) {
      const w = this.waiting[i]!;
      if (streams.has(w.request.streamId)) {
        i++;
        continue;
      }
      streams.add(w.request.streamId);
      batch.push(w);
      this.waiting.splice(i, 1);
    }
    return batch;
  }
}
