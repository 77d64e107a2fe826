import { connect, type Socket } from 'node:net';

/**
 * The benchmark's load generator: HTTP/1.1 POSTs written as ready-made bytes on
 * keep-alive connections, one request in flight per connection (as Meta's senders
 * do: no pipelining), the answer read until its last body byte. The sender shares
 * the machine with the service it measures; node:http's client spent about 300 µs
 * of CPU per request here, a sixth of what the service had at 1,000/s. Written as
 * wrk and autocannon are, it spends a fraction of that, so the numbers are the
 * service's rather than the sender's. Answers must carry a Content-Length (Parley's
 * and the floor server's all do); anything else is reported as an error.
 */
export class RawHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly waiting: Array<{ bytes: Buffer; done: Settle }> = [];

  constructor(
    private readonly port: number,
    private readonly connections: number,
  ) {}

  private closed = false;

  /** Opens every connection before the clock starts, as a sender already connected would have. */
  async open(): Promise<void> {
    await Promise.all(Array.from({ length: this.connections }, () => this.connect()));
  }

  /**
   * A connection the server closes (Node's keep-alive timeout is 5 s, and a busy
   * second leaves most of them idle longer) is replaced, as an HTTP agent would.
   */
  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: this.port, noDelay: true }, () => {
        const connection = new Connection(
          socket,
          (c) => this.release(c),
          (c) => this.lost(c),
        );
        this.all.push(connection);
        this.release(connection);
        resolve();
      });
      socket.once('error', reject);
    });
  }

  private lost(connection: Connection): void {
    for (const list of [this.idle, this.all]) {
      const at = list.indexOf(connection);
      if (at >= 0) list.splice(at, 1);
    }
    if (!this.closed) this.connect().catch(() => undefined);
  }

  /** Bytes of a POST with a JSON body, built before the clock starts. */
  static post(path: string, body: string, headers: Record<string, string>): Buffer {
    const head = [
      `POST ${path} HTTP/1.1`,
      'host: 127.0.0.1',
      'connection: keep-alive',
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ].join('\r\n');
    return Buffer.from(`${head}\r\n\r\n${body}`);
  }

  /** Sends a request on the first free connection (or when one frees up); resolves with the answer's status. */
  send(bytes: Buffer): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const done: Settle = { resolve, reject };
      const connection = this.idle.pop();
      if (connection) connection.send(bytes, done);
      else this.waiting.push({ bytes, done });
    });
  }

  close(): void {
    this.closed = true;
    for (const c of this.all) c.socket.destroy();
  }

  private release(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) connection.send(next.bytes, next.done);
    else this.idle.push(connection);
  }
}

interface Settle {
  resolve(status: number): void;
  reject(error: Error): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection and the answer it is reading. */
class Connection {
  private pending: Settle | null = null;
  private buffered: Buffer = Buffer.alloc(0);

  constructor(
    readonly socket: Socket,
    private readonly onFree: (c: Connection) => void,
    onLost: (c: Connection) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      this.fail(Object.assign(new Error('connection closed by the server'), { code: 'ECONNRESET' }));
      onLost(this);
    });
  }

  send(bytes: Buffer, done: Settle): void {
    this.pending = done;
    this.socket.write(bytes);
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headEnd = this.buffered.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    // 204 and 304 never have a body, whatever Content-Length says (RFC 9110, 6.4.1).
    const bodyless = status === 204 || status === 304;
    if (!length && !bodyless) return this.refuse(`an answer without Content-Length: ${head.split('\r\n')[0]}`);
    const end = headEnd + HEAD_END.length + (bodyless ? 0 : Number(length![1]));
    if (this.buffered.length < end) return;
    if (this.buffered.length > end) return this.refuse('bytes after the answer, which was not asked for');
    this.buffered = Buffer.alloc(0);
    const done = this.pending;
    this.pending = null;
    done?.resolve(status);
    this.onFree(this);
  }

  /** An answer this client cannot read: the request fails, and the connection is replaced. */
  private refuse(why: string): void {
    this.fail(Object.assign(new Error(why), { code: 'UNREADABLE_ANSWER' }));
    this.socket.destroy();
  }

  private fail(error: Error): void {
    const done = this.pending;
    this.pending = null;
    done?.reject(error);
  }
}
