import { createSecretKey, type KeyObject } from 'node:crypto';
import { jwtVerify, type JWTPayload } from 'jose';
import { ParleyError } from '@parley/errors';

export type Role = 'agent' | 'supervisor' | 'integration' | 'admin';
export const ROLES: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];

/** Who is calling: from a verified bearer token, never from the request body. */
export interface Caller {
  readonly tenantId: string;
  readonly role: Role;
  /** The agent, integration or person behind the token. */
  readonly subject: string;
}

export class UnauthenticatedError extends ParleyError {
  readonly code = 'UNAUTHENTICATED';
  readonly category = 'unauthenticated' as const;
}

export class PermissionDeniedError extends ParleyError {
  readonly code = 'PERMISSION_DENIED';
  readonly category = 'permission_denied' as const;
  constructor(
    readonly role: Role,
    readonly method: string,
  ) {
    super(`role ${role} may not call ${method}`);
  }
  override details() {
    return { role: this.role, method: this.method };
  }
}

export interface TokenVerifierOptions {
  /** HMAC secrets (HS256), several during a rotation; or public keys (RS256, ES256, EdDSA). */
  readonly keys: readonly (string | KeyObject)[];
  readonly issuer?: string;
  readonly audience?: string;
}

/**
 * Verifies `authorization: Bearer <JWT>`: signature, expiry, issuer and audience,
 * and the claims Parley needs: `tenant` and `role` (and `sub`).
 */
export class TokenVerifier {
  private readonly keys: KeyObject[];

  constructor(private readonly options: TokenVerifierOptions) {
    if (options.keys.length === 0) throw new Error('at least one token key is required');
    this.keys = options.keys.map((k) => (typeof k === 'string' ? createSecretKey(Buffer.from(k, 'utf8')) : k));
  }

  async verify(authorization: string | undefined): Promise<Caller> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new UnauthenticatedError('a bearer token is required');
    let payload: JWTPayload | null = null;
    for (const key of this.keys) {
      try {
        ({ payload } = await jwtVerify(token, key, {
          ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
          ...(this.options.audience ? { audience: this.options.audience } : {}),
        }));
        break;
      } catch {
        // Try the next key (rotation); a token no key verifies is refused below.
      }
    }
    if (!payload) throw new UnauthenticatedError('the bearer token is not valid');
    const tenant = payload['tenant'];
    const role = payload['role'];
    if (typeof tenant !== 'string' || tenant.length === 0) throw new UnauthenticatedError('the token names no tenant');
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) throw new UnauthenticatedError('the token names no known role');
    return { tenantId: tenant, role: role as Role, subject: payload.sub ?? 'unknown' };
  }
}
