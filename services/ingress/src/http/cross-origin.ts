import type { Request, Response } from 'express';
import { OriginNotAllowedError, type WidgetOrigins } from './widget.origins';

/**
 * CORS for the widget's requests from the brand's own website. An allowed origin gets
 * Access-Control-Allow-Origin for itself; a refused one a 403 that the widget can
 * still read (so it says why in the console), and nothing else happens.
 */
export function allowOrigin(origins: WidgetOrigins, tenant: string, req: Request, res: Response): boolean {
  const origin = req.headers.origin;
  res.vary('Origin');
  if (origin) res.set('access-control-allow-origin', origin);
  if (origins.allows(tenant, origin, req)) return true;
  const refused = new OriginNotAllowedError(origin ?? '', tenant);
  res.status(403).json({ error: refused.code, message: refused.message });
  return false;
}

/** Preflights of the widget's POSTs (JSON bodies): answered for origins some tenant allows; the request itself is checked for its tenant. */
export function answerPreflight(origins: WidgetOrigins, req: Request, res: Response): void {
  const origin = req.headers.origin;
  res.vary('Origin');
  if (!origin || !origins.allowsAny(origin, req)) return void res.status(403).end();
  res
    .status(204)
    .set({
      'access-control-allow-origin': origin,
      'access-control-allow-methods': 'GET, POST',
      // Attachments go up as their own bytes: the visitor's token and the file's name travel in headers.
      'access-control-allow-headers': 'content-type, authorization, x-parley-identity, x-parley-filename',
      'access-control-max-age': '600',
    })
    .end();
}
