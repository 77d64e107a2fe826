import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@parley/testing-support';

export interface EmbeddedParley {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** The channels' base URL (the ingress behind npm start's port). */
  readonly channels: string;
  /** npm start's own HTTP base URL (console, demo, health). */
  readonly base: string;
  /** Bearer tokens printed at start: `supervisor`, `demo-agent-1`, `demo-agent-2`. */
  readonly tokens: Readonly<Record<string, string>>;
  /** Everything the process printed so far. */
  output(): string;
  /** host:port of a printed gRPC address: 'gRPC API', 'availability' or 'routing'. */
  grpcAddress(name: 'gRPC API' | 'availability' | 'routing'): string;
  stop(): Promise<void>;
}

/** Starts `npm start`'s process (services/parley/dist/main.js) on free ports and a fresh data folder. */
export async function startEmbedded(env: Record<string, string> = {}): Promise<EmbeddedParley> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-embedded-'));
  const child = spawn(process.execPath, [join(__dirname, '..', 'main.js')], {
    env: {
      ...process.env,
      PARLEY_HTTP_PORT: '0',
      PARLEY_GRPC_PORT: '0',
      PARLEY_AVAILABILITY_GRPC_PORT: '0',
      PARLEY_ROUTING_GRPC_PORT: '0',
      PARLEY_INGRESS_HTTP_PORT: '0',
      PARLEY_HTTP_HOST: '127.0.0.1',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(
    () => out,
    (o) => /demo-agent-2 \(agent\)\s+\S+\n/.test(o) || child.exitCode !== null,
    { what: 'npm start and its tokens', timeoutMs: 60_000 },
  );
  if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${out}`);
  const printed = (pattern: RegExp) => {
    const value = pattern.exec(out)?.[1];
    if (!value) throw new Error(`npm start did not print ${pattern}:\n${out}`);
    return value;
  };
  return {
    child,
    dataDir,
    channels: printed(/channels\s+(http:\/\/\S+)\/webhooks/),
    base: printed(/health\s+(http:\/\/\S+)\/healthz/),
    tokens: Object.fromEntries([...out.matchAll(/^ {2}(\S+)(?: \(agent\))?\s+(eyJ\S+)$/gm)].map((m) => [m[1]!, m[2]!])),
    output: () => out,
    grpcAddress: (name) => printed(new RegExp(`^  ${name}\\s+(\\S+)`, 'm')),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
