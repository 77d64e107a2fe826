import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import type { Offer } from '@parley/availability-domain';

export const WIDGET_OFFERS = Symbol('WidgetOffers');

/** What the widget may know of availability: the offer, and when it changes. */
export interface WidgetOffers {
  offer(tenantId: string, queueId: string): Offer;
  /** Calls back with the tenant whenever something of it may have changed; returns the unsubscribe. */
  onChange(listener: (tenantId: string) => void): () => void;
  readonly tenants: ReadonlySet<string>;
}

const Where = z.object({ tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), queue: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/).default('support') });
const ASSETS = join(__dirname, '..', '..', 'widget');
const asset = (name: string) => readFileSync(join(ASSETS, name), 'utf8');

/**
 * The browser's side of the channels: the widget script, a demo page, and the
 * offer (live chat or leave a message) as JSON or as a server-sent event stream
 * that pushes every change, so the button appears and disappears live.
 */
@Controller()
export class WidgetController {
  private readonly script = asset('parley-widget.js');
  private readonly demo = asset('demo.html');

  constructor(@Inject(WIDGET_OFFERS) private readonly offers: WidgetOffers) {}

  @Get('widget.js')
  widget(@Res() res: Response) {
    res.type('application/javascript').set('cache-control', 'public, max-age=300').set('access-control-allow-origin', '*').send(this.script);
  }

  @Get('demo')
  page(@Res() res: Response) {
    res.type('html').send(this.demo);
  }

  @Get('live/offer')
  current(@Query() query: unknown, @Res() res: Response) {
    const where = this.where(query, res);
    if (where) res.set('access-control-allow-origin', '*').json(this.offers.offer(where.tenant, where.queue));
  }

  @Get('live/offer/stream')
  stream(@Query() query: unknown, @Res() res: Response) {
    const where = this.where(query, res);
    if (!where) return;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'access-control-allow-origin': '*' });
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

  private where(query: unknown, res: Response): z.infer<typeof Where> | null {
    const parsed = Where.safeParse(query);
    if (!parsed.success || (this.offers.tenants.size > 0 && !this.offers.tenants.has(parsed.data.tenant))) {
      res.status(400).json({ error: 'INVALID_ARGUMENT', message: 'tenant and queue: a tenant whose site uses live chat, and one of its queues' });
      return null;
    }
    return parsed.data;
  }
}
