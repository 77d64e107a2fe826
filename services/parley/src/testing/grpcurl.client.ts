import { execFile } from 'node:child_process';

/** grpcurl, built by scripts/test.sh from its Go module (PARLEY_GRPCURL). */
export const GRPCURL = process.env['PARLEY_GRPCURL'] ?? 'grpcurl';

export interface GrpcurlResult {
  /** grpcurl's exit code: 0, or 64 + the gRPC status code of an error answer. */
  readonly exit: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The status name grpcurl printed for an error answer ('Unauthenticated', ...), or 'OK'. */
  readonly code: string;
}

/** Runs grpcurl in plaintext against an address; `data` goes in as JSON on stdin. */
export function grpcurl(
  address: string,
  args: readonly string[],
  options: { token?: string; data?: unknown; maxTimeSeconds?: number } = {},
): Promise<GrpcurlResult> {
  const flags = [
    '-plaintext',
    '-max-time',
    String(options.maxTimeSeconds ?? 20),
    ...(options.token ? ['-H', `authorization: Bearer ${options.token}`] : []),
    ...(options.data !== undefined ? ['-d', '@'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = execFile(GRPCURL, [...flags, address, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      const exit = typeof error?.code === 'number' ? error.code : 0;
      resolve({ exit, stdout, stderr, code: exit === 0 ? 'OK' : (/Code: (\w+)/.exec(stderr)?.[1] ?? `exit ${exit}`) });
    });
    child.stdin!.end(options.data !== undefined ? JSON.stringify(options.data) : '');
  });
}

/** Calls a method and parses its one JSON answer; fails with grpcurl's own words otherwise. */
export async function invoke<T = Record<string, unknown>>(address: string, method: string, data: unknown, token: string): Promise<T> {
  const result = await grpcurl(address, [method], { data, token });
  if (result.exit !== 0) throw new Error(`${method} answered ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout || '{}') as T;
}
