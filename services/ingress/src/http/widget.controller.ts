import { createHash } from 'node:crypto';
import { describeIssues } from '@parley/errors';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Body, Controller, Get, HttpCode, Inject, Options, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { allowOrigin, answerPreflight } from './cross-origin';
import type { WidgetOrigins } from './widget.origins';
import { z } from 'zod';
import type { Offer, PageView, TargetingRule } from '@parley/availability-domain';
import { PageAttributes } from '@parley/contracts';
import { AttributesTokenError, VisitorTokenError } from '../live/visitor.tokens';

export const WIDGET_OFFERS = Symbol('WidgetOffers');

/** A visitor as their token names them. */
export interface Visitor {
  readonly tenantId: string;
  readonly visitorId: string;
}

/** What the widget may know of availability: the offer, and when it changes. */
export interface WidgetOffers {
  offer(tenantId: string, queueId: string): Offer;
  /** Calls back with the tenant whenever something of it may have changed; returns the unsubscribe. */
  onChange(listener: (tenantId: string) => void): () => void;
  readonly tenants: ReadonlySet<string>;
  /** The invitation to show for this page view, recorded as shown; null when no rule matches (or shown this period). */
  invite(visitor: Visitor, queueId: string, view: PageView): Promise<TargetingRule | null>;
  answer(visitor: Visitor, ruleId: string, accepted: boolean): Promise<void>;
  /** Page attributes the brand signed (AttributesTokenError when they do not verify). */
  verifiedAttributes(tenantId: string, token: string): Promise<PageAttributes>;
  /** Who a visitor token names (VisitorTokenError when it does not verify): checked once per request. */
  visitorOf(visitorToken: string): Promise<Visitor>;
  readonly origins: WidgetOrigins;
}

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
const VisitorToken = z.string().min(1).max(2048);
const Where = z.object({ tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), queue: Name.default('support') });
const PageViewRequest = z.object({
  token: VisitorToken,
  queue: Name.default('support'),
  url: z.string().url().max(2048),
  timeOnPageSeconds: z.number().int().min(0).max(86_400),
  pagesViewed: z.number().int().min(1).max(100_000),
  returningVisitor: z.boolean(),
  /** What the page says of the visitor: steers targeting, trusted for nothing else. */
  attributes: PageAttributes.default({}),
  /** The same, signed by the brand (HS256 with its identity secret, claim `attributes`). */
  signedAttributes: z.string().min(1).max(4096).optional(),
});
const AnswerRequest = z.object({ token: VisitorToken, ruleId: Name, accepted: z.boolean() });

/** A visitor's request: a body that does not parse is 400, a token that does not verify 401; nothing is written then. */
async function asVisitor<T>(schema: z.ZodType<T>, body: unknown, res: Response, work: (request: T) => Promise<void>): Promise<void> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) return void res.status(400).json({ error: 'INVALID_ARGUMENT', message: describeIssues(parsed.error.issues) });
  try {
    await work(parsed.data);
  } catch (error) {
    if (error instanceof AttributesTokenError) return void res.status(400).json({ error: error.code, message: error.message });
    if (!(error instanceof VisitorTokenError)) throw error;
    res.status(401).json({ error: error.code, message: error.message });
  }
}
const ASSETS = join(__dirname, '..', '..', 'widget');

interface Script {
  readonly raw: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
  readonly etag: string;
  readonly version: string;
}

/** Compressed once at start: every page of every brand's site loads it. */
function compressed(text: string): Script {
  const raw = Buffer.from(text);
  const version = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return {
    raw,
    gzip: gzipSync(raw, { level: 9 }),
    br: brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }),
    etag: `"${version}"`,
    version,
  };
}

function sendScript(script: Script, req: Request, res: Response, cacheControl: string): void {
  res.set({
    'content-type': 'application/javascript; charset=utf-8',
    'cache-control': cacheControl,
    etag: script.etag,
    vary: 'Accept-Encoding',
    'access-control-allow-origin': '*',
    'x-parley-widget-url': `/widget/${script.version}.js`,
  });
  if (req.headers['if-none-match'] === script.etag) return void res.status(304).end();
  const accepts = String(req.headers['accept-encoding'] ?? '');
  const [body, encoding] = /\bbr\b/.test(accepts) ? [script.br, 'br'] : /\bgzip\b/.test(accepts) ? [script.gzip, 'gzip'] : [script.raw, null];
  if (encoding) res.set('content-encoding', encoding);
  res.status(200).send(body);
}
const asset = (name: string) => readFileSync(join(ASSETS, name), 'utf8');

