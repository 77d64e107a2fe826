import type { IncomingMessage } from 'node:http';
import { Controller, Get, HttpCode, Inject, Options, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ATTACHMENT_LIMITS } from '@parley/contracts';
import { blobRef, type BlobStore } from '@parley/blob-store';
import { ParleyError } from '@parley/errors';
import { allowOrigin, answerPreflight } from './cross-origin';
import type { WidgetOrigins } from './widget.origins';

export const VISITOR_ATTACHMENTS = Symbol('VisitorAttachments');

export interface VisitorAttachments {
  readonly blobs: BlobStore;
  readonly origins: WidgetOrigins;
  /** The customer the widget's tokens speak for (a ParleyError when they do not verify). */
  customerOf(visitorToken: string, identityToken: string | null): Promise<{ tenantId: string; customerId: string }>;
}

/** The body, read as it streams, at most `limit` bytes: null past it (nothing more is read). */
async function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const bearer = (req: Request) => (req.headers.authorization ?? '').replace(/^Bearer /, '');
const identity = (req: Request) => (typeof req.headers['x-parley-identity'] === 'string' ? req.headers['x-parley-identity'] : null);

/**
 * Files a widget visitor sends (`POST /live/attachments`: the bytes as the body,
 * their type as Content-Type, the name in X-Parley-Filename, the visitor's token as
 * the bearer) and reads back (`GET /live/attachments/:id`): only their own
 * customer's, so a reference seen elsewhere opens nothing.
 */
@Controller()
export class AttachmentsController {
  constructor(@Inject(VISITOR_ATTACHMENTS) private readonly attachments: VisitorAttachments) {}

  @Options(['live/attachments', 'live/attachments/:id'])
  preflight(@Req() req: Request, @Res() res: Response) {
    answerPreflight(this.attachments.origins, req, res);
  }

  @Post('live/attachments')
  @HttpCode(201)
  async upload(@Req() req: Request, @Res() res: Response) {
    const who = await this.visitor(req, res);
    if (!who) return;
    const mimeType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (!(ATTACHMENT_LIMITS.mimeTypes as readonly string[]).includes(mimeType))
      return void res.status(415).json({ error: 'ATTACHMENT_TYPE_REFUSED', message: `one of ${ATTACHMENT_LIMITS.mimeTypes.join(', ')}` });
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () =>
      res
        .status(413)
        .set('connection', 'close')
        .json({ error: 'ATTACHMENT_TOO_LARGE', message: `at most ${ATTACHMENT_LIMITS.maxBytes / 1024 / 1024} MiB` });
    if (declared > ATTACHMENT_LIMITS.maxBytes) return void tooLarge();
    const bytes = await readAtMost(req, ATTACHMENT_LIMITS.maxBytes);
    if (!bytes) return void tooLarge();
    if (bytes.length === 0) return void res.status(400).json({ error: 'INVALID_ARGUMENT', message: 'an empty file' });
    let name: string | undefined;
    try {
      name = req.headers['x-parley-filename'] ? decodeURIComponent(String(req.headers['x-parley-filename'])).slice(0, 255) : undefined;
    } catch {
      name = undefined;
    }
    const stored = await this.attachments.blobs.put({ tenantId: who.tenantId, ownerId: who.customerId, mimeType, ...(name ? { name } : {}) }, bytes);
    res.status(201).json({ ref: blobRef(stored.id), mimeType, sizeBytes: bytes.length, ...(name ? { name } : {}) });
  }

  @Get('live/attachments/:id')
  async download(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
    const who = await this.visitor(req, res);
    if (!who) return;
    const found = await this.attachments.blobs.get(who.tenantId, id);
    // Another customer's file is answered as one that does not exist.
    if (!found || found.meta.ownerId !== who.customerId) return void res.status(404).json({ error: 'ATTACHMENT_NOT_FOUND', message: 'no such attachment' });
    const inline = found.meta.mimeType.startsWith('image/');
    res.status(200).set({
      'content-type': found.meta.mimeType,
      'content-length': String(found.meta.sizeBytes),
      // Served from Parley's origin: never run as a page, never sniffed into one.
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'private, max-age=3600',
      'content-disposition': `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(found.meta.name ?? 'attachment')}`,
    });
    found.stream.pipe(res);
  }

  private async visitor(req: Request, res: Response): Promise<{ tenantId: string; customerId: string } | null> {
    let who: { tenantId: string; customerId: string };
    try {
      who = await this.attachments.customerOf(bearer(req), identity(req));
    } catch (error) {
      if (!(error instanceof ParleyError)) throw error;
      res.status(401).json({ error: error.code, message: error.message });
      return null;
    }
    return allowOrigin(this.attachments.origins, who.tenantId, req, res) ? who : null;
  }
}
