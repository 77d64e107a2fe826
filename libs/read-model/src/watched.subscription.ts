import type { Subscription } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';

/** A bus subscription whose liveness loop is beaten every second while its consumer runs, idle or not. */
export class WatchedSubscription {
  private readonly watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly subscription: Subscription,
    progress?: LoopProgress,
  ) {
    if (progress) {
      this.watch = setInterval(() => this.running() && progress.beat(), 1000);
      this.watch.unref();
    }
  }

  running(): boolean {
    return this.subscription.running();
  }

  /** Lets the message in hand finish, commits, and leaves the group. */
  async close(): Promise<void> {
    clearInterval(this.watch);
    await this.subscription.close();
  }
}
