/**
 * The floor the webhook benchmark measures against (`BENCH_FLOOR=true npm run
 * bench:ingress`): a bare node:http server that does only what no webhook handler
 * can skip (read the body, check Meta's signature, parse the JSON, answer 200),
 * and writes nothing. Run by the same load generator on the same machine, its
 * latency is what this machine and this client allow before Parley does any work.
 */
import { createServer } from 'node:http';
import { CHANNELS } from '../testing/ingress.fixture';
import { verifyMetaSignature } from '../webhooks/meta.signature';

const port = Number(process.env['PARLEY_INGRESS_HTTP_PORT'] ?? 0);
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/healthz' || req.url === '/readyz') return void res.end('{"status":"ok"}');
    // Content-Length, as Parley's answers have: the load generator reads answers by it.
    const body = Buffer.concat(chunks);
    try {
      verifyMetaSignature('whatsapp', body, req.headers['x-hub-signature-256'] as string | undefined, CHANNELS.meta.appSecret);
      JSON.parse(body.toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 }).end('{}');
    } catch {
      res.writeHead(400, { 'content-length': 0 }).end();
    }
  });
});
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
