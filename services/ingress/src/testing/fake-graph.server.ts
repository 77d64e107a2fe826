import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export interface GraphRequest {
  readonly path: string;
  readonly accountId: string;
  readonly token: string;
  readonly body: Record<string, unknown>;
}

const graphError = (message: string, code = 100) => ({ error: { message, type: 'OAuthException', code, fbtrace_id: randomBytes(6).toString('hex') } });

/** Checks a send request the way the Graph API documents it; returns what is wrong, or null. */
function problemOf(body: Record<string, unknown>): string | null {
  if (body['messaging_product'] === 'whatsapp') {
    if (typeof body['to'] !== 'string' && typeof body['recipient'] !== 'string') return '(#100) The parameter to is required.';
    const type = body['type'];
    if (type === 'text')
      return typeof (body['text'] as { body?: unknown })?.body === 'string' && (body['text'] as { body: string }).body.length > 0
        ? null
        : '(#100) text.body is required';
    if (type === 'template') return typeof (body['template'] as { name?: unknown })?.name === 'string' ? null : '(#100) template.name is required';
    if (type === 'image' || type === 'video' || type === 'audio' || type === 'document') {
      const media = body[type] as { id?: unknown; link?: unknown } | undefined;
      return media && (typeof media.id === 'string' || typeof media.link === 'string') ? null : `(#100) ${type}.id or ${type}.link is required`;
    }
    return `(#100) unsupported type ${String(type)}`;
  }
  const recipient = body['recipient'] as { id?: unknown } | undefined;
  if (typeof recipient?.id !== 'string') return '(#100) recipient.id is required';
  if (!['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(String(body['messaging_type']))) return '(#100) messaging_type is invalid';
  if (body['messaging_type'] === 'MESSAGE_TAG' && body['tag'] !== 'HUMAN_AGENT') return '(#100) tag is required with MESSAGE_TAG';
  const message = body['message'] as { text?: unknown; attachment?: unknown } | undefined;
  return typeof message?.text === 'string' || message?.attachment ? null : '(#100) message.text or message.attachment is required';
}

/**
 * Meta's Graph API on loopback, for tests and the channel simulator:
 * `POST /{version}/{phone-number-id or page-id}/messages` checked against the
 * documented request shape and the account's access token, answered as Graph
 * answers. It can fail on purpose: `failNext(n, status)`.
 */
export class FakeGraphServer {
  readonly requests: GraphRequest[] = [];
  private readonly failures: { status: number; body: unknown }[] = [];
  private server: Server | null = null;
  private port = 0;

  constructor(private readonly tokens: Readonly<Record<string, string>>) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v23.0`;
  }

  failNext(count: number, status: number, body: unknown = graphError('(#131000) Something went wrong', 131000)): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, body });
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void this.answer(req).then(({ status, body, raw }) => {
        if (raw) return void res.writeHead(status, { 'content-type': raw.mimeType, 'content-length': String(raw.bytes.length) }).end(raw.bytes);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Apple's gateway: `POST /apple/v1/message`, checked against the headers and token an MSP must send. */
  readonly appleMessages: { headers: Record<string, string>; body: Record<string, unknown> }[] = [];
  appleVerifier: ((token: string) => Promise<boolean>) | null = null;

  get appleGatewayUrl(): string {
    return `http://127.0.0.1:${this.port}/apple/v1`;
  }

  private async apple(req: IncomingMessage, raw: Buffer): Promise<{ status: number; body: unknown }> {
    const header = (n: string) => (typeof req.headers[n] === 'string' ? (req.headers[n] as string) : '');
    const token = header('authorization').replace(/^Bearer /, '');
    if (!this.appleVerifier || !(await this.appleVerifier(token))) return { status: 401, body: {} };
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    if (
      !header('id') ||
      !header('source-id') ||
      !header('destination-id') ||
      body['id'] !== header('id') ||
      body['destinationId'] !== header('destination-id') ||
      body['v'] !== 1
    )
      return { status: 400, body: {} };
    this.appleMessages.push({ headers: { id: header('id'), 'source-id': header('source-id'), 'destination-id': header('destination-id') }, body });
    return { status: 200, body: {} };
  }

  /**
   * Media customers sent, as Graph keeps it: `GET /{version}/{media-id}` answers its
   * URL (with the account's token), the URL answers the bytes to the same token;
   * Messenger's attachments are public CDN URLs (`/cdn/{id}`).
   */
  readonly media = new Map<string, { bytes: Buffer; mimeType: string }>();
  /** Media fetches as they came: path and whether a valid token came with them. */
  readonly mediaRequests: { path: string; authorized: boolean }[] = [];

  get cdnUrl(): string {
    return `http://127.0.0.1:${this.port}/cdn`;
  }

  private mediaAnswer(req: IncomingMessage): { status: number; body: unknown; raw?: { bytes: Buffer; mimeType: string } } | null {
    if (req.method !== 'GET') return null;
    const url = req.url ?? '';
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const authorized = Object.values(this.tokens).includes(token);
    const info = /^\/v\d+\.\d+\/([^/?]+)$/.exec(url);
    const download = /^\/media-download\/([^/?]+)$/.exec(url);
    const cdn = /^\/cdn\/([^/?]+)$/.exec(url);
    if (!info && !download && !cdn) return null;
    this.mediaRequests.push({ path: url, authorized });
    const failure = this.failures.shift();
    if (failure) return { status: failure.status, body: failure.body };
    const id = decodeURIComponent((info ?? download ?? cdn)![1]!);
    const media = this.media.get(id);
    if (!cdn && !authorized) return { status: 401, body: graphError('Invalid OAuth access token', 190) };
    if (!media) return { status: 404, body: graphError(`Unsupported get request. Object with ID '${id}' does not exist`, 100) };
    if (info)
      return {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          url: `http://127.0.0.1:${this.port}/media-download/${encodeURIComponent(id)}`,
          mime_type: media.mimeType,
          sha256: createHash('sha256').update(media.bytes).digest('hex'),
          file_size: media.bytes.length,
          id,
        },
      };
    return { status: 200, body: null, raw: media };
  }

  /** Media a business uploaded to send (`POST /{phone-number-id}/media`, multipart): kept under the id answered. */
  readonly uploads: { accountId: string; id: string; type: string; name: string }[] = [];

  private async upload(req: IncomingMessage, accountId: string, raw: Buffer): Promise<{ status: number; body: unknown }> {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.tokens[accountId] || this.tokens[accountId] !== token) return { status: 401, body: graphError('Invalid OAuth access token', 190) };
    const failure = this.failures.shift();
    if (failure) return { status: failure.status, body: failure.body };
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': String(req.headers['content-type'] ?? '') } }).formData();
    } catch {
      return { status: 400, body: graphError('(#100) multipart/form-data is required') };
    }
    const file = form.get('file');
    if (form.get('messaging_product') !== 'whatsapp' || typeof form.get('type') !== 'string' || !(file instanceof Blob))
      return { status: 400, body: graphError('(#100) messaging_product, type and file are required') };
    const id = `upload-${this.uploads.length + 1}`;
    this.media.set(id, { bytes: Buffer.from(await file.arrayBuffer()), mimeType: String(form.get('type')) });
    this.uploads.push({ accountId, id, type: String(form.get('type')), name: (file as File).name });
    return { status: 200, body: { id } };
  }

  private async answer(req: IncomingMessage): Promise<{ status: number; body: unknown; raw?: { bytes: Buffer; mimeType: string } }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const media = this.mediaAnswer(req);
    if (media) return media;
    const upload = /^\/v\d+\.\d+\/([^/]+)\/media$/.exec(req.url ?? '');
    if (req.method === 'POST' && upload) return this.upload(req, upload[1]!, Buffer.concat(chunks));
    if (req.method === 'POST' && req.url === '/apple/v1/message') return this.apple(req, Buffer.concat(chunks));
    const match = /^\/v\d+\.\d+\/([^/]+)\/messages$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return { status: 404, body: graphError('Unknown path components', 2500) };
    const accountId = match[1]!;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!this.tokens[accountId] || this.tokens[accountId] !== token) return { status: 401, body: graphError('Invalid OAuth access token', 190) };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return { status: 400, body: graphError('(#100) Invalid JSON') };
    }
    this.requests.push({ path: req.url!, accountId, token, body });
    const failure = this.failures.shift();
    if (failure) return { status: failure.status, body: failure.body };
    const problem = problemOf(body);
    if (problem) return { status: 400, body: graphError(problem) };
    if (body['messaging_product'] === 'whatsapp') {
      const to = String(body['to'] ?? body['recipient']);
      return {
        status: 200,
        body: { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: `wamid.${randomBytes(12).toString('base64url')}` }] },
      };
    }
    return { status: 200, body: { recipient_id: (body['recipient'] as { id: string }).id, message_id: `m_${randomBytes(12).toString('base64url')}` } };
  }
}
