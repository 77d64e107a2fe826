import { createLogger, exitGracefullyOnSignals } from '@parley/observability';
import { loadIngressConfig } from './config/ingress.config';
import { startIngress } from './ingress.app';

async function main(): Promise<void> {
  const logger = createLogger('ingress');
  const running = await startIngress(loadIngressConfig());
  exitGracefullyOnSignals(() => running.close(), { logger });
}

main().catch((error: unknown) => {
  createLogger('ingress').fatal({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'ingress failed to start');
  process.exit(1);
});