/**
 * The browser's side of the channels: the widget script, a demo page, and the
 * offer (live chat or leave a message) as JSON or as a server-sent event stream
 * that pushes every change, so the button appears and disappears live.
 */
@Controller()
export class WidgetController {
  private readonly script = compressed(asset('parley-widget.js'));
  private readonly demo = asset('demo.html');

  constructor(@Inject(WIDGET_OFFERS) private readonly offers: WidgetOffers) {}

  /** The script tag's URL: cached for 5 minutes, so a new release reaches pages soon. */
  @Get('widget.js')
  widget(@Req() req: Request, @Res() res: Response) {
    sendScript(this.script, req, res, 'public, max-age=300');
  }

  /** The same script under its content hash (see the `x-parley-widget-url` header): cached for good. */
  @Get('widget/:file')
  versioned(@Param('file') file: string, @Req() req: Request, @Res() res: Response) {
    if (file !== `${this.script.version}.js`)
      return void res.status(404).json({ error: 'NOT_FOUND', message: `this Parley serves /widget/${this.script.version}.js` });
    sendScript(this.script, req, res, 'public, max-age=31536000, immutable');
  }

  @Get('demo')
  page(@Res() res: Response) {
    res.type('html').send(this.demo);
  }

  @Get('live/offer')
  current(@Query() query: unknown, @Req() req: Request, @Res() res: Response) {
    const where = this.where(query, res);
    if (where && allowOrigin(this.offers.origins, where.tenant, req, res)) res.json(this.offers.offer(where.tenant, where.queue));
  }

  @Get('live/offer/stream')
  stream(@Query() query: unknown, @Req() req: Request, @Res() res: Response) {
    const where = this.where(query, res);
    if (!where || !allowOrigin(this.offers.origins, where.tenant, req, res)) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    let last = '';
    const push = () => {
      const now = JSON.stringify(this.offers.offer(where.tenant, where.queue));
      if (now !== last) res.write(`data: ${now}\n\n`);
      last = now;
    };
    push();
    const stop = this.offers.onChange((tenant) => tenant === where.tenant && push());
    // Business hours open and close without an event; a comment line also keeps proxies from closing the stream.
    const tick = setInterval(() => {
      push();
      res.write(': keep-alive\n\n');
    }, 15_000);
    res.on('close', () => {
      stop();
      clearInterval(tick);
    });
  }

  @Options(['live/invitations', 'live/invitations/answer'])
  preflight(@Req() req: Request, @Res() res: Response) {
    answerPreflight(this.offers.origins, req, res);
  }

  /** The widget asks as the visitor reads the page: proactive invitations as the targeting rules say. */
  @Post('live/invitations')
  @HttpCode(200)
  async invitation(@Body() body: unknown, @Req() req: Request, @Res() res: Response) {
    await asVisitor(PageViewRequest, body, res, async ({ token, queue, attributes, signedAttributes, ...view }) => {
      const visitor = await this.offers.visitorOf(token);
      if (!allowOrigin(this.offers.origins, visitor.tenantId, req, res)) return;
      // Signed values win over what the page states for the same key.
      const signed = signedAttributes ? await this.offers.verifiedAttributes(visitor.tenantId, signedAttributes) : {};
      const rule = await this.offers.invite(visitor, queue, { ...view, attributes: { ...attributes, ...signed } });
      res.json({ invitation: rule ? { ruleId: rule.ruleId, message: rule.message } : null });
    });
  }

  @Post('live/invitations/answer')
  @HttpCode(204)
  async answer(@Body() body: unknown, @Req() req: Request, @Res() res: Response) {
    await asVisitor(AnswerRequest, body, res, async ({ token, ruleId, accepted }) => {
      const visitor = await this.offers.visitorOf(token);
      if (!allowOrigin(this.offers.origins, visitor.tenantId, req, res)) return;
      await this.offers.answer(visitor, ruleId, accepted);
      res.status(204).end();
    });
  }

  private where(query: unknown, res: Response): z.infer<typeof Where> | null {
    const parsed = Where.safeParse(query);
    if (!parsed.success || (this.offers.tenants.size > 0 && !this.offers.tenants.has(parsed.data.tenant))) {
      res.status(400).json({ error: 'INVALID_ARGUMENT', message: 'tenant and queue: a tenant whose site uses live chat, and one of its queues' });
      return null;
    }
    return parsed.data;
  }
}
