import { randomUUID } from 'node:crypto';
import { describeIssues } from '@parley/errors';
import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { signMetaBody } from '@parley/ingress/meta-signature';

export const SIMULATOR = Symbol('WhatsAppSimulator');

export interface SimulatorSettings {
  readonly appSecret: string;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** Where the ingress takes WhatsApp webhooks. */
  webhookUrl(): string;
}

/** A reply that reached "WhatsApp": what the Graph API was asked to send. */
export interface SentToWhatsApp {
  readonly id: string;
  readonly to: string;
  readonly type: string;
  readonly text: string | null;
  /** A file sent by its uploaded media id: what was uploaded. */
  readonly file?: { readonly name: string; readonly type: string; readonly bytes: number };
  readonly at: string;
}

const Inbound = z.object({
  from: z.string().regex(/^[A-Za-z0-9.]{3,64}$/),
  name: z.string().max(100).default('Simulated customer'),
  text: z.string().min(1).max(4096),
  /** The customer's phone number, digits only, as Meta sends it in wa_id when the user shares it. */
  phone: z
    .string()
    .regex(/^[1-9]\d{6,14}$/)
    .optional(),
});

/**
 * `npm start` only: WhatsApp without Meta. POST /simulator/whatsapp sends a
 * correctly signed Cloud API webhook to the ingress, as Meta would; the ingress's
 * Graph base URL points at /simulator/graph, which answers as the Graph API does
 * and keeps what it was asked to send, shown on the /simulator page.
 */
@Controller('simulator')
export class WhatsAppSimulatorController {
  private readonly sent: SentToWhatsApp[] = [];
  /** Both sides, in order: what the simulated customers wrote and what Parley sent them. */
  private readonly chat: { direction: 'from-customer' | 'to-customer'; customer: string; text: string | null; at: string }[] = [];

  constructor(@Inject(SIMULATOR) private readonly settings: SimulatorSettings) {}

  @Get()
  page(@Res() res: Response) {
    res.type('html').send(PAGE);
  }

