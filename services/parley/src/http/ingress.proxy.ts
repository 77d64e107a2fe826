import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

/** What the ingress serves: channel webhooks, live chat, the widget and its demo page. */
const INGRESS_PATHS = [/^\/webhooks(\/|\?|$)/, /^\/live(\/|\?|$)/, /^\/widget(\.js(\?|$)|\/)/, /^\/demo(\?|$)/];

export function isIngressPath(url: string | undefined): boolean {
  return INGRESS_PATHS.some((p) => p.test(url ?? '/'));
}

/**
 * `npm start` answers everything on one HTTP port: the ingress's paths are passed
 * through, bytes unchanged (a webhook's signature covers the raw body), to the
 * ingress listening on loopback; WebSocket upgrades and event streams included.
 */
export class IngressProxy {
  constructor(private readonly port: () => number) {}

  forward(req: IncomingMessage, res: ServerResponse): void {
    // `Expect: 100-continue` goes through to the ingress: the client sends its body only
    // once the ingress asks for it, and hears a 413 at once otherwise.
    const expectsContinue = /^100-continue$/i.test(String(req.headers['expect'] ?? ''));
    let continued = !expectsContinue;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: this.port(),
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '' },
      },
      (answer) => {
        const headers = { ...answer.headers, ...(continued ? {} : { connection: 'close' }) };
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () =>
      res.headersSent
        ? res.destroy()
        : res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"UNAVAILABLE","message":"the ingress does not answer"}'),
    );
    res.on('close', () => upstream.destroy());
    if (continued) return void req.pipe(upstream);
    upstream.on('continue', () => {
      continued = true;
      res.writeContinue();
      req.pipe(upstream);
    });
  }

  /** Requests with `Expect: 100-continue` on the ingress's paths; returns false for the others. */
  checkContinue(req: IncomingMessage, res: ServerResponse): boolean {
    if (!isIngressPath(req.url) || !this.port()) return false;
    this.forward(req, res);
    return true;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const upstream = connect(this.port(), '127.0.0.1', () => {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    const close = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', close);
    socket.on('error', close);
    upstream.on('close', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  }
}
