import { createLogger, exitGracefullyOnSignals } from '@parley/observability';
import { loadAvailabilityConfig } from './config/availability.config';
import { startAvailability } from './availability.app';

async function main(): Promise<void> {
  const logger = createLogger('availability');
  const running = await startAvailability(loadAvailabilityConfig());
  exitGracefullyOnSignals(() => running.close(), { logger });
}

main().catch((error: unknown) => {
  createLogger('availability').fatal({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'availability failed to start');
  process.exit(1);
});