  @Post('whatsapp')
  @HttpCode(200)
  async customerWrites(@Body() body: unknown, @Res() res: Response) {
    const parsed = Inbound.safeParse(body);
    if (!parsed.success) {
      res.status(400).json({ error: 'INVALID_ARGUMENT', message: describeIssues(parsed.error.issues) });
      return;
    }
    const { from, name, text, phone } = parsed.data;
    const wamid = `wamid.sim.${randomUUID()}`;
    const webhook = {
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba-demo',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550000000', phone_number_id: this.settings.phoneNumberId },
                contacts: [{ profile: { name }, user_id: from, ...(phone ? { wa_id: phone } : {}) }],
                messages: [
                  {
                    from_user_id: from,
                    ...(phone ? { from: phone } : {}),
                    id: wamid,
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: 'text',
                    text: { body: text },
                  },
                ],
              },
            },
          ],
        },
      ],
    };
    const raw = JSON.stringify(webhook);
    const signature = signMetaBody(raw, this.settings.appSecret);
    const answer = await fetch(this.settings.webhookUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
      body: raw,
    });
    if (answer.ok) this.remember({ direction: 'from-customer', customer: from, text, at: new Date().toISOString() });
    res.status(answer.ok ? 200 : 502).json({ wamid, webhookStatus: answer.status });
  }

  /** Files a business uploaded before sending them (`POST /{phone-number-id}/media`, multipart), kept by the id answered. */
  private readonly uploads = new Map<string, { type: string; name: string; bytes: number }>();

  /** The Graph API's media upload, as the connector calls it for a file Parley keeps. */
  @Post('graph/:version/:phoneNumberId/media')
  @HttpCode(200)
  async media(@Param('phoneNumberId') phoneNumberId: string, @Req() req: Request, @Res() res: Response) {
    if (phoneNumberId !== this.settings.phoneNumberId || req.headers.authorization !== `Bearer ${this.settings.accessToken}`) {
      res.status(401).json({ error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': String(req.headers['content-type'] ?? '') } })
      .formData()
      .catch(() => null);
    const file = form?.get('file');
    if (!form || form.get('messaging_product') !== 'whatsapp' || !(file instanceof Blob)) {
      res.status(400).json({ error: { message: '(#100) messaging_product, type and file are required', type: 'OAuthException', code: 100 } });
      return;
    }
    const id = `media.sim.${randomUUID()}`;
    this.uploads.set(id, { type: String(form.get('type')), name: (file as File).name, bytes: file.size });
    res.json({ id });
  }

  /** The Graph API's send endpoint, as the ingress's WhatsApp connector calls it. */
  @Post('graph/:version/:phoneNumberId/messages')
  @HttpCode(200)
  graph(
    @Param('phoneNumberId') phoneNumberId: string,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: Record<string, unknown>,
    @Res() res: Response,
  ) {
    if (phoneNumberId !== this.settings.phoneNumberId || authorization !== `Bearer ${this.settings.accessToken}`) {
      res.status(401).json({ error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      return;
    }
    // A business-scoped user id travels as `recipient`, a phone number as `to`.
    const to = typeof body['recipient'] === 'string' ? body['recipient'] : typeof body['to'] === 'string' ? body['to'] : null;
    if (body['messaging_product'] !== 'whatsapp' || !to) {
      res.status(400).json({ error: { message: '(#100) The parameter to is required.', type: 'OAuthException', code: 100 } });
      return;
    }
    const id = `wamid.sent.${randomUUID()}`;
    const type = String(body['type'] ?? '');
    const media = body[type] as { id?: string; caption?: string } | undefined;
    const text = (body['text'] as { body?: unknown } | undefined)?.body ?? media?.caption;
    const file = media?.id ? this.uploads.get(media.id) : undefined;
    this.sent.push({
      id,
      to,
      type,
      text: typeof text === 'string' ? text : null,
      ...(file ? { file: { name: file.name, type: file.type, bytes: file.bytes } } : {}),
      at: new Date().toISOString(),
    });
    if (this.sent.length > 200) this.sent.shift();
    this.remember({ direction: 'to-customer', customer: to, text: typeof text === 'string' ? text : null, at: new Date().toISOString() });
    res.json({ messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id }] });
  }

  @Get('outbox')
  outbox() {
    return { sent: this.sent, chat: this.chat };
  }

  private remember(line: WhatsAppSimulatorController['chat'][number]): void {
    this.chat.push(line);
    if (this.chat.length > 400) this.chat.shift();
  }
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Parley WhatsApp simulator</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:720px;margin:30px auto;padding:0 20px}label{display:block;margin:8px 0 2px}input,textarea{width:100%;font:inherit;padding:6px}button{margin-top:8px;padding:8px 16px}ul{list-style:none;padding:0}li{margin:6px 0;padding:6px 10px;border-radius:8px;max-width:80%}li.from-customer{background:#dcf8c6;margin-left:auto}li.to-customer{background:#eef0f4}</style></head>
<body><main><h1>WhatsApp simulator</h1>
<p>Sends signed WhatsApp Cloud API webhooks to this Parley, as Meta would, and shows what Parley sends back to WhatsApp.</p>
<form id="send"><label for="from">Customer (business-scoped user id)</label><input id="from" value="US.1000001">
<label for="text">Message</label><textarea id="text" rows="3"></textarea><button type="submit">Send as the customer</button></form>
<p id="result" role="status"></p>
<h2>The chat, as the customer's phone shows it</h2><ul id="chat" aria-live="polite"></ul></main>
<script>
document.getElementById('send').addEventListener('submit', function (e) {
  e.preventDefault();
  fetch('/simulator/whatsapp', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: document.getElementById('from').value, text: document.getElementById('text').value }) })
    .then(function (r) { return r.json(); }).then(function (b) { document.getElementById('result').textContent = b.wamid ? 'Delivered to Parley (webhook answered ' + b.webhookStatus + ')' : b.message; document.getElementById('text').value = ''; });
});
function refresh() {
  fetch('/simulator/outbox').then(function (r) { return r.json(); }).then(function (b) {
    var list = document.getElementById('chat'); list.textContent = '';
    b.chat.forEach(function (m) {
      var li = document.createElement('li');
      li.className = m.direction;
      li.textContent = (m.direction === 'from-customer' ? m.customer + ' wrote: ' : 'Parley to ' + m.customer + ': ') + (m.text || '(media or template)');
      list.appendChild(li);
    });
  });
}
setInterval(refresh, 1000); refresh();
</script></body></html>`;
