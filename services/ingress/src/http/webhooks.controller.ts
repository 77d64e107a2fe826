import { Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { IngressWebhooks, type WebhookAnswer } from './ingress.webhooks';
import { metaWebhookRoute } from './meta-webhook.route';

export const INGRESS_WEBHOOKS = Symbol('IngressWebhooks');

function send(res: Response, answer: WebhookAnswer): void {
  res.status(answer.status);
  if (typeof answer.body === 'string') res.type('text/plain').send(answer.body);
  else res.json(answer.body);
}

/**
 * The HTTP edge of the channels: each route hands the request to IngressWebhooks.
 * Meta's POSTs read their body themselves, as it streams (meta-webhook.route.ts):
 * the raw bytes for the signature, refused past the size limit.
 */
@Controller('webhooks')
export class WebhooksController {
  private readonly meta;

  constructor(@Inject(INGRESS_WEBHOOKS) private readonly webhooks: IngressWebhooks) {
    this.meta = metaWebhookRoute(webhooks);
  }

  @Post('whatsapp')
  whatsapp(@Req() req: Request, @Res() res: Response): void {
    this.meta(req, res);
  }

  @Post('messenger')
  messenger(@Req() req: Request, @Res() res: Response): void {
    this.meta(req, res);
  }

  @Get('whatsapp')
  async whatsappHandshake(@Query() query: Record<string, unknown>, @Res() res: Response) {
    send(res, await this.webhooks.handshake('whatsapp', query));
  }

  @Get('messenger')
  async messengerHandshake(@Query() query: Record<string, unknown>, @Res() res: Response) {
    send(res, await this.webhooks.handshake('messenger', query));
  }

  @Post('apple/message')
  async apple(@Req() req: Request, @Res() res: Response) {
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    send(
      res,
      await this.webhooks.apple(
        { id: header('id'), sourceId: header('source-id'), destinationId: header('destination-id'), authorization: header('authorization') },
        req.body,
      ),
    );
  }
}
