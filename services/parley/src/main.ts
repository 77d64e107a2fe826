import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OutboxRelay, SqliteEventLog } from '@parley/event-log';
import { InProcessBus } from '@parley/message-bus';
import { HealthRegistry, ObservabilityModule, PinoNestLogger, collectProcessMetrics, createLogger, defaultRegistry, exitGracefullyOnSignals } from '@parley/observability';
import { loadConfig } from './parley.config';

/**
 * `npm start`: Parley in one process, on the SQLite event log (kept in
 * PARLEY_DATA_DIR across restarts) and the in-process bus. The services join
 * this process as they are built; the same code runs alone per service over
 * Kafka and MongoDB in production.
 */
async function main(): Promise<void> {
  const logger = createLogger('parley');
  const config = loadConfig();
  const registry = defaultRegistry();
  collectProcessMetrics(registry);
  const health = new HealthRegistry();

  mkdirSync(config.dataDir, { recursive: true });
  const store = new SqliteEventLog({ filename: join(config.dataDir, 'events.db'), registry });
  const bus = new InProcessBus({ registry, logger });
  // The services that join this process append through publishingEventLog(store, relay).
  const relay = new OutboxRelay({ log: store, bus, logger });
  relay.start();
  health.addReadinessCheck('event-log', async () => ({ ok: (await store.streamVersion('parley-health')) >= 0 }));

  @Module({ imports: [ObservabilityModule.forRoot({ registry, health })] })
  class ParleyModule {}

  const app = await NestFactory.create(ParleyModule, { logger: new PinoNestLogger(logger) });
  await app.listen(config.httpPort, config.httpHost);
  const address = app.getHttpServer().address() as { port: number };
  const base = `http://${config.httpHost === '0.0.0.0' ? 'localhost' : config.httpHost}:${address.port}`;
  logger.info({ http: base, dataDir: config.dataDir }, 'Parley is running');
  process.stdout.write(`\nParley is running\n  health   ${base}/healthz  ${base}/readyz\n  metrics  ${base}/metrics\n  data     ${config.dataDir}\n\n`);

  exitGracefullyOnSignals(
    async () => {
      health.markShuttingDown();
      // Stop taking work first, then finish and flush what was taken.
      await app.close();
      await relay.stop();
      await relay.sweep().catch(() => 0);
      await bus.close();
      await store.close();
    },
    { logger, timeoutMs: config.shutdownTimeoutMs },
  );
}

main().catch((error: unknown) => {
  createLogger('parley').fatal({ err: error instanceof Error ? { name: error.name, message: error.message, details: (error as { details?: () => unknown }).details?.() } : String(error) }, 'Parley failed to start');
  process.exit(1);
});
