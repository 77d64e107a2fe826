import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';

/** Polls until the condition holds; fails with the last observed value after the deadline. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 20_000, everyMs = 50, what = 'condition' }: { timeoutMs?: number; everyMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Connection settings of the real infrastructure. `npm test` starts Kafka and
 * FerretDB and sets these; set them yourself to test against other servers.
 * A test that needs them fails loudly when they are missing: nothing is skipped.
 */
export function infrastructure(): { kafkaBrokers: string[]; mongoUrl: string } {
  const kafka = process.env['PARLEY_KAFKA_BROKERS'];
  const mongo = process.env['PARLEY_MONGO_URL'];
  if (!kafka || !mongo) {
    throw new Error('PARLEY_KAFKA_BROKERS and PARLEY_MONGO_URL must be set: run the tests with `npm test`, which starts Kafka and FerretDB');
  }
  return { kafkaBrokers: kafka.split(',').map((b) => b.trim()), mongoUrl: mongo };
}

/**
 * Runs `promtool check metrics` (Debian's prometheus package; scripts/test.sh
 * installs it when missing) on an exposition text; returns its complaints, empty
 * when the metrics follow Prometheus's conventions.
 */
export async function promtoolProblems(exposition: string): Promise<string[]> {
  const child = spawn(process.env['PARLEY_PROMTOOL'] ?? 'promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  child.stdin.end(exposition);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const problems = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return code === 0 && problems.length === 0 ? [] : problems.length ? problems : [`promtool exited with ${code}`];
}
export * from './grpc.calls';
