import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { streams } from '@parley/contracts';
import { Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { waitFor } from '@parley/testing-support';
import { loadIngressConfig } from '../config/ingress.config';
import { startIngress, type RunningIngress } from '../ingress.app';
import { sqliteStore, type StoreBackend } from '../testing/ingress.fixture';

const IDENTITY_SECRET = 'brand-a-signs-its-users-with-this-secret';
type Wire = { type: string; [key: string]: unknown };

/** A widget's connection: everything it was told, in order. */
async function connect(port: number, query: Record<string, string>) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live?${new URLSearchParams(query)}`);
  const got: Wire[] = [];
  let closed: number | null = null;
  ws.on('message', (raw) => got.push(JSON.parse(raw.toString()) as Wire));
  ws.on('close', (code) => (closed = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    got,
    closedWith: () => closed,
    send: (message: unknown) => ws.send(JSON.stringify(message)),
    next: (accept: (m: Wire) => boolean, what: string) =>
      waitFor(
        () => got.find(accept),
        (m) => m !== undefined,
        { what, timeoutMs: 10_000 },
      ) as Promise<Wire>,
    close: () => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : (ws.once('close', () => resolve()), ws.close()))),
  };
}

describe('ingress: live chat over WebSocket', () => {
  let backend: StoreBackend;
  let ingress: RunningIngress;
  let storage: Storage;
  const visitor = async () =>
    (await (
      await fetch(`http://127.0.0.1:${ingress.httpPort}/live/visitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'brand-a' }),
      })
    ).json()) as { visitorId: string; token: string };
  const agentSends = (conversationId: string, messageId: string, text: string) =>
    ingress.recorder.conversations.handle(
      streams.conversation('brand-a', conversationId),
      { type: 'SendMessage', messageId, author: { kind: 'agent', agentId: 'agent-1' }, text, at: new Date().toISOString() },
      { tenantId: 'brand-a', metadata: { subjectId: conversationId } },
    );

  before(async () => {
    backend = sqliteStore();
    ingress = await startIngress(
      loadIngressConfig({
        ...backend.env,
        PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
        PARLEY_INGRESS_HTTP_PORT: '0',
        PARLEY_IDENTITY_SECRETS: `brand-a:${IDENTITY_SECRET}`,
        // Long enough for a reload on a loaded machine to come back within it, short enough to wait for.
        PARLEY_LIVE_SESSION_GRACE_MS: '3000',
        PARLEY_LIVE_TENANTS: 'brand-a',
      }),
      { registry: new Registry() },
    );
    storage = await openStorage(loadIngressConfig(backend.env), new Registry());
  });
  after(async () => {
    await ingress.close();
    await storage.close();
    await backend.cleanup();
  });

  it('gives visitors tokens only for live-chat tenants, and refuses connections without a valid one', async () => {
    const bad = await fetch(`http://127.0.0.1:${ingress.httpPort}/live/visitors`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'brand-z' }),
    });
    assert.equal(bad.status, 400);
    const anonymous = await connect(ingress.httpPort, { token: 'forged' });
    await waitFor(
      () => anonymous.closedWith(),
      (c) => c !== null,
      { what: 'the refusal' },
    );
    assert.equal(anonymous.closedWith(), 4401);
    assert.equal(anonymous.got[0]?.['code'], 'VISITOR_TOKEN_INVALID');
  });

  it('keeps what a visitor writes the moment the socket opens, before its conversation is ready', async () => {
    const { token } = await visitor();
    const ws = new WebSocket(`ws://127.0.0.1:${ingress.httpPort}/live?${new URLSearchParams({ token })}`);
    const got: Wire[] = [];
    ws.on('message', (raw) => got.push(JSON.parse(raw.toString()) as Wire));
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.send(JSON.stringify({ type: 'message', id: 'early-1', text: 'first words' }));
    ws.send(JSON.stringify({ type: 'message', id: 'early-2', text: 'second words' }));
    const acks = await waitFor(
      () =>
        got
          .filter((m) => m.type === 'ack')
          .map((m) => m['id'])
          .sort(),
      (a) => a.length === 2,
      { what: 'both acks' },
    );
    assert.deepEqual(acks, ['early-1', 'early-2']);
    const ready = got.find((m) => m.type === 'ready')!;
    const events = await storage.log.readStream(streams.conversation('brand-a', String(ready['conversationId'])));
    assert.deepEqual(
      events
        .filter((e) => e.type === 'conversation.message-received')
        .map((e) => (e.data as { text: string }).text)
        .sort(),
      ['first words', 'second words'],
    );
    ws.close();
  });

  it("carries a visitor's messages and the agent's answer, typing and read marks live to every tab", async () => {
    const { token } = await visitor();
    const tab1 = await connect(ingress.httpPort, { token, device: 'laptop' });
    const ready = await tab1.next((m) => m.type === 'ready', 'ready');
    assert.deepEqual(ready['messages'], []);
    const conversationId = String(ready['conversationId']);
    const tab2 = await connect(ingress.httpPort, { token, device: 'laptop' });
    await tab2.next((m) => m.type === 'ready', 'ready on the second tab');

    tab1.send({ type: 'message', id: 'c-1', text: 'is anyone there?' });
    assert.equal((await tab1.next((m) => m.type === 'ack', 'the ack'))['messageId'], 'web-c-1');
    for (const tab of [tab1, tab2])
      await tab.next((m) => m.type === 'message' && (m['message'] as { text: string }).text === 'is anyone there?', "the visitor's message on every tab");
    tab1.send({ type: 'message', id: 'c-1', text: 'is anyone there?' });
    await tab1.next((m) => m.type === 'ack' && tab1.got.filter((x) => x.type === 'ack').length === 2, 'the second ack');

    await agentSends(conversationId, 'a-1', 'Hello! How can I help?');
    await ingress.recorder.conversations.handle(
      streams.conversation('brand-a', conversationId),
      { type: 'StartTyping', by: 'agent', agentId: 'agent-1', channel: 'web', at: new Date().toISOString() },
      { tenantId: 'brand-a', metadata: { subjectId: conversationId } },
    );
    for (const tab of [tab1, tab2]) {
      const answer = await tab.next((m) => m.type === 'message' && (m['message'] as { id: string }).id === 'a-1', 'the answer');
      assert.deepEqual((answer['message'] as { inbound: boolean; author: unknown }).author, { kind: 'agent', agentId: 'agent-1' });
      await tab.next((m) => m.type === 'typing' && m['on'] === true, 'the agent typing');
    }
    tab2.send({ type: 'read' });
    await tab1.next((m) => m.type === 'receipt' && m['status'] === 'read', 'the read mark');
    const events = await storage.log.readStream(streams.conversation('brand-a', conversationId));
    assert.equal(events.filter((e) => e.type === 'conversation.message-received').length, 1, 'the repeated message id was recorded once');

    tab1.send({ type: 'message', id: 'bad id with spaces' });
    assert.equal((await tab1.next((m) => m.type === 'error', 'the error'))['code'], 'INVALID_MESSAGE');
    await tab1.close();
    await tab2.close();

    // A reload: the same token finds the same conversation, with its history.
    const again = await connect(ingress.httpPort, { token });
    const back = await again.next((m) => m.type === 'ready', 'ready after the reload');
    assert.equal(back['conversationId'], conversationId);
    assert.deepEqual(
      (back['messages'] as { text: string }[]).map((m) => m.text),
      ['is anyone there?', 'Hello! How can I help?'],
    );
    await again.close();
  });

  it("never shows the visitor an agent's private note: neither live nor in the history a reload brings", async () => {
    const { token } = await visitor();
    const tab = await connect(ingress.httpPort, { token });
    const conversationId = String((await tab.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    tab.send({ type: 'message', id: 'n-1', text: 'can I change my delivery address?' });
    await tab.next((m) => m.type === 'ack', 'the ack');
    const secret = 'internal: customer asked twice already';
    await ingress.recorder.conversations.handle(
      streams.conversation('brand-a', conversationId),
      { type: 'AddNote', noteId: 'note-1', agentId: 'agent-1', text: secret, at: new Date().toISOString() },
      { tenantId: 'brand-a', metadata: { subjectId: conversationId } },
    );
    await agentSends(conversationId, 'a-after-note', 'Yes, send me the new one.');
    // Events reach the socket in the conversation's order: once the answer is there, the note was passed over.
    await tab.next((m) => m.type === 'message' && (m['message'] as { id: string }).id === 'a-after-note', 'the answer');
    assert.ok(!JSON.stringify(tab.got).includes(secret), 'the note never reached the widget');
    await tab.close();
    const again = await connect(ingress.httpPort, { token });
    const back = await again.next((m) => m.type === 'ready', 'ready after a reload');
    assert.deepEqual(
      (back['messages'] as { text: string }[]).map((m) => m.text),
      ['can I change my delivery address?', 'Yes, send me the new one.'],
    );
    assert.ok(!JSON.stringify(back).includes(secret));
    await again.close();
  });

  it('asks the visitor for a rating when the conversation is resolved with a survey, on every tab and after a reload, and records the answer once', async () => {
    const { token } = await visitor();
    const tab = await connect(ingress.httpPort, { token });
    const conversationId = String((await tab.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    tab.send({ type: 'message', id: 's-1', text: 'thanks, that solved it' });
    await tab.next((m) => m.type === 'ack', 'the ack');
    const stream = streams.conversation('brand-a', conversationId);
    const envelope = { tenantId: 'brand-a', metadata: { subjectId: conversationId } };
    await ingress.recorder.conversations.handle(
      stream,
      {
        type: 'Resolve',
        by: { kind: 'agent', agentId: 'agent-1' },
        survey: { messageId: 'survey-1', text: 'unused on the web' },
        at: new Date().toISOString(),
      },
      envelope,
    );
    await tab.next((m) => m.type === 'survey', 'the survey');
    // A tab opened now is asked too: the survey is open until answered.
    const later = await connect(ingress.httpPort, { token });
    assert.equal((await later.next((m) => m.type === 'ready', 'ready on the second tab'))['survey'], true);
    later.send({ type: 'rate', score: 4 });
    for (const t of [tab, later]) assert.equal((await t.next((m) => m.type === 'rated', 'the answer heard'))['score'], 4);
    later.send({ type: 'rate', score: 6 });
    assert.equal((await later.next((m) => m.type === 'error', 'a score out of range refused'))['code'], 'INVALID_MESSAGE');
    const events = await storage.log.readStream(stream);
    assert.deepEqual(
      events.filter((e) => e.type === 'conversation.satisfaction-recorded').map((e) => (e.data as { score: number }).score),
      [4],
    );
    assert.ok(!events.some((e) => e.type === 'conversation.message-sent'), 'nothing sent on the web: the widget asks itself');
    await tab.close();
    await later.close();
    const again = await connect(ingress.httpPort, { token });
    assert.equal((await again.next((m) => m.type === 'ready', 'ready after the answer'))['survey'], false);
    await again.close();
  });

  it("records the visitor's page context once the conversation starts, once per change; the brand's signed attributes become the customer's", async () => {
    const { token } = await visitor();
    const tab = await connect(ingress.httpPort, { token });
    const conversationId = String((await tab.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    const signed = await new SignJWT({ attributes: { plan: 'pro' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(IDENTITY_SECRET));
    const context = { type: 'context', url: 'https://shop.example/checkout', attributes: { cart_value: 120 }, signed };
    // Before any message there is no conversation to record it on: it waits.
    tab.send(context);
    tab.send({ type: 'message', id: 'p-1', text: 'is express shipping possible?' });
    await tab.next((m) => m.type === 'ack', 'the ack');
    const stream = streams.conversation('brand-a', conversationId);
    const contexts = async () => (await storage.log.readStream(stream)).filter((e) => e.type === 'conversation.page-context-recorded').map((e) => e.data);
    await waitFor(contexts, (c) => c.length === 1, { what: 'the context recorded' });
    // The same context again, then a message: nothing new; a forged signature is refused and changes nothing.
    tab.send(context);
    tab.send({ type: 'context', url: 'https://shop.example/checkout', signed: 'forged.token.here' });
    assert.equal((await tab.next((m) => m.type === 'error', 'the forged signature refused'))['code'], 'ATTRIBUTES_TOKEN_INVALID');
    tab.send({ type: 'message', id: 'p-2', text: 'and to Austria?' });
    await tab.next((m) => m.type === 'ack' && m['id'] === 'p-2', 'the second ack');
    // The visitor moves on to another page: recorded.
    tab.send({ ...context, url: 'https://shop.example/thanks' });
    await waitFor(contexts, (c) => c.length === 2, { what: 'the new page recorded' });
    const recorded = (await contexts()) as { url: string; attributes: unknown; verifiedAttributes: unknown }[];
    assert.deepEqual(
      recorded.map((c) => [c.url, c.attributes, c.verifiedAttributes]),
      [
        ['https://shop.example/checkout', { cart_value: 120 }, { plan: 'pro' }],
        ['https://shop.example/thanks', { cart_value: 120 }, { plan: 'pro' }],
      ],
    );
    const set = (await storage.log.readStream(streams.customer('brand-a', conversationId))).filter((e) => e.type === 'customer.attribute-set');
    assert.deepEqual(
      set.map((e) => [(e.data as { key: string }).key, (e.data as { value: unknown }).value]),
      [['plan', 'pro']],
      'only what the brand signed is the customer’s, written once: the same value again writes nothing',
    );
    await tab.close();
  });

  it("takes a visitor's file within its limits, sends it with the next message, and gives it back to that visitor only", async () => {
    const { token } = await visitor();
    const tab = await connect(ingress.httpPort, { token });
    const conversationId = String((await tab.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    const upload = (bytes: Buffer, type: string, bearerToken = token) =>
      fetch(`http://127.0.0.1:${ingress.httpPort}/live/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearerToken}`, 'content-type': type, 'x-parley-filename': encodeURIComponent('Rechnung März.pdf') },
        body: bytes,
      });
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(64 * 1024, 1)]);
    const answer = await upload(pdf, 'application/pdf');
    assert.equal(answer.status, 201);
    const attachment = (await answer.json()) as { ref: string; mimeType: string; sizeBytes: number; name: string };
    assert.deepEqual([attachment.mimeType, attachment.sizeBytes, attachment.name], ['application/pdf', pdf.length, 'Rechnung März.pdf']);
    tab.send({ type: 'message', id: 'f-1', text: 'here is the invoice', attachments: [attachment] });
    await tab.next((m) => m.type === 'ack', 'the ack');
    const received = (await storage.log.readStream(streams.conversation('brand-a', conversationId))).find((e) => e.type === 'conversation.message-received');
    assert.deepEqual((received!.data as { attachments: unknown[] }).attachments, [attachment]);
    const download = (bearerToken: string) =>
      fetch(`http://127.0.0.1:${ingress.httpPort}/live/attachments/${attachment.ref.slice(5)}`, { headers: { authorization: `Bearer ${bearerToken}` } });
    const back = await download(token);
    assert.equal(back.status, 200);
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(pdf));
    assert.equal(back.headers.get('x-content-type-options'), 'nosniff');
    assert.match(back.headers.get('content-disposition') ?? '', /^attachment; filename\*=UTF-8''Rechnung%20M%C3%A4rz\.pdf$/);
    // Another visitor, a forged token, a type or a size past the limits: refused, nothing stored.
    const stranger = await visitor();
    assert.equal((await download(stranger.token)).status, 404);
    assert.equal((await download('forged')).status, 401);
    assert.equal((await upload(Buffer.from('MZ'), 'application/x-msdownload')).status, 415);
    assert.equal((await upload(Buffer.alloc(10 * 1024 * 1024 + 1), 'image/png')).status, 413);
    assert.equal((await upload(Buffer.from('x'), 'text/plain', 'forged')).status, 401);
    await tab.close();
  });

  it('opens a conversation of years with its latest 100 messages, edits and deletions shown, from its newest events only', async () => {
    const { token } = await visitor();
    const first = await connect(ingress.httpPort, { token });
    const conversationId = String((await first.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    await first.close();
    const stream = streams.conversation('brand-a', conversationId);
    const meta = { subjectId: conversationId };
    const at = (i: number) => new Date(Date.parse('2024-01-01T00:00:00.000Z') + i * 60_000).toISOString();
    const events = Array.from({ length: 3000 }, (_, i) =>
      i % 2
        ? {
            type: 'conversation.message-sent',
            tenantId: 'brand-a',
            metadata: meta,
            data: { messageId: `o${i}`, channel: 'web', author: { kind: 'agent', agentId: 'agent-1' }, text: `answer ${i}`, attachments: [], at: at(i) },
          }
        : {
            type: 'conversation.message-received',
            tenantId: 'brand-a',
            metadata: meta,
            data: { messageId: `m${i}`, channel: 'web', channelMessageId: `w${i}`, text: `question ${i}`, attachments: [], at: at(i) },
          },
    );
    events.push({
      type: 'conversation.message-edited',
      tenantId: 'brand-a',
      metadata: meta,
      data: { messageId: 'm2998', text: 'question, corrected', by: 'customer', at: at(3000) },
    } as never);
    events.push({
      type: 'conversation.message-deleted',
      tenantId: 'brand-a',
      metadata: meta,
      data: { messageId: 'o2999', by: 'agent', at: at(3001) },
    } as never);
    let version = await storage.log.streamVersion(stream);
    for (let i = 0; i < events.length; i += 1000) version = (await storage.log.append(stream, events.slice(i, i + 1000), version)).nextExpectedVersion;
    const back = await connect(ingress.httpPort, { token });
    const ready = await back.next((m) => m.type === 'ready', 'ready');
    const texts = (ready['messages'] as { text: string }[]).map((m) => m.text);
    assert.equal(texts.length, 100);
    // The newest: m2998 edited, o2999 deleted (not shown); before them the 98 messages in order.
    assert.deepEqual(texts.slice(-3), ['question 2996', 'answer 2997', 'question, corrected']);
    assert.equal(texts[0], 'answer 2899');
    assert.ok(Number(ready['version']) >= version);
    await back.close();
  });

  it('ends the live-chat session only when the last connection has been gone for the grace period', async () => {
    const { token } = await visitor();
    const tab = await connect(ingress.httpPort, { token });
    const conversationId = String((await tab.next((m) => m.type === 'ready', 'ready'))['conversationId']);
    const stream = streams.conversation('brand-a', conversationId);
    // Another visitor leaves at the same moment and does not come back: their session's end marks the grace period as over.
    const other = await connect(ingress.httpPort, { token: (await visitor()).token });
    const otherStream = streams.conversation('brand-a', String((await other.next((m) => m.type === 'ready', 'ready'))['conversationId']));
    await Promise.all([tab.close(), other.close()]);
    // Back within the grace period: the same session goes on.
    const reloaded = await connect(ingress.httpPort, { token });
    await reloaded.next((m) => m.type === 'ready', 'ready');
    await waitFor(
      async () => (await storage.log.readStream(otherStream)).map((e) => e.type),
      (t) => t.includes('conversation.session-ended'),
      { what: 'the grace period over for the other visitor' },
    );
    assert.deepEqual(
      (await storage.log.readStream(stream)).map((e) => e.type).filter((t) => t.startsWith('conversation.session')),
      ['conversation.session-started'],
    );
    await reloaded.close();
    const types = await waitFor(
      async () => (await storage.log.readStream(stream)).map((e) => e.type),
      (t) => t.includes('conversation.session-ended'),
      { what: 'the session end' },
    );
    assert.deepEqual(
      types.filter((t) => t.startsWith('conversation.session')),
      ['conversation.session-started', 'conversation.session-ended'],
    );
  });

  it('gives an identified visitor the same conversation on every device, live on both', async () => {
    const identity = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('user-42').sign(new TextEncoder().encode(IDENTITY_SECRET));
    const phone = await connect(ingress.httpPort, { token: (await visitor()).token, identity });
    const onPhone = await phone.next((m) => m.type === 'ready', 'ready on the phone');
    const laptop = await connect(ingress.httpPort, { token: (await visitor()).token, identity });
    const onLaptop = await laptop.next((m) => m.type === 'ready', 'ready on the laptop');
    assert.equal(onLaptop['conversationId'], onPhone['conversationId'], 'one conversation');
    phone.send({ type: 'message', id: 'p-1', text: 'written on my phone' });
    await laptop.next((m) => m.type === 'message' && (m['message'] as { text: string }).text === 'written on my phone', "the phone's message on the laptop");
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('user-42')
      .sign(new TextEncoder().encode('not-the-brand-secret-at-all-no'));
    const impostor = await connect(ingress.httpPort, { token: (await visitor()).token, identity: forged });
    await waitFor(
      () => impostor.closedWith(),
      (c) => c !== null,
      { what: 'the impostor refused' },
    );
    assert.equal(impostor.closedWith(), 4401);
    await phone.close();
    await laptop.close();
  });
});
