import { Body, Controller, HttpCode, Inject, Options, Post, Req, Res } from '@nestjs/common';
import type { Request as HttpRequest, Response } from 'express';
import { allowOrigin, answerPreflight } from './cross-origin';
import type { WidgetOrigins } from './widget.origins';
import { z } from 'zod';
import type { VisitorTokens } from '../live/visitor.tokens';

export const LIVE_VISITORS = Symbol('LiveVisitors');

export interface LiveVisitors {
  readonly tokens: VisitorTokens;
  /** Empty: any tenant. */
  readonly tenants: ReadonlySet<string>;
  readonly origins: WidgetOrigins;
}

const Request = z.object({ tenant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/) });

/** A new visitor's token, for the widget to keep and to open `/live` with. */
@Controller('live')
export class LiveController {
  constructor(@Inject(LIVE_VISITORS) private readonly visitors: LiveVisitors) {}

  @Options('visitors')
  preflight(@Req() req: HttpRequest, @Res() res: Response) {
    answerPreflight(this.visitors.origins, req, res);
  }

  @Post('visitors')
  @HttpCode(201)
  async create(@Body() body: unknown, @Req() req: HttpRequest, @Res() res: Response) {
    const parsed = Request.safeParse(body);
    if (!parsed.success || (this.visitors.tenants.size > 0 && !this.visitors.tenants.has(parsed.data.tenant))) {
      res.status(400).json({ error: 'INVALID_ARGUMENT', message: 'tenant: a tenant whose site uses live chat' });
      return;
    }
    if (!allowOrigin(this.visitors.origins, parsed.data.tenant, req, res)) return;
    res.status(201).json(await this.visitors.tokens.issue(parsed.data.tenant));
  }
}
