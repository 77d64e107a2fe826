import type { IncomingMessage } from 'node:http';
import { ParleyError } from '@parley/errors';

/** A page on a website the tenant did not allow asked for its widget or opened its live chat. */
export class OriginNotAllowedError extends ParleyError {
  readonly code = 'ORIGIN_NOT_ALLOWED';
  readonly category = 'permission_denied' as const;
  constructor(
    readonly origin: string,
    readonly tenantId: string,
  ) {
    super(`${origin} may not carry the widget of tenant ${tenantId}: add it to PARLEY_WIDGET_ORIGINS`);
  }
}

/**
 * Which websites may carry a tenant's widget: origins as `https://shop.example`,
 * `https://*.example.com` (any subdomain) or `http://localhost:*` (any port). The
 * page Parley serves itself (same origin) is always allowed. Checked on every
 * widget request and on the live-chat WebSocket, whose Origin browsers set and
 * pages cannot forge.
 */
export class WidgetOrigins {
  private readonly byTenant: ReadonlyMap<string, readonly OriginPattern[]>;

  constructor(config: Readonly<Record<string, readonly string[]>>) {
    this.byTenant = new Map(Object.entries(config).map(([tenant, origins]) => [tenant, origins.map(parsePattern)]));
  }

  /** Whether a request from this origin may use this tenant's widget. */
  allows(tenant: string, origin: string | undefined, req: IncomingMessage): boolean {
    if (origin === undefined || sameOrigin(origin, req)) return true;
    const url = parseOrigin(origin);
    return url !== null && (this.byTenant.get(tenant) ?? []).some((p) => p.matches(url));
  }

  /** Whether any tenant allows this origin (a preflight does not say which tenant it is for). */
  allowsAny(origin: string, req: IncomingMessage): boolean {
    if (sameOrigin(origin, req)) return true;
    const url = parseOrigin(origin);
    return url !== null && [...this.byTenant.values()].some((patterns) => patterns.some((p) => p.matches(url)));
  }
}

interface OriginPattern {
  matches(origin: URL): boolean;
}

function parseOrigin(origin: string): URL | null {
  try {
    const url = new URL(origin);
    return url.origin === origin ? url : null;
  } catch {
    return null;
  }
}

function parsePattern(pattern: string): OriginPattern {
  const match = /^(https?):\/\/(\*\.)?([a-z0-9.-]+)(?::(\d+|\*))?$/i.exec(pattern.trim());
  if (!match) throw new Error(`not an origin pattern: ${pattern} (https://shop.example, https://*.example.com, http://localhost:*)`);
  const [, scheme, anySubdomain, host, port] = match as unknown as [string, string, string | undefined, string, string | undefined];
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  return {
    matches: (origin) => {
      if (origin.protocol !== `${scheme.toLowerCase()}:`) return false;
      const hostname = origin.hostname.toLowerCase();
      const hostOk = anySubdomain ? hostname.endsWith(`.${host.toLowerCase()}`) : hostname === host.toLowerCase();
      const actualPort = origin.port || defaultPort;
      return hostOk && (port === '*' || actualPort === (port ?? defaultPort));
    },
  };
}

function sameOrigin(origin: string, req: IncomingMessage): boolean {
  // The Host header as the browser sent it (proxies in front keep it); never a forwarded one a page could set.
  const host = req.headers.host;
  const url = parseOrigin(origin);
  return host !== undefined && url !== null && url.host === host;
}
