import type { Logger } from 'pino';

/**
 * Graceful shutdown on SIGTERM (Kubernetes) and SIGINT (Ctrl-C): run `stop`
 * once (stop taking work, finish, flush), then exit 0; exit 1 if it takes
 * longer than the timeout.
 */
export function exitGracefullyOnSignals(stop: () => Promise<void>, options: { logger: Logger; timeoutMs?: number }): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, options.timeoutMs ?? 15_000);
    timer.unref();
    try {
      await stop();
      options.logger.info('stopped');
      process.exit(0);
    } catch (error) {
      options.logger.error({ err: (error as Error)?.message }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
