import { createLogger, exitGracefullyOnSignals } from '@parley/observability';
import { loadHistoryConfig } from './config/history.config';
import { startHistory } from './history.app';

async function main(): Promise<void> {
  const logger = createLogger('history');
  const running = await startHistory(loadHistoryConfig());
  exitGracefullyOnSignals(() => running.close(), { logger });
}

main().catch((error: unknown) => {
  createLogger('history').fatal({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'history failed to start');
  process.exit(1);
});
