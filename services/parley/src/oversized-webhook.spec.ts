import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { waitFor } from '@parley/testing-support';
import { startEmbedded, type EmbeddedParley } from './testing/embedded.process';
import { invoke } from './testing/grpcurl.client';

const run = (file: string, args: string[], input?: string) =>
  new Promise<{ code: number; out: string; err: string }>((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 1024 * 1024 }, (error, out, err) =>
      error && typeof error.code !== 'number' ? reject(error) : resolve({ code: typeof error?.code === 'number' ? error.code : 0, out, err }),
    );
    child.stdin!.end(input ?? '');
  });

/** Python's http.client sends the whole body without waiting for an answer, as many webhook relays do. */
const PYTHON_POST = `
import http.client, json, sys
port, path, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
try:
    c.request('POST', path, body=b'x' * size, headers={'content-type': 'application/json'})
    r = c.getresponse()
    print(json.dumps({'status': r.status, 'body': r.read().decode()}))
except Exception as e:
    print(json.dumps({'status': 0, 'body': type(e).__name__ + ': ' + str(e)}))
`;

describe('oversized webhooks get 413, however they are sent (curl with and without Expect, Python http.client)', () => {
  let parley: EmbeddedParley;
  let ports: { name: string; port: number }[];
  let bigFile: string;

  before(async () => {
    parley = await startEmbedded();
    const ingressPort = Number(/also on its own port (\d+)/.exec(parley.output())![1]);
    ports = [
      { name: "npm start's port (through its proxy)", port: Number(new URL(parley.channels).port) },
      { name: "the ingress's own port", port: ingressPort },
    ];
    bigFile = join(parley.dataDir, 'big.json');
    writeFileSync(bigFile, Buffer.alloc(5 * 1024 * 1024, 'a'));
  });
  after(() => parley.stop());

  it('answers 413 WEBHOOK_TOO_LARGE to curl, with its default Expect: 100-continue and without it', async () => {
    for (const { name, port } of ports) {
      for (const path of ['/webhooks/whatsapp', '/webhooks/messenger']) {
        for (const expect of [[], ['-H', 'Expect:']]) {
          const result = await run('curl', [
            '-sS',
            '-X',
            'POST',
            '-H',
            'content-type: application/json',
            ...expect,
            '--data-binary',
            `@${bigFile}`,
            '-w',
            '\n%{http_code}',
            `http://127.0.0.1:${port}${path}`,
          ]);
          const [body, status] = [result.out.slice(0, result.out.lastIndexOf('\n')), result.out.slice(result.out.lastIndexOf('\n') + 1)];
          assert.equal(result.code, 0, `${name} ${path} ${expect.length ? 'without' : 'with'} Expect: curl ${result.err}`);
          assert.equal(status, '413', `${name} ${path} ${expect.length ? 'without' : 'with'} Expect`);
          assert.equal((JSON.parse(body) as { error: string }).error, 'WEBHOOK_TOO_LARGE');
        }
      }
      // The other routes of the ingress too (Apple's webhook, the widget's requests).
      const apple = await run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '--data-binary',
        `@${bigFile}`,
        `http://127.0.0.1:${port}/live/visitors`,
      ]);
      assert.equal(apple.out, '413', `${name} /live/visitors`);
    }
  });

  it('answers 413 to Python http.client, which sends the whole body first', async () => {
    for (const { name, port } of ports) {
      const result = await run('python3', ['-c', PYTHON_POST, String(port), '/webhooks/whatsapp', String(5 * 1024 * 1024)]);
      const answer = JSON.parse(result.out) as { status: number; body: string };
      assert.equal(answer.status, 413, `${name}: ${answer.body}`);
      assert.match(answer.body, /WEBHOOK_TOO_LARGE/);
    }
  });

  it('still takes a signed webhook sent with Expect: 100-continue, and recorded nothing of the refused ones', async () => {
    const secret = readFileSync(join(parley.dataDir, 'meta-app.secret'), 'utf8').trim();
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'waba',
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '15550001', phone_number_id: 'pn-demo' },
                contacts: [{ profile: { name: 'Ana' }, wa_id: '4915112345678' }],
                messages: [
                  {
                    from: '4915112345678',
                    id: 'wamid.expect-continue',
                    timestamp: String(Math.floor(Date.now() / 1000)),
                    type: 'text',
                    text: { body: 'sent with Expect: 100-continue' },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    for (const { name, port } of ports) {
      const result = await run(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-X',
          'POST',
          '-H',
          'content-type: application/json',
          '-H',
          'Expect: 100-continue',
          '-H',
          `x-hub-signature-256: ${signature}`,
          '--data-binary',
          '@-',
          `http://127.0.0.1:${port}/webhooks/whatsapp`,
        ],
        body,
      );
      assert.equal(result.out, '200', name);
    }
    // The list is a read model: wait for the signed message's conversation, then look at everything.
    const listed = await waitFor(
      () =>
        invoke<{ conversations?: { id: string; version: string }[] }>(
          parley.grpcAddress('gRPC API'),
          'parley.v1.ConversationService/ListConversations',
          { page_size: 10 },
          parley.tokens['supervisor']!,
        ),
      (l) => (l.conversations ?? []).length > 0,
      { what: 'the conversation' },
    );
    assert.equal(listed.conversations!.length, 1, 'one conversation: the signed message, sent twice, recorded once; nothing of the refused bodies');
    const metrics = await (await fetch(`${parley.base}/metrics`)).text();
    assert.match(metrics, /parley_ingress_webhook_rejections_total\{channel="whatsapp",reason="WEBHOOK_TOO_LARGE"\} \d+/);
  });
});
