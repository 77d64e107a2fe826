import { Controller, Get, Headers, Inject, Post, Query, Req, Res, type RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { IngressWebhooks, type WebhookAnswer } from './ingress.webhooks';

export const INGRESS_WEBHOOKS = Symbol('IngressWebhooks');

function send(res: Response, answer: WebhookAnswer): void {
  res.status(answer.status);
  if (typeof answer.body === 'string') res.type('text/plain').send(answer.body);
  else res.json(answer.body);
}

/** The HTTP edge of the channels: each route hands the raw request to IngressWebhooks. */
@Controller('webhooks')
export class WebhooksController {
  constructor(@Inject(INGRESS_WEBHOOKS) private readonly webhooks: IngressWebhooks) {}

  @Get('whatsapp')
  async whatsappHandshake(@Query() query: Record<string, unknown>, @Res() res: Response) {
    send(res, await this.webhooks.handshake('whatsapp', query));
  }

  @Post('whatsapp')
  async whatsapp(@Req() req: RawBodyRequest<Request>, @Headers('x-hub-signature-256') signature: string | undefined, @Res() res: Response) {
    send(res, await this.webhooks.whatsapp(req.rawBody, signature, req.body));
  }

  @Get('messenger')
  async messengerHandshake(@Query() query: Record<string, unknown>, @Res() res: Response) {
    send(res, await this.webhooks.handshake('messenger', query));
  }

  @Post('messenger')
  async messenger(@Req() req: RawBodyRequest<Request>, @Headers('x-hub-signature-256') signature: string | undefined, @Res() res: Response) {
    send(res, await this.webhooks.messenger(req.rawBody, signature, req.body));
  }

  @Post('apple/message')
  async apple(@Req() req: Request, @Res() res: Response) {
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    send(res, await this.webhooks.apple({ id: header('id'), sourceId: header('source-id'), destinationId: header('destination-id'), authorization: header('authorization') }, req.body));
  }
}
