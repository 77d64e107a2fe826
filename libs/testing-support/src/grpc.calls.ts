import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { SignJWT } from 'jose';

/** A bearer token for `tenant`, as the gRPC edge verifies them (HS256, audience `parley`). */
export async function bearer(secret: string, tenant: string, role: string, subject: string): Promise<Metadata> {
  const jwt = await new SignJWT({ tenant, role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setAudience('parley')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  const md = new Metadata();
  md.set('authorization', `Bearer ${jwt}`);
  return md;
}

type Callable = (req: unknown, md: Metadata, cb: (e: ServiceError | null, r?: unknown) => void) => void;

/** One unary call on a client made from the proto. */
export function rpc<T = Record<string, unknown>>(client: Client, method: string, request: unknown, md: Metadata): Promise<T> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Callable>)[method]!.call(client, request, md, (e, r) => (e ? reject(e) : resolve(r as T))),
  );
}
