import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { PageAttributes } from '@parley/contracts';
import { ParleyError } from '@parley/errors';

export class VisitorTokenError extends ParleyError {
  readonly code: string = 'VISITOR_TOKEN_INVALID';
  readonly category = 'unauthenticated' as const;
}

/** The site's identity token for its user is not signed with the tenant's secret, or has expired: the widget drops it and tells the page. */
export class IdentityTokenError extends VisitorTokenError {
  override readonly code = 'IDENTITY_TOKEN_INVALID';
}

/** Page attributes the site says it signed, but not with the tenant's identity secret (or expired, or not attributes): not used at all. */
export class AttributesTokenError extends ParleyError {
  readonly code = 'ATTRIBUTES_TOKEN_INVALID';
  readonly category = 'invalid_argument' as const;
}

/**
 * A visitor token names one anonymous visitor of one tenant's site; the widget
 * keeps it (localStorage), so the visitor finds their conversation after a
 * reload or a browser restart. An identity token is the brand's word that the
 * visitor is one of its users (HS256 with the tenant's identity secret, `sub` =
 * the user id): with it, every device of that user reaches the same conversation.
 */
export class VisitorTokens {
  constructor(
    private readonly key: Buffer,
    private readonly identitySecretOf: (tenantId: string) => string | undefined,
  ) {}

  async issue(tenantId: string): Promise<{ visitorId: string; token: string }> {
    const visitorId = randomUUID();
    const token = await new SignJWT({ tenant: tenantId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(visitorId)
      .setAudience('parley-visitor')
      .setIssuedAt()
      .setExpirationTime('400d')
      .sign(this.key);
    return { visitorId, token };
  }

  async verify(token: string): Promise<{ tenantId: string; visitorId: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { audience: 'parley-visitor', algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || typeof payload['tenant'] !== 'string') throw new Error('claims');
      return { tenantId: payload['tenant'], visitorId: payload.sub };
    } catch {
      throw new VisitorTokenError('visitor token missing or invalid');
    }
  }

  /** The brand's user id, if the token is signed with the tenant's identity secret. */
  async identify(tenantId: string, token: string): Promise<string> {
    const secret = this.identitySecretOf(tenantId);
    try {
      if (!secret) throw new Error('no secret');
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('no sub');
      return payload.sub;
    } catch {
      throw new IdentityTokenError("identity token expired or not signed with the tenant's identity secret");
    }
  }

  /**
   * Page attributes the brand signed (HS256 with the tenant's identity secret, the
   * claim `attributes`): trusted, unlike those the page merely states.
   */
  async attributes(tenantId: string, token: string): Promise<PageAttributes> {
    const secret = this.identitySecretOf(tenantId);
    try {
      if (!secret) throw new Error('no secret');
      const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
      return PageAttributes.parse(payload['attributes']);
    } catch {
      throw new AttributesTokenError("signed attributes expired, malformed or not signed with the tenant's identity secret");
    }
  }
}
