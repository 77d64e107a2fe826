import { createLogger } from '@parley/observability';
import { loadHistoryConfig } from './config/history.config';
import { startHistory } from './history.app';

async function main(): Promise<void> {
  const logger = createLogger('history');
  const running = await startHistory(loadHistoryConfig());
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger('history').fatal({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'history failed to start');
  process.exit(1);
});
