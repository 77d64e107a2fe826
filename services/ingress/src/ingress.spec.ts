import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { SignJWT, jwtVerify } from 'jose';
import { streams, type Identity } from '@parley/contracts';
import { ChannelClosedError } from '@parley/conversation';
import { CustomerDirectory } from '@parley/customer-directory';
import { deriveKey, type RecordedEvent } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { waitFor } from '@parley/testing-support';
import { loadIngressConfig } from './config/ingress.config';
import { startIngress, type RunningIngress } from './ingress.app';
import { FakeGraphServer } from './testing/fake-graph.server';
import {
  APPLE_SECRET,
  APP_SECRET,
  CHANNELS,
  VERIFY_TOKEN,
  ferretStore,
  postMeta,
  sqliteStore,
  whatsappMessage,
  whatsappStatus,
  type StoreBackend,
} from './testing/ingress.fixture';
import { signMetaBody } from './webhooks/meta.signature';

for (const [name, make] of [
  ['SQLite', sqliteStore],
  ['FerretDB', ferretStore],
] as const) {
  describe(`ingress: channels in and out (${name})`, () => {
    let backend: StoreBackend;
    let graph: FakeGraphServer;
    let ingress: RunningIngress;
    let storage: Storage;
    let directory: CustomerDirectory;
    const agent = { kind: 'agent' as const, agentId: 'agent-1' };
    const ingressRegistry = new Registry();

    const conversationOf = async (identity: Pick<Identity, 'kind' | 'id'>) => {
      const customerId = await directory.find('brand-a', identity);
      assert.ok(customerId, `a customer for ${identity.kind}`);
      return {
        customerId,
        stream: streams.conversation('brand-a', customerId),
        events: await storage.log.readStream(streams.conversation('brand-a', customerId)),
      };
    };
    const ofType = (events: readonly RecordedEvent[], type: string) => events.filter((e) => e.type === type);
    const reply = (stream: string, customerId: string, messageId: string, text: string, extra: Record<string, unknown> = {}) =>
      ingress.recorder.conversations.handle(
        stream,
        { type: 'SendMessage', messageId, author: agent, text, at: new Date().toISOString(), ...extra },
        { tenantId: 'brand-a', metadata: { subjectId: customerId } },
      );

    /** A message from Apple's gateway, signed as it signs them. */
    const postApple = async (sourceId: string, id: string, body: Record<string, unknown>, secret = APPLE_SECRET) => {
      const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setAudience('msp-parley').setIssuedAt().sign(Buffer.from(secret, 'base64'));
      return (
        await fetch(`http://127.0.0.1:${ingress.httpPort}/webhooks/apple/message`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', id, 'source-id': sourceId, 'destination-id': 'biz-brand-a', authorization: `Bearer ${jwt}` },
          body: JSON.stringify({ v: 1, id, sourceId, destinationId: 'biz-brand-a', locale: 'en_US', ...body }),
        })
      ).status;
    };

    before(async () => {
      backend = make();
      graph = new FakeGraphServer({ 'pn-brand-a': 'wa-token-a', 'page-brand-a': 'page-token-a' });
      graph.appleVerifier = async (token) =>
        jwtVerify(token, Buffer.from(APPLE_SECRET, 'base64'), { audience: 'msp-parley' }).then(
          () => true,
          () => false,
        );
      await graph.start();
      ingress = await startIngress(
        loadIngressConfig({
          ...backend.env,
          PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
          PARLEY_INGRESS_HTTP_PORT: '0',
          PARLEY_CHANNELS: JSON.stringify(CHANNELS),
          PARLEY_GRAPH_BASE_URL: graph.baseUrl,
          PARLEY_APPLE_GATEWAY_URL: graph.appleGatewayUrl,
          PARLEY_OUTBOUND_BACKOFF_MS: '10',
          PARLEY_OUTBOUND_ATTEMPTS: '3',
        }),
        { registry: ingressRegistry },
      );
      storage = await openStorage(loadIngressConfig(backend.env), new Registry());
      directory = new CustomerDirectory(storage.log, deriveKey(storage.masterKey, 'identity-claims'));
    });
    after(async () => {
      await ingress.close();
      await storage.close();
      await graph.stop();
      await backend.cleanup();
    });

    it('warmed up its webhook path at start on a database of its own: nothing written to the log, nothing counted', async () => {
      const value = async (name: string) => (await ingressRegistry.getSingleMetric(name)?.get())?.values ?? [];
      const warmup = await value('parley_ingress_warmup_seconds');
      assert.equal(warmup.length, 1);
      assert.ok(warmup[0]!.value > 0);
      assert.equal(await storage.log.lastPosition(), 0);
      assert.deepEqual(await value('parley_ingress_inbound_total'), []);
    });

    it("answers Meta's handshake only with the right verify token", async () => {
      const ok = await fetch(
        `http://127.0.0.1:${ingress.httpPort}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
      );
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), '1158201444');
      const wrong = await fetch(`http://127.0.0.1:${ingress.httpPort}/webhooks/messenger?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
      assert.equal(wrong.status, 401);
    });

    it('refuses unsigned, wrongly signed and malformed webhooks, and records nothing of them', async () => {
      const before = await storage.log.lastPosition();
      const body = whatsappMessage({ userId: 'US.999', wamid: 'wamid.forged', text: 'forged' });
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', body, { signature: null })).status, 401);
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', body, { secret: 'not-the-app-secret' })).status, 401);
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', body, { signature: 'sha256=00' })).status, 401);
      const malformed = await postMeta(ingress.httpPort, 'whatsapp', { object: 'whatsapp_business_account', entry: 'nope' });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body, /WEBHOOK_MALFORMED/);
      // Signed, but not JSON; signed, but not UTF-8 (a lone continuation byte inside a string).
      const notJson = await postMeta(ingress.httpPort, 'whatsapp', '{"object": "whatsapp_business_account", "entry": [');
      assert.deepEqual([notJson.status, JSON.parse(notJson.body).error], [400, 'WEBHOOK_NOT_JSON']);
      const latin1 = Buffer.concat([Buffer.from('{"object":"whatsapp_business_account","entry":[],"x":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
      const notUtf8 = await postMeta(ingress.httpPort, 'messenger', latin1);
      assert.deepEqual([notUtf8.status, JSON.parse(notUtf8.body).error], [400, 'WEBHOOK_NOT_UTF8']);
      // Over the limit: refused by its declared length, and when it streams past it undeclared.
      const huge = JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(2 * 1024 * 1024) });
      const declared = await postMeta(ingress.httpPort, 'whatsapp', huge);
      assert.deepEqual([declared.status, JSON.parse(declared.body).error], [413, 'WEBHOOK_TOO_LARGE']);
      const streamed = await fetch(`http://127.0.0.1:${ingress.httpPort}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(huge, APP_SECRET) },
        body: new ReadableStream({
          start(c) {
            for (let i = 0; i < huge.length; i += 65_536) c.enqueue(new TextEncoder().encode(huge.slice(i, i + 65_536)));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 413);
      assert.equal(await storage.log.lastPosition(), before);
      const rejected = Object.fromEntries(
        (await ingressRegistry.getSingleMetric('parley_ingress_webhook_rejections_total')!.get()).values.map((v) => [
          `${v.labels['channel']}:${v.labels['reason']}`,
          v.value,
        ]),
      );
      assert.deepEqual(
        {
          notJson: rejected['whatsapp:WEBHOOK_NOT_JSON'],
          notUtf8: rejected['messenger:WEBHOOK_NOT_UTF8'],
          tooLarge: rejected['whatsapp:WEBHOOK_TOO_LARGE'],
          forged: rejected['whatsapp:WEBHOOK_SIGNATURE_INVALID'],
        },
        { notJson: 1, notUtf8: 1, tooLarge: 2, forged: 3 },
      );
    });

    it('records WhatsApp messages once, in one conversation per customer, across webhooks and redeliveries', async () => {
      const ada = { kind: 'whatsapp' as const, id: 'US.13491208655302741918' };
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId: ada.id, waId: '16505551234', wamid: 'wamid.A1', text: 'my order is late' })))
          .status,
        200,
      );
      // Meta delivers again (it did not see our answer): nothing doubles.
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId: ada.id, waId: '16505551234', wamid: 'wamid.A1', text: 'my order is late' })))
          .status,
        200,
      );
      // A batch: a photo from Ada and a message from someone new, in one body.
      const batch = whatsappMessage({ userId: ada.id, waId: '16505551234', wamid: 'wamid.A2', image: { id: 'media-77', caption: 'the parcel' } });
      const other = whatsappMessage({ userId: 'US.555', wamid: 'wamid.B1', text: 'hello' });
      batch.entry.push(...other.entry);
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', batch)).status, 200);
      const { events } = await conversationOf(ada);
      const received = ofType(events, 'conversation.message-received').map(
        (e) => e.data as { text?: string; attachments: { ref: string; mimeType: string }[]; channelMessageId: string },
      );
      assert.deepEqual(
        received.map((m) => m.channelMessageId),
        ['wamid.A1', 'wamid.A2'],
      );
      assert.equal(received[0]!.text, 'my order is late');
      assert.deepEqual(
        received[1]!.attachments.map((a) => [a.ref, a.mimeType]),
        [['whatsapp-media:media-77', 'image/jpeg']],
      );
      assert.equal(ofType((await conversationOf({ kind: 'whatsapp', id: 'US.555' })).events, 'conversation.message-received').length, 1);
    });

    it("joins a WhatsApp user to the customer the brand's shop registered by the phone number WhatsApp verified, and starts their conversation", async () => {
      const shopper = await directory.resolve(
        { tenantId: 'brand-a', actor: 'shop' },
        { kind: 'sms', id: '+4917000000001' },
        'brand-api',
        randomUUID,
        new Date().toISOString(),
      );
      const wa = { kind: 'whatsapp' as const, id: 'US.4917000000001' };
      const answer = await postMeta(
        ingress.httpPort,
        'whatsapp',
        whatsappMessage({ userId: wa.id, waId: '4917000000001', wamid: 'wamid.S1', text: 'where is my parcel?' }),
      );
      assert.equal(answer.status, 200);
      assert.equal(await directory.find('brand-a', wa), shopper.customerId);
      const { events } = await conversationOf(wa);
      assert.deepEqual(
        ofType(events, 'conversation.started').map((e) => (e.data as { customerId: string }).customerId),
        [shopper.customerId],
      );
      const { state } = await directory.customers.load(streams.customer('brand-a', shopper.customerId));
      assert.deepEqual(state.own.conversations, [shopper.customerId], 'the conversation is attached to the customer the shop made');
      // A payload from before business-scoped user ids: wa_id alone is the identity, and the same phone number.
      const older = await directory.resolve(
        { tenantId: 'brand-a', actor: 'shop' },
        { kind: 'sms', id: '+4917000000002' },
        'brand-api',
        randomUUID,
        new Date().toISOString(),
      );
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId: '4917000000002', wamid: 'wamid.S2', text: 'hello' }))).status, 200);
      assert.equal(await directory.find('brand-a', { kind: 'whatsapp', id: '4917000000002' }), older.customerId);
    });

    it('fetches the photo a WhatsApp customer sends from Graph into the blob store, once, and keeps it when Graph is down for a moment', async () => {
      const photo = randomBytes(200 * 1024);
      graph.media.set('media-photo-1', { bytes: photo, mimeType: 'image/jpeg' });
      const userId = 'US.media-1';
      const body = whatsappMessage({ userId, wamid: 'wamid.M1', image: { id: 'media-photo-1', caption: 'the broken lid' } });
      // Graph fails once: the webhook is not acknowledged, Meta sends it again, and then it is recorded.
      graph.failNext(1, 503);
      assert.ok((await postMeta(ingress.httpPort, 'whatsapp', body)).status >= 500);
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', body)).status, 200);
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', body)).status, 200);
      const { customerId, events } = await conversationOf({ kind: 'whatsapp', id: userId });
      const received = ofType(events, 'conversation.message-received').map(
        (e) => e.data as { text: string; attachments: { ref: string; mimeType: string; sizeBytes: number }[] },
      );
      assert.equal(received.length, 1, 'recorded once');
      const [attachment] = received[0]!.attachments;
      assert.match(attachment!.ref, /^blob:[A-Za-z0-9_-]{22}$/);
      assert.deepEqual([attachment!.mimeType, attachment!.sizeBytes, received[0]!.text], ['image/jpeg', photo.length, 'the broken lid']);
      const stored = await storage.blobs.get('brand-a', attachment!.ref.slice(5));
      const chunks: Buffer[] = [];
      for await (const chunk of stored!.stream) chunks.push(chunk as Buffer);
      assert.ok(Buffer.concat(chunks).equals(photo));
      assert.equal(stored!.meta.ownerId, customerId);
      assert.ok(
        graph.mediaRequests.filter((r) => r.path.includes('media-photo-1')).every((r) => r.authorized),
        "fetched with the account's token",
      );
      // Media Graph no longer has: the message keeps the channel's reference.
      const gone = whatsappMessage({ userId, wamid: 'wamid.M2', image: { id: 'media-expired' } });
      assert.equal((await postMeta(ingress.httpPort, 'whatsapp', gone)).status, 200);
      const after = ofType((await conversationOf({ kind: 'whatsapp', id: userId })).events, 'conversation.message-received');
      assert.equal((after.at(-1)!.data as { attachments: { ref: string }[] }).attachments[0]!.ref, 'whatsapp-media:media-expired');
    });

    it('fetches an image a Messenger customer sends from its CDN URL into the blob store', async () => {
      const image = randomBytes(50 * 1024);
      graph.media.set('cdn-img-1', { bytes: image, mimeType: 'image/png' });
      const now = Date.now();
      const body = {
        object: 'page',
        entry: [
          {
            id: 'page-brand-a',
            time: now,
            messaging: [
              {
                sender: { id: 'psid-media' },
                recipient: { id: 'page-brand-a' },
                timestamp: now,
                message: { mid: 'm_media_1', attachments: [{ type: 'image', payload: { url: `${graph.cdnUrl}/cdn-img-1` } }] },
              },
            ],
          },
        ],
      };
      assert.equal((await postMeta(ingress.httpPort, 'messenger', body)).status, 200);
      const { events } = await conversationOf({ kind: 'messenger', id: 'psid-media' });
      const [attachment] = (ofType(events, 'conversation.message-received')[0]!.data as { attachments: { ref: string; mimeType: string; sizeBytes: number }[] })
        .attachments;
      assert.match(attachment!.ref, /^blob:/);
      assert.deepEqual([attachment!.mimeType, attachment!.sizeBytes], ['image/png', image.length]);
      assert.ok(await storage.blobs.get('brand-a', attachment!.ref.slice(5)));
    });

    it("uploads a file an agent sends to WhatsApp's media API first, then sends it by its media id", async () => {
      const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' });
      const label = Buffer.from('%PDF-1.7 return label');
      const stored = await storage.blobs.put({ tenantId: 'brand-a', ownerId: customerId, mimeType: 'application/pdf', name: 'label.pdf' }, label);
      await reply(stream, customerId, 'reply-with-label', 'your return label', {
        attachments: [{ ref: `blob:${stored.id}`, mimeType: 'application/pdf', sizeBytes: label.length, name: 'label.pdf' }],
      });
      const sent = await waitFor(
        () => graph.requests.find((r) => r.body['biz_opaque_callback_data'] === 'reply-with-label'),
        (r) => r !== undefined,
        { what: 'the reply with its document' },
      );
      const upload = graph.uploads.at(-1)!;
      assert.deepEqual([upload.accountId, upload.type, upload.name], ['pn-brand-a', 'application/pdf', 'label.pdf']);
      assert.ok(graph.media.get(upload.id)!.bytes.equals(label), 'the bytes WhatsApp got are the file');
      assert.deepEqual(sent!.body['document'], { id: upload.id, caption: 'your return label', filename: 'label.pdf' });
    });

    it('records a burst from one new customer (ten webhooks at once) without an error, each message once, in one conversation', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId: 'US.burst', wamid: `wamid.burst.${i}`, text: `photo ${i}` })),
        ),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(10).fill(200),
      );
      const { events } = await conversationOf({ kind: 'whatsapp', id: 'US.burst' });
      assert.equal(ofType(events, 'conversation.started').length, 1);
      assert.deepEqual(
        ofType(events, 'conversation.message-received')
          .map((e) => (e.data as { channelMessageId: string }).channelMessageId)
          .sort(),
        Array.from({ length: 10 }, (_, i) => `wamid.burst.${i}`).sort(),
      );
    });

    it('ignores business numbers it does not serve', async () => {
      const before = await storage.log.lastPosition();
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId: 'US.1', wamid: 'wamid.X', text: 'x', phoneNumberId: 'not-ours' }))).status,
        200,
      );
      assert.equal(await storage.log.lastPosition(), before);
    });

    it("delivers an agent's reply through the Graph API, and records its delivery and read statuses", async () => {
      const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' });
      await reply(stream, customerId, 'reply-1', 'sorry, on its way');
      const request = await waitFor(
        () => graph.requests.find((r) => r.body['biz_opaque_callback_data'] === 'reply-1'),
        (r) => r !== undefined,
        { what: 'the Graph request' },
      );
      assert.equal(request!.accountId, 'pn-brand-a');
      assert.equal(request!.token, 'wa-token-a');
      assert.deepEqual(
        { to: request!.body['to'], type: request!.body['type'], text: request!.body['text'] },
        { to: '16505551234', type: 'text', text: { body: 'sorry, on its way', preview_url: false } },
      );
      for (const status of ['sent', 'delivered', 'read']) {
        assert.equal(
          (
            await postMeta(
              ingress.httpPort,
              'whatsapp',
              whatsappStatus({ userId: 'US.13491208655302741918', waId: '16505551234', wamid: 'wamid.out', status, messageId: 'reply-1' }),
            )
          ).status,
          200,
        );
      }
      const receipts = ofType((await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' })).events, 'conversation.receipt-recorded').map(
        (e) => (e.data as { status: string }).status,
      );
      assert.deepEqual(receipts, ['delivered', 'read']);
    });

    it("matches statuses that carry only the wamid Graph gave the reply, as Meta's own examples do", async () => {
      const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' });
      await reply(stream, customerId, 'reply-wamid-only', 'your parcel left the warehouse');
      const accepted = await waitFor(
        async () =>
          ofType(await storage.log.readStream(stream), 'conversation.message-accepted').find(
            (e) => (e.data as { messageId: string }).messageId === 'reply-wamid-only',
          ),
        (e) => e !== undefined,
        { what: 'the wamid recorded' },
      );
      const wamid = (accepted!.data as { channelMessageId: string }).channelMessageId;
      assert.match(wamid, /^wamid\./);
      for (const [status, who] of [
        ['delivered', { userId: 'US.13491208655302741918' }],
        ['read', { waId: '16505551234', userId: 'US.13491208655302741918' }],
      ] as const) {
        assert.equal((await postMeta(ingress.httpPort, 'whatsapp', whatsappStatus({ ...who, wamid, status }))).status, 200);
      }
      const receipts = ofType(await storage.log.readStream(stream), 'conversation.receipt-recorded').filter(
        (e) => (e.data as { messageId?: string }).messageId === 'reply-wamid-only',
      );
      assert.deepEqual(
        receipts.map((e) => (e.data as { status: string }).status),
        ['delivered', 'read'],
      );
      // A wamid Parley never sent (another system on the same number) changes nothing and is answered 200.
      const before = await storage.log.lastPosition();
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappStatus({ userId: 'US.13491208655302741918', wamid: 'wamid.not-ours', status: 'read' }))).status,
        200,
      );
      assert.equal(await storage.log.lastPosition(), before);
    });

    it('delivers nothing from an instance with outbound off, which still takes webhooks', async () => {
      const quiet = new FakeGraphServer({ 'pn-brand-a': 'wa-token-a' });
      await quiet.start();
      const quietRegistry = new Registry();
      const webhooksOnly = await startIngress(
        loadIngressConfig({
          ...backend.env,
          PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
          PARLEY_INGRESS_HTTP_PORT: '0',
          PARLEY_CHANNELS: JSON.stringify(CHANNELS),
          PARLEY_GRAPH_BASE_URL: quiet.baseUrl,
          PARLEY_INGRESS_OUTBOUND: 'false',
        }),
        { registry: quietRegistry },
      );
      try {
        assert.equal(
          (
            await postMeta(
              webhooksOnly.httpPort,
              'whatsapp',
              whatsappStatus({ userId: 'US.13491208655302741918', waId: '16505551234', wamid: 'wamid.out', status: 'read', messageId: 'reply-1' }),
            )
          ).status,
          200,
        );
        const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' });
        await reply(stream, customerId, 'reply-single-sender', 'one sender');
        await waitFor(
          () => graph.requests.filter((r) => r.body['biz_opaque_callback_data'] === 'reply-single-sender').length,
          (n) => n === 1,
          { what: 'the delivering instance sent it' },
        );
        // No waiting for something not to happen: the quiet instance's reply dispatcher never
        // read the log at all (a running one reports its lag from its first page on).
        assert.deepEqual((await quietRegistry.getSingleMetric('parley_projection_lag_seconds')?.get())?.values ?? [], []);
        assert.deepEqual(quiet.requests, []);
      } finally {
        await webhooksOnly.close();
        await quiet.stop();
      }
    });

    it('retries a failing Graph API, and turns a refusal into a failed mark the agent sees', async () => {
      const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' });
      graph.failNext(2, 503);
      await reply(stream, customerId, 'reply-retried', 'after a hiccup');
      await waitFor(
        () => graph.requests.filter((r) => r.body['biz_opaque_callback_data'] === 'reply-retried').length,
        (n) => n === 3,
        { what: 'two failures and a success' },
      );
      graph.failNext(1, 400, { error: { message: '(#131047) Re-engagement message', code: 131047 } });
      await reply(stream, customerId, 'reply-refused', 'too late');
      const failed = await waitFor(
        async () =>
          ofType((await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' })).events, 'conversation.receipt-recorded')
            .map((e) => e.data as { status: string; messageId?: string; error?: string })
            .find((r) => r.messageId === 'reply-refused'),
        (r) => r !== undefined,
        { what: 'the failed mark' },
      );
      assert.equal(failed!.status, 'failed');
      assert.match(failed!.error!, /400 131047/);
      assert.equal(graph.requests.filter((r) => r.body['biz_opaque_callback_data'] === 'reply-refused').length, 1, 'a 4xx is not retried');
      assert.equal(graph.requests.filter((r) => r.body['biz_opaque_callback_data'] === 'reply-1').length, 1, 'nothing is sent twice');
    });

    it('takes Messenger messages and watermarks, skips echoes, and replies through the Send API', async () => {
      const now = Date.now();
      const body = {
        object: 'page',
        entry: [
          {
            id: 'page-brand-a',
            time: now,
            messaging: [
              { sender: { id: 'psid-1' }, recipient: { id: 'page-brand-a' }, timestamp: now - 5000, message: { mid: 'm_1', text: 'is the shop open?' } },
              {
                sender: { id: 'page-brand-a' },
                recipient: { id: 'psid-1' },
                timestamp: now - 4000,
                message: { mid: 'm_echo', text: 'echo', is_echo: true, app_id: 1234 },
              },
            ],
          },
        ],
      };
      assert.equal((await postMeta(ingress.httpPort, 'messenger', body)).status, 200);
      assert.equal((await postMeta(ingress.httpPort, 'messenger', body)).status, 200);
      const { customerId, stream, events } = await conversationOf({ kind: 'messenger', id: 'psid-1' });
      assert.deepEqual(
        ofType(events, 'conversation.message-received').map((e) => (e.data as { text: string }).text),
        ['is the shop open?'],
      );
      await reply(stream, customerId, 'm-reply', 'yes, until 6');
      const request = await waitFor(
        () => graph.requests.find((r) => r.accountId === 'page-brand-a'),
        (r) => r !== undefined,
        { what: 'the Send API request' },
      );
      assert.deepEqual(request!.body, { recipient: { id: 'psid-1' }, messaging_type: 'RESPONSE', message: { text: 'yes, until 6', metadata: 'm-reply' } });
      const later = Date.now() + 1000;
      const watermark = (kind: 'delivery' | 'read') => ({
        object: 'page',
        entry: [
          {
            id: 'page-brand-a',
            time: later,
            messaging: [{ sender: { id: 'psid-1' }, recipient: { id: 'page-brand-a' }, timestamp: later, [kind]: { watermark: later } }],
          },
        ],
      });
      assert.equal((await postMeta(ingress.httpPort, 'messenger', watermark('delivery'))).status, 200);
      assert.equal((await postMeta(ingress.httpPort, 'messenger', watermark('read'))).status, 200);
      const receipts = ofType((await conversationOf({ kind: 'messenger', id: 'psid-1' })).events, 'conversation.receipt-recorded').map(
        (e) => (e.data as { status: string }).status,
      );
      assert.deepEqual(receipts, ['delivered', 'read']);
    });

    it("takes Apple Messages for Business with the gateway's token, once per message id, and honours the close", async () => {
      const post = (id: string, body: Record<string, unknown>, secret = APPLE_SECRET) => postApple('urn:mbid:AQAAY-1', id, body, secret);
      assert.equal(
        await post('a-1', { type: 'text', body: 'hi from my iPhone' }, Buffer.alloc(32, 1).toString('base64')),
        401,
        'a token not signed with our secret',
      );
      assert.equal(await post('a-1', { type: 'text', body: 'hi from my iPhone' }), 200);
      assert.equal(await post('a-1', { type: 'text', body: 'hi from my iPhone' }), 200);
      assert.equal(await post('a-2', { type: 'interactive', interactiveData: { receivedMessage: { title: 'Tuesday 10:00' } } }), 200);
      assert.equal(await post('a-3', { type: 'text' }), 400);
      const open = await conversationOf({ kind: 'apple', id: 'urn:mbid:AQAAY-1' });
      await reply(open.stream, open.customerId, 'apple-reply', 'Tuesday it is');
      const sent = await waitFor(
        () => graph.appleMessages.find((m) => m.body['body'] === 'Tuesday it is'),
        (m) => m !== undefined,
        { what: "the reply at Apple's gateway" },
      );
      assert.deepEqual(
        { source: sent!.headers['source-id'], destination: sent!.headers['destination-id'], type: sent!.body['type'] },
        { source: 'biz-brand-a', destination: 'urn:mbid:AQAAY-1', type: 'text' },
      );
      assert.equal(await post('a-4', { type: 'close' }), 200);
      const { customerId, stream, events } = await conversationOf({ kind: 'apple', id: 'urn:mbid:AQAAY-1' });
      assert.deepEqual(
        ofType(events, 'conversation.message-received').map((e) => (e.data as { text: string }).text),
        ['hi from my iPhone', 'Tuesday 10:00'],
      );
      assert.equal(ofType(events, 'conversation.channel-closed').length, 1);
      await assert.rejects(reply(stream, customerId, 'after-close', 'still there?'), ChannelClosedError);
    });

    it('asks a WhatsApp customer for a rating as the conversation is resolved, and records a bare number as the answer without reopening', async () => {
      const userId = 'US.survey-1';
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId, waId: '4917011111111', wamid: 'wamid.sv1', text: 'got it, thanks' }))).status,
        200,
      );
      const { customerId, stream } = await conversationOf({ kind: 'whatsapp', id: userId });
      const envelope = { tenantId: 'brand-a', metadata: { subjectId: customerId } };
      const question = 'How would you rate our help? Reply with a number from 1 (poor) to 5 (excellent).';
      await ingress.recorder.conversations.handle(
        stream,
        { type: 'Resolve', by: agent, survey: { messageId: 'survey-wa-1', text: question }, at: new Date().toISOString() },
        envelope,
      );
      const asked = await waitFor(
        () => graph.requests.find((r) => r.body['biz_opaque_callback_data'] === 'survey-wa-1'),
        (r) => r !== undefined,
        { what: 'the survey on WhatsApp' },
      );
      assert.deepEqual(asked!.body['text'], { body: question, preview_url: false });
      assert.equal(
        (await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId, waId: '4917011111111', wamid: 'wamid.sv2', text: '5' }))).status,
        200,
      );
      const { events } = await conversationOf({ kind: 'whatsapp', id: userId });
      assert.deepEqual(
        events.slice(-2).map((e) => e.type),
        ['conversation.message-received', 'conversation.satisfaction-recorded'],
      );
      assert.equal((events.at(-1)!.data as { score: number }).score, 5);
      assert.ok(!events.some((e) => e.type === 'conversation.reopened'), 'the answer does not reopen the conversation');
    });

    it('never sends a private note on WhatsApp, Messenger or Apple: the reply written after it goes out alone', async () => {
      const secret = 'internal: refund approved by finance';
      assert.equal(await postApple('urn:mbid:AQAAY-9', 'n-1', { type: 'text', body: 'any news on my refund?' }), 200);
      const conversations = {
        whatsapp: await conversationOf({ kind: 'whatsapp', id: 'US.13491208655302741918' }),
        messenger: await conversationOf({ kind: 'messenger', id: 'psid-1' }),
        apple: await conversationOf({ kind: 'apple', id: 'urn:mbid:AQAAY-9' }),
      };
      for (const [channel, { stream, customerId }] of Object.entries(conversations)) {
        await ingress.recorder.conversations.handle(
          stream,
          { type: 'AddNote', noteId: `note-${channel}`, agentId: 'agent-1', text: secret, at: new Date().toISOString() },
          { tenantId: 'brand-a', metadata: { subjectId: customerId } },
        );
        await reply(stream, customerId, `after-note-${channel}`, `your refund is on its way (${channel})`);
      }
      // Each conversation is dispatched in its order: once the reply is out, the note before it was passed over.
      await waitFor(
        () => [
          graph.requests.some((r) => r.body['biz_opaque_callback_data'] === 'after-note-whatsapp'),
          graph.requests.some((r) => (r.body['message'] as { metadata?: string } | undefined)?.metadata === 'after-note-messenger'),
          graph.appleMessages.some((m) => m.body['body'] === 'your refund is on its way (apple)'),
        ],
        (out) => out.every(Boolean),
        { what: 'the three replies delivered' },
      );
      const everything = JSON.stringify([graph.requests, graph.appleMessages]);
      assert.ok(!everything.includes(secret), 'no channel ever received the note');
      assert.deepEqual(
        ofType((await conversationOf({ kind: 'apple', id: 'urn:mbid:AQAAY-9' })).events, 'conversation.note-added').map(
          (e) => (e.data as { text: string }).text,
        ),
        [secret],
        'the note is in the log, for agents',
      );
    });
  });
}
