import type { ChildProcess } from 'node:child_process';
import { Metadata, credentials, makeClientConstructor } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';

/** A client of one Parley gRPC service, made from the proto, as any integrator's. */
export type Client = Record<string, (request: unknown, metadata: Metadata, callback: (error: Error | null, response?: unknown) => void) => void> & {
  close(): void;
};

export const client = (service: Parameters<typeof parleyService>[0], address: string) =>
  new (makeClientConstructor(parleyService(service).service, `parley.v1.${service}`))(address, credentials.createInsecure()) as unknown as Client;

/** One unary call with a bearer token. */
export function call<T>(target: Client, method: string, request: unknown, token: string): Promise<T> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise<T>((resolve, reject) =>
    target[method]!.call(target, request, metadata, (error, response) => (error ? reject(error) : resolve(response as T))),
  );
}

/**
 * Stops a stack started in its own process group, whatever the test did: SIGTERM,
 * at most 20 s for it to go, then SIGKILL to the group (no service may outlive the
 * test: their open pipes would hold the runner).
 */
export async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 20_000))]);
  }
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
