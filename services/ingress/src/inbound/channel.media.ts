import { createHmac } from 'node:crypto';
import type { Attachment } from '@parley/contracts';
import { blobRef, type BlobStore } from '@parley/blob-store';
import { ParleyError } from '@parley/errors';
import type { Logger } from '@parley/observability';
import type { InboundEvent } from './inbound.event';

/** WhatsApp's own limit for media (documents: 100 MB); Parley keeps attachments up to this many bytes. */
export const MEDIA_LIMIT_BYTES = 25 * 1024 * 1024;

/** Graph or the CDN failed in a way a retry may mend (5xx, network): the message waits and is recorded later. */
export class MediaUnavailableError extends ParleyError {
  readonly code = 'MEDIA_UNAVAILABLE';
  readonly category = 'unavailable' as const;
}

interface Accounts {
  readonly whatsapp: readonly { readonly tenantId: string; readonly accessToken: string }[];
}

/**
 * Media customers send on WhatsApp and Messenger, fetched into Parley's blob
 * store before the message is recorded, so the attachment's reference is
 * `blob:<id>` for good (Graph's media URLs expire within minutes). The blob id
 * is derived from the channel's media id: a redelivered webhook fetches and stores nothing new.
 * Media the channel no longer has (4xx) or past the size limit keeps its channel
 * reference: the message is recorded all the same.
 */
export class ChannelMedia {
  constructor(
    private readonly blobs: BlobStore,
    private readonly accounts: Accounts,
    private readonly graphBaseUrl: string,
    private readonly idKey: Buffer,
    private readonly logger: Logger,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async store(event: Extract<InboundEvent, { kind: 'message' }>, customerId: string): Promise<Attachment[]> {
    const out: Attachment[] = [];
    for (const attachment of event.attachments) out.push(await this.one(event, customerId, attachment));
    return out;
  }

  private async one(event: Extract<InboundEvent, { kind: 'message' }>, customerId: string, attachment: Attachment): Promise<Attachment> {
    const source = this.sourceOf(event, attachment.ref);
    if (!source) return attachment;
    const id = createHmac('sha256', this.idKey).update(`${event.tenantId}\u0000${attachment.ref}`).digest('base64url').slice(0, 22);
    // A redelivered webhook: the media is stored already, Graph is not asked again.
    const kept = await this.blobs.stat(event.tenantId, id);
    if (kept) return { ...attachment, ref: blobRef(id), mimeType: kept.mimeType, sizeBytes: kept.sizeBytes };
    const fetched = await source();
    if (!fetched) return attachment;
    const mimeType = fetched.mimeType ?? attachment.mimeType;
    await this.blobs.put({ tenantId: event.tenantId, ownerId: customerId, mimeType, ...(attachment.name ? { name: attachment.name } : {}) }, fetched.bytes, id);
    return { ...attachment, ref: blobRef(id), mimeType, sizeBytes: fetched.bytes.length };
  }

  /** How to fetch a reference, or null for one Parley does not fetch (already a blob, another channel's). */
  private sourceOf(event: Extract<InboundEvent, { kind: 'message' }>, ref: string): (() => Promise<{ bytes: Buffer; mimeType?: string } | null>) | null {
    if (event.channel === 'whatsapp' && ref.startsWith('whatsapp-media:')) {
      const token = this.accounts.whatsapp.find((a) => a.tenantId === event.tenantId)?.accessToken;
      if (!token) return null;
      return async () => {
        // Graph first tells where the media is (a URL valid for minutes), then serves it to the same token.
        const info = await this.get(`${this.graphBaseUrl}/${encodeURIComponent(ref.slice('whatsapp-media:'.length))}`, token);
        if (!info) return null;
        const { url, mime_type } = JSON.parse(info.bytes.toString('utf8')) as { url?: string; mime_type?: string };
        if (!url) return null;
        const media = await this.get(url, token);
        return media ? { bytes: media.bytes, ...(mime_type ? { mimeType: mime_type.split(';')[0]!.trim() } : {}) } : null;
      };
    }
    if (event.channel === 'messenger' && this.fetchable(ref)) return async () => this.get(ref, null);
    return null;
  }

  /** Messenger's CDN serves https; plain http only from where Graph itself is (a loopback fake in tests), never elsewhere. */
  private fetchable(ref: string): boolean {
    try {
      const url = new URL(ref);
      return url.protocol === 'https:' || url.origin === new URL(this.graphBaseUrl).origin;
    } catch {
      return false;
    }
  }

  private async get(url: string, token: string | null): Promise<{ bytes: Buffer; mimeType?: string } | null> {
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new MediaUnavailableError(`media fetch failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200));
    }
    if (response.status >= 500 || response.status === 429) throw new MediaUnavailableError(`media fetch answered ${response.status}`);
    const length = Number(response.headers.get('content-length') ?? 0);
    if (!response.ok || length > MEDIA_LIMIT_BYTES) {
      await response.body?.cancel();
      this.logger.warn({ status: response.status, bytes: length }, 'channel media not fetched; the message keeps its channel reference');
      return null;
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > MEDIA_LIMIT_BYTES) return null;
    const type = response.headers.get('content-type')?.split(';')[0]?.trim();
    return { bytes, ...(type && /^[a-z]+\/[a-z0-9.+-]+$/i.test(type) && type !== 'application/json' ? { mimeType: type } : {}) };
  }
}
