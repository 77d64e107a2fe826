/**
 * `npm run bench:ingress`: signed WhatsApp webhooks sent open-loop at a fixed
 * rate (BENCH_RATE, default 1,000/s) for BENCH_SECONDS (default 20), one message
 * each from BENCH_USERS customers (default 2,000); prints the rate achieved and
 * the acknowledgement latency (p50, p95, p99, max), counted from when each
 * webhook was due, so a sender that falls behind hides nothing (wrk2's
 * correction for coordinated omission). An answer means the message is
 * durable in the log. The sender is raw-http.client.ts (as wrk's is: bytes
 * built beforehand, keep-alive connections), and its own CPU per webhook is
 * printed too: it shares the machine's two cores with the service. The service runs in a process of its own, as in
 * production; the load comes from this one. BENCH_STORE=mongo runs it on the
 * local FerretDB (through scripts/with-infra.sh); the default is SQLite.
 * BENCH_FLOOR=true sends the same load to a bare node:http server that only
 * checks signatures and parses (floor.server.ts): what the machine and this
 * client allow before Parley does any work. BENCH_WARM=n first sends n messages
 * from n other customers (not measured): the service as it runs after its first
 * minute, rather than just started. The output shows the p99 by the second each
 * request was sent in, so a backlog shows where it builds and drains, and the
 * service's CPU per webhook (its event loop's thread, and all its others), read
 * from Linux's /proc: how many webhooks a second one instance can take at most.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from '@parley/testing-support';
import { CHANNELS, MASTER, ferretStore, whatsappMessage } from '../testing/ingress.fixture';
import { signMetaBody } from '../webhooks/meta.signature';
import { RawHttpClient } from './raw-http.client';

const RATE = Number(process.env['BENCH_RATE'] ?? 1000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const USERS = Number(process.env['BENCH_USERS'] ?? 2000);
/** Connections the sender keeps open, as Meta's senders do: opened before the clock starts. */
const SOCKETS = Number(process.env['BENCH_CONNECTIONS'] ?? 256);
const TICK_MS = 2;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const mongo = process.env['BENCH_STORE'] === 'mongo';
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-ingress-'));
  const ferret = mongo ? ferretStore() : null;
  const env = ferret ? ferret.env : { PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: join(dir, 'events.db'), PARLEY_MASTER_KEY: MASTER };
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  const floor = process.env['BENCH_FLOOR'] === 'true';
  const child = spawn(
    process.execPath,
    [...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean), floor ? join(__dirname, 'floor.server.js') : join(__dirname, '..', 'main.js')],
    {
      env: {
        ...process.env,
        ...env,
        PARLEY_LOG_LEVEL: 'warn',
        PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
        PARLEY_INGRESS_HTTP_PORT: String(port),
        PARLEY_CHANNELS: JSON.stringify(CHANNELS),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.status)
        .catch(() => 0),
    (s) => s === 200,
    { what: 'the ingress service', timeoutMs: 30_000 },
  );
  const webhook = (raw: string) => RawHttpClient.post('/webhooks/whatsapp', raw, { 'x-hub-signature-256': signMetaBody(raw, CHANNELS.meta.appSecret) });
  const total = RATE * SECONDS;
  // Bodies are built and signed before the clock starts: the bench measures the service.
  const bodies = Array.from({ length: total }, (_, i) => {
    return webhook(
      JSON.stringify(whatsappMessage({ userId: `US.${1_000_000 + (i % USERS)}`, wamid: `wamid.bench.${i}`, text: `message ${i} about my order` })),
    );
  });
  // BENCH_WARM: that many first contacts from other customers at 500/s, on connections of their own, before the clock starts.
  const WARM = Number(process.env['BENCH_WARM'] ?? 0);
  if (WARM > 0) {
    const warmClient = new RawHttpClient(port, SOCKETS);
    await warmClient.open();
    const warm: Promise<unknown>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < WARM; i++) {
      const due = t0 + (i * 1000) / 500;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      warm.push(warmClient.send(webhook(JSON.stringify(whatsappMessage({ userId: `US.${9_000_000 + i}`, wamid: `wamid.warm.${i}`, text: `warm ${i}` })))));
    }
    await Promise.all(warm);
    warmClient.close();
  }
  const client = new RawHttpClient(port, SOCKETS);
  await client.open();
  const latencies: number[] = [];
  /** Latencies by the second they were due in: a backlog shows where it builds and drains. */
  const bySecond: number[][] = Array.from({ length: Math.ceil(SECONDS) }, () => []);
  const firstSecond: number[][] = Array.from({ length: 10 }, () => []);
  let failures = 0;
  const failedBy = new Map<string, number>();
  const fail = (why: string) => {
    failures++;
    failedBy.set(why, (failedBy.get(why) ?? 0) + 1);
  };
  const cpuBefore = threadCpuMs(child.pid!);
  const stealBefore = machineSteal();
  const clientCpu = process.cpuUsage();
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  // Every 2 ms, everything due by then is sent: a timer per request cost the
  // sender more CPU than the requests did. Latency counts from when a request was
  // due, not when it went out, so a sender that falls behind is no excuse
  // (wrk2's correction for coordinated omission).
  for (let i = 0; i < total;) {
    const now = performance.now();
    for (let due = started + (i * 1000) / RATE; i < total && due <= now; due = started + (++i * 1000) / RATE) {
      const at = due;
      inflight.push(
        client
          .send(bodies[i]!)
          .then((status) => {
            if (status !== 200) fail(`HTTP ${status}`);
            const latency = performance.now() - at;
            latencies.push(latency);
            bySecond[Math.floor((at - started) / 1000)]?.push(latency);
            if (at - started < 1000) firstSecond[Math.floor((at - started) / 100)]?.push(latency);
          })
          .catch((error: unknown) => fail((error as { code?: string }).code ?? 'error')),
      );
    }
    if (i < total) await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = threadCpuMs(child.pid!);
  const { user, system } = process.cpuUsage(clientCpu);
  const stealAfter = machineSteal();
  latencies.sort((a, b) => a - b);
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  process.stdout.write(
    [
      `${floor ? 'FLOOR (bare node:http, signature and parse only, nothing written)' : `ingress webhooks on ${mongo ? 'FerretDB' : 'SQLite'}`}: ${total} WhatsApp messages from ${USERS} customers, offered at ${RATE}/s`,
      `  achieved ${(total / elapsed).toFixed(0)} webhooks/s over ${elapsed.toFixed(1)} s, ${failures} failed${failures ? ` (${[...failedBy].map(([why, n]) => `${why}: ${n}`).join(', ')})` : ''}`,
      `  acknowledgement latency: p50 ${f(percentile(latencies, 50))}  p95 ${f(percentile(latencies, 95))}  p99 ${f(percentile(latencies, 99))}  max ${f(latencies.at(-1) ?? 0)}`,
      `  first second, max by 100 ms: ${firstSecond.map((l) => Math.max(0, ...l).toFixed(0)).join(' ')} (ms)`,
      `  p99 by second due: ${bySecond
        .map((l) =>
          percentile(
            l.sort((a, b) => a - b),
            99,
          ).toFixed(0),
        )
        .join(' ')} (ms)`,
      `  load generator CPU per webhook: ${((user + system) / total).toFixed(0)} µs, ${(system / total).toFixed(0)} µs of it in the kernel (it shares the machine with the service)`,
      ...(stealBefore && stealAfter
        ? [
            `  CPU time the hypervisor gave to others during the run (steal): ${((100 * (stealAfter.steal - stealBefore.steal)) / Math.max(1, stealAfter.total - stealBefore.total)).toFixed(1)} %`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  // The service's own view of the run: how long its event loop was held, how big its commits were.
  const metrics = floor ? '' : await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const gauge = (name: string) =>
    Number(
      /^(\S+) (\S+)$/m.exec(
        metrics
          .split('\n')
          .filter((l) => l.startsWith(`${name} `))
          .join('\n'),
      )?.[2] ?? NaN,
    );
  const sum = (name: string) =>
    metrics
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((t, l) => t + Number(l.split(' ').at(-1)), 0);
  if (!floor)
    process.stdout.write(
      [
        ...(cpuBefore && cpuAfter ? [`  service CPU per webhook: ${cpuPerWebhook(child.pid!, cpuBefore, cpuAfter, total, elapsed * 1000)}`] : []),
        `  service event loop delay: p99 ${f(gauge('nodejs_eventloop_lag_p99_seconds') * 1000)}  max ${f(gauge('nodejs_eventloop_lag_max_seconds') * 1000)}`,
        `  event-log commits: ${sum('parley_event_log_batch_size_count')}, ${(sum('parley_event_log_batch_size_sum') / sum('parley_event_log_batch_size_count')).toFixed(1)} appends each on average`,
        '',
      ].join('\n'),
    );
  client.close();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await ferret?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * CPU time used so far by each thread of a process, in ms, by thread id (Linux's
 * /proc; null elsewhere). The event loop's thread is the one whose id is the process's.
 */
function threadCpuMs(pid: number): Map<number, number> | null {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return null;
  const tick = 10; // USER_HZ is 100 on Linux
  const used = new Map<number, number>();
  for (const tid of readdirSync(tasks)) {
    try {
      const stat = readFileSync(`${tasks}/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      used.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * tick);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return used;
}

/** The machine's CPU time so far, all of it and what the hypervisor took for other guests (Linux's /proc/stat; null elsewhere). */
function machineSteal(): { steal: number; total: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  return { steal: cpu[7] ?? 0, total: cpu.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** The event loop's CPU per webhook, and all other threads' (GC helpers, thread pool, checkpoints): what one instance can take. */
function cpuPerWebhook(pid: number, before: Map<number, number>, after: Map<number, number>, webhooks: number, elapsedMs: number): string {
  let main = 0;
  let others = 0;
  for (const [tid, ms] of after) {
    const spent = ms - (before.get(tid) ?? 0);
    if (tid === pid) main += spent;
    else others += spent;
  }
  const us = (ms: number) => `${((ms * 1000) / webhooks).toFixed(0)} µs`;
  return `event loop ${us(main)}, other threads ${us(others)}; the event loop was busy ${((100 * main) / elapsedMs).toFixed(0)} % of the run`;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
