import type { Logger } from 'pino';
import { createLogger } from './logger';

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

/**
 * A service's `main`: start it, stop it gracefully on a signal, and if it cannot
 * start, say why (without personal data) and exit 1.
 */
export function runService(name: string, start: () => Promise<{ close(): Promise<void> }>): void {
  const logger = createLogger(name);
  start()
    .then((running) => exitGracefullyOnSignals(() => running.close(), { logger }))
    .catch((error: unknown) => {
      logger.fatal(
        {
          err:
            error instanceof Error ? { name: error.name, message: error.message, details: (error as { details?: () => unknown }).details?.() } : String(error),
        },
        `${name} failed to start`,
      );
      process.exit(1);
    });
}
