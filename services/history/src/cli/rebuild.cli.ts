/**
 * `npm run history:rebuild -- <projection>`: rebuilds a read model from the first
 * event while the service keeps serving the current one, then switches to it.
 * Reads the same environment as the service; shows a progress bar and the rate.
 */
import { Registry } from '@parley/observability';
import { ProjectionRunner } from '@parley/read-model';
import { loadHistoryConfig } from '../config/history.config';
import { historyProjections } from '../projections/history.projections';
import { openStorage } from '@parley/storage';

function bar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%`;
}

async function main(): Promise<void> {
  const config = loadHistoryConfig();
  const registry = new Registry();
  const store = await openStorage(config, registry);
  const log = store.log;
  // The rules in force now: rebuilding after a rule change recomputes the service levels.
  const all = Object.values(historyProjections(log, Buffer.from(config.PARLEY_MASTER_KEY, 'base64'), { botsCount: config.PARLEY_SLA_COUNT_BOTS }));
  const name = process.argv[2];
  const projection = all.find((p) => p.name === name);
  if (!projection) {
    process.stderr.write(`usage: history-rebuild <projection>\nprojections: ${all.map((p) => p.name).join(', ')}\n`);
    await store.close();
    process.exit(2);
  }
  const runner = new ProjectionRunner({ log, store: store.readModels, projection, registry });
  const last = await log.lastPosition();
  const started = Date.now();
  const interactive = process.stderr.isTTY === true;
  let lastPrint = 0;
  const result = await runner.rebuild((position, applied) => {
    const now = Date.now();
    if (now - lastPrint < 200 && position < last) return;
    lastPrint = now;
    const rate = applied / Math.max(0.001, (now - started) / 1000);
    const line = `${bar(position, last)} ${applied.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')} events/s`;
    process.stderr.write(interactive ? `\r${line}` : `${line}\n`);
  });
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(interactive ? '\n' : '');
  process.stdout.write(
    `rebuilt ${projection.name}: generation ${result.generation}, ${result.applied} events in ${seconds.toFixed(2)} s (${Math.round(result.applied / Math.max(seconds, 0.001))} events/s)\n`,
  );
  await store.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`rebuild failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
