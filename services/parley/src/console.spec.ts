import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import type { Browser, Page } from 'playwright-core';
import { axeProblems, launchChromium } from './testing/browser.support';
import { startEmbedded, type EmbeddedParley } from './testing/embedded.process';
import { invoke } from './testing/grpcurl.client';

describe('the reference console as an agent and a supervisor use it', () => {
  let parley: EmbeddedParley;
  let browser: Browser;
  let api: string;
  let shop: Producer;
  const namespace = `${uniqueName('console')}.`;
  const supervisor = () => parley.tokens['supervisor']!;

  async function signIn(page: Page, who: string): Promise<void> {
    await page.goto(`${parley.base}/console`);
    await waitFor(
      () => page.locator('#agent option').count(),
      (n) => n === 3,
      { what: 'the demo agents and the supervisor' },
    );
    await page.selectOption('#agent', { label: who });
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  /** A customer writes on WhatsApp through the simulator, as Meta would deliver it. */
  async function whatsapp(from: string, text: string, name?: string, phone?: string): Promise<void> {
    const sent = await fetch(`${parley.base}/simulator/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from, text, ...(name ? { name } : {}), ...(phone ? { phone } : {}) }),
    });
    assert.equal(sent.status, 200);
  }
  const customerOf = async (from: string) =>
    (await waitFor(
      () =>
        invoke<{ customer: { id: string } }>(api, 'parley.v1.CustomerService/FindCustomer', { identity: { kind: 'whatsapp', id: from } }, supervisor()).catch(
          () => null,
        ),
      (c) => c !== null,
      { what: `the customer ${from}` },
    ))!.customer.id;

  /** The brand's shop, as its developers would write it: a plain Kafka client, records made from the AsyncAPI document. */
  async function shopPublishes(type: string, key: string, data: unknown): Promise<void> {
    await shop.send({
      topic: `${namespace}parley.customer.context`,
      acks: -1,
      messages: [
        {
          key,
          value: JSON.stringify(data),
          headers: {
            ce_specversion: '1.0',
            ce_id: randomUUID(),
            ce_source: 'urn:test:shop',
            ce_type: type,
            ce_schemaversion: '1',
            'content-type': 'application/json',
          },
        },
      ],
    });
  }

  before(async () => {
    // The brand's systems reach npm start's Parley over a Kafka of their own (here the test Kafka, in a namespace of this spec's).
    parley = await startEmbedded({ PARLEY_INTEGRATION_KAFKA_BROKERS: infrastructure().kafkaBrokers.join(','), PARLEY_KAFKA_NAMESPACE: namespace });
    shop = new Kafka({ clientId: 'shop', brokers: infrastructure().kafkaBrokers, logLevel: logLevel.NOTHING }).producer();
    await shop.connect();
    api = parley.grpcAddress('gRPC API');
    browser = await launchChromium();
  });
  after(async () => {
    await shop?.disconnect();
    await browser?.close();
    await parley?.stop();
  });

  it('describes each offer by customer, channel, first line and waiting time; the timeline in words; the open conversation counts nothing unread', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, 'demo-agent-1');
    await page.selectOption('#presence', 'PRESENCE_ONLINE');
    await whatsapp('US.2000001', 'My parcel never arrived');
    const customerId = await customerOf('US.2000001');
    await invoke(api, 'parley.v1.CustomerService/SetAttributes', { customer_id: customerId, attributes: { name: 'Ana Lima' } }, supervisor());
    const offer = page.locator(`#offers li[data-conversation="${customerId}"]`);
    await waitFor(
      () => offer.textContent(),
      (t) => /Ana Lima · WhatsApp · waiting \d+ s/.test(t ?? '') && (t ?? '').includes('My parcel never arrived'),
      { what: 'the offer described', timeoutMs: 30_000 },
    );
    await offer.getByRole('button', { name: 'Accept: Ana Lima' }).click();
    const timeline = page.getByRole('log', { name: 'Timeline' });
    await waitFor(
      () => timeline.textContent(),
      (t) => (t ?? '').includes('My parcel never arrived'),
      { what: 'the conversation open' },
    );
    assert.match((await timeline.textContent()) ?? '', /Conversation open/);
    assert.doesNotMatch((await timeline.textContent()) ?? '', /conversation\.|session-started|\bstatus\b/);
    // The customer writes again while the agent looks at the conversation: nothing unread in the inbox for it.
    await whatsapp('US.2000001', 'Hello? Anyone?');
    await waitFor(
      () => timeline.textContent(),
      (t) => (t ?? '').includes('Hello? Anyone?'),
      { what: 'the new message on screen' },
    );
    const mine = page.locator(`#inbox li[data-conversation="${customerId}"]`);
    await waitFor(
      () => mine.textContent(),
      (t) => (t ?? '').includes('Ana Lima'),
      { what: 'the conversation in the inbox' },
    );
    assert.doesNotMatch((await mine.textContent()) ?? '', /unread/);
    // The customer panel follows changes made elsewhere (another agent links the e-mail).
    await invoke(api, 'parley.v1.CustomerService/LinkIdentity', { customer_id: customerId, identity: { kind: 'email', id: 'ana@example.com' } }, supervisor());
    await waitFor(
      () => page.locator('#customer').textContent(),
      (t) => (t ?? '').includes('E-mail: ana@example.com'),
      { what: 'the panel refreshed' },
    );
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the console with a conversation open');
    await page.context().close();
  });

  it('keeps an agent online across a reload, presence and heartbeats', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, 'demo-agent-2');
    await page.selectOption('#presence', 'PRESENCE_ONLINE');
    const presenceAgain = page.waitForRequest(
      (r) => r.url().endsWith('/api/AvailabilityService/SetPresence') && (r.postData() ?? '').includes('PRESENCE_ONLINE'),
    );
    await page.reload();
    await presenceAgain;
    assert.equal(await page.locator('#presence').inputValue(), 'PRESENCE_ONLINE');
    assert.equal(await page.locator('#desk').isVisible(), true, 'still signed in');
    await page.context().close();
  });

  it('shows a supervisor the queue, to assign a waiting customer to an agent', async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, 'supervisor');
    await whatsapp('US.2000002', 'Can someone help with my invoice?');
    const customerId = await customerOf('US.2000002');
    const waiting = page.locator(`#queue li[data-conversation="${customerId}"]`);
    await waitFor(
      () => waiting.textContent(),
      (t) => (t ?? '').includes('Can someone help with my invoice?'),
      { what: 'the conversation in the queue', timeoutMs: 30_000 },
    );
    // Offered to whoever is online, not taken yet: the supervisor hands it to demo-agent-2.
    await page.selectOption('#assign-to', 'demo-agent-2');
    await waiting.getByRole('button', { name: /^Assign/ }).click();
    await waitFor(
      () => invoke<{ conversation: { agentId?: string } }>(api, 'parley.v1.ConversationService/GetConversation', { conversation_id: customerId }, supervisor()),
      (c) => c.conversation.agentId === 'demo-agent-2',
      { what: 'the conversation assigned by the supervisor' },
    );
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the supervisor view');
    await page.context().close();
  });

  it('pages a long conversation: the latest messages first, earlier ones on request', async () => {
    for (let i = 0; i < 60; i++) await whatsapp('US.2000003', `line ${i}`);
    const customerId = await customerOf('US.2000003');
    await waitFor(
      () => invoke<{ conversation: { version: string } }>(api, 'parley.v1.ConversationService/GetConversation', { conversation_id: customerId }, supervisor()),
      (c) => Number(c.conversation.version) >= 61,
      { what: 'all sixty messages recorded' },
    );
    const page = await (await browser.newContext()).newPage();
    await signIn(page, 'supervisor');
    const waiting = page.locator(`#queue li[data-conversation="${customerId}"]`);
    await waiting.getByRole('button', { name: /^Open/ }).click({ timeout: 30_000 });
    const timeline = page.getByRole('log', { name: 'Timeline' });
    await waitFor(
      () => timeline.textContent(),
      (t) => (t ?? '').includes('line 59'),
      { what: 'the latest page' },
    );
    assert.doesNotMatch((await timeline.textContent()) ?? '', /line 0(?!\d)/);
    await page.getByRole('button', { name: 'Show earlier messages' }).click();
    await waitFor(
      () => timeline.textContent(),
      (t) => /line 0(?!\d)/.test(t ?? '') && (t ?? '').includes('line 59'),
      { what: 'the earlier page before the latest' },
    );
    await waitFor(
      () => page.getByRole('button', { name: 'Show earlier messages' }).isVisible(),
      (v) => !v,
      { what: 'nothing earlier left' },
    );
    assert.equal(
      await timeline
        .locator('li')
        .filter({ hasText: /^line \d+/ })
        .count(),
      60,
      'each message once',
    );
    await page.context().close();
  });

  it('the WhatsApp simulator shows both sides of the chat', async () => {
    const customerId = await customerOf('US.2000001');
    await invoke(
      api,
      'parley.v1.ConversationService/SendMessage',
      { conversation_id: customerId, message_id: 'sim-both-sides', text: 'We are on it, Ana.' },
      supervisor(),
    );
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${parley.base}/simulator`);
    const chat = page.locator('#chat');
    await waitFor(
      () => chat.textContent(),
      (t) => (t ?? '').includes('US.2000001 wrote: My parcel never arrived') && (t ?? '').includes('Parley to US.2000001: We are on it, Ana.'),
      { what: 'both sides in the simulator' },
    );
    await page.context().close();
  });

  it('shows a supervisor every queue the routing rules send conversations to, and assigns from any of them', async () => {
    const routing = parley.grpcAddress('routing');
    const rules = { rules: [{ rule_id: 'whatsapp-team', queue_id: 'whatsapp-team', channels: ['whatsapp'] }], default_queue_id: 'support' };
    await invoke(routing, 'parley.v1.RoutingService/SetRoutingRules', rules, supervisor());
    try {
      const page = await (await browser.newContext()).newPage();
      await signIn(page, 'supervisor');
      await whatsapp('US.2000009', 'Routed to the WhatsApp team?');
      const customerId = await customerOf('US.2000009');
      const waiting = page.locator(`#queue li[data-conversation="${customerId}"]`);
      await waitFor(
        () => waiting.textContent(),
        (t) => (t ?? '').includes('Routed to the WhatsApp team?') && (t ?? '').includes('whatsapp-team'),
        { what: 'the conversation in the whatsapp-team queue', timeoutMs: 30_000 },
      );
      await page.selectOption('#assign-to', 'demo-agent-1');
      await waiting.getByRole('button', { name: /^Assign/ }).click();
      await waitFor(
        () =>
          invoke<{ conversation: { agentId?: string } }>(api, 'parley.v1.ConversationService/GetConversation', { conversation_id: customerId }, supervisor()),
        (c) => c.conversation.agentId === 'demo-agent-1',
        { what: 'the conversation assigned from the whatsapp-team queue' },
      );
      await page.context().close();
      // Its agent transfers it from the console: the offer to the colleague is made in the queue it was assigned in.
      const agent = await (await browser.newContext()).newPage();
      await signIn(agent, 'demo-agent-1');
      await agent.locator(`#inbox li[data-conversation="${customerId}"]`).getByRole('button', { name: /^Open/ }).click();
      await waitFor(
        () => agent.getByRole('log', { name: 'Timeline' }).textContent(),
        (t) => (t ?? '').includes('Routed to the WhatsApp team?'),
        { what: 'the conversation open for its agent' },
      );
      await invoke(
        parley.grpcAddress('availability'),
        'parley.v1.AvailabilityService/SetPresence',
        { presence: 'PRESENCE_ONLINE' },
        parley.tokens['demo-agent-2']!,
      );
      await agent.getByRole('textbox', { name: 'Transfer to agent' }).fill('demo-agent-2');
      await agent.getByRole('button', { name: 'Transfer' }).click();
      const offers = await waitFor(
        () =>
          invoke<{ offers?: { conversationId: string; queueId: string }[] }>(
            routing,
            'parley.v1.RoutingService/ListOffers',
            {},
            parley.tokens['demo-agent-2']!,
          ),
        (r) => (r.offers ?? []).some((o) => o.conversationId === customerId),
        { what: 'the transfer offer to demo-agent-2' },
      );
      // A cold transfer: back in its queue, waiting first for the colleague it was sent to.
      assert.deepEqual(
        offers.offers!.filter((o) => o.conversationId === customerId).map((o) => o.queueId),
        ['whatsapp-team'],
      );
      await invoke(
        parley.grpcAddress('availability'),
        'parley.v1.AvailabilityService/SetPresence',
        { presence: 'PRESENCE_OFFLINE' },
        parley.tokens['demo-agent-2']!,
      );
      await agent.context().close();
    } finally {
      await invoke(routing, 'parley.v1.RoutingService/SetRoutingRules', { rules: [], default_queue_id: 'support' }, supervisor());
    }
  });
  it("shows a WhatsApp customer's name and latest order from the shop's Kafka records, follows the order as it ships; a note stays private, a canned response is filled in, the survey is answered", async () => {
    const page = await (await browser.newContext()).newPage();
    await signIn(page, 'supervisor');
    const phone = '4915770000001';
    const identity = { kind: 'sms', id: `+${phone}` };
    const key = `demo:sms:+${phone}`;
    const at = new Date().toISOString();
    // The shop knows the customer by phone; they write on WhatsApp from that number.
    await shopPublishes('parley.customer.profile-changed', key, { tenantId: 'demo', identity, profile: { name: 'Dana Vogel', tier: 'gold' }, at });
    const order = {
      orderId: 'SO-7',
      placedAt: at,
      status: 'paid',
      items: [{ name: 'Kettle', quantity: 1, unitPrice: { amountMinor: 4990, currency: 'EUR' } }],
      total: { amountMinor: 4990, currency: 'EUR' },
      url: 'https://shop.example/admin/orders/SO-7',
    };
    await shopPublishes('parley.customer.order-changed', key, { tenantId: 'demo', identity, order, at });
    await waitFor(
      () => invoke(api, 'parley.v1.CustomerService/FindCustomer', { identity }, supervisor()).catch(() => null),
      (c) => c !== null,
      { what: "the shop's customer registered from Kafka", timeoutMs: 30_000 },
    );
    await whatsapp('US.3000001', 'Where is my kettle?', 'Dana', phone);
    const customerId = await customerOf('US.3000001');
    // Waiting in the queue, named from the shop's profile; the supervisor opens it.
    const waiting = page.locator(`#queue li[data-conversation="${customerId}"]`);
    await waitFor(
      () => waiting.textContent(),
      (t) => (t ?? '').includes('Dana Vogel'),
      { what: 'the waiting conversation named from the profile', timeoutMs: 30_000 },
    );
    await waiting.getByRole('button', { name: 'Open: Dana Vogel' }).click();
    const panel = page.locator('#customer');
    await waitFor(
      () => panel.textContent(),
      (t) => /Dana Vogel/.test(t ?? '') && /Tier: gold/.test(t ?? '') && /SO-7 · paid · €49\.90/.test(t ?? '') && /1 × Kettle/.test(t ?? ''),
      { what: 'the name and the latest order in the panel', timeoutMs: 30_000 },
    );
    assert.equal(await page.getByRole('link', { name: 'Open in the shop' }).getAttribute('href'), 'https://shop.example/admin/orders/SO-7');
    // The order ships: the open panel shows it without the agent doing anything.
    await shopPublishes('parley.customer.order-changed', key, {
      tenantId: 'demo',
      identity,
      order: { ...order, status: 'shipped' },
      at: new Date().toISOString(),
    });
    await waitFor(
      () => panel.textContent(),
      (t) => /SO-7 · shipped/.test(t ?? ''),
      { what: 'the shipped status in the panel', timeoutMs: 30_000 },
    );
    // A private note for colleagues, then a canned response filled in for her: only the reply reaches WhatsApp.
    await page.fill('#note-text', 'Offered a 10% voucher if it is late again');
    await page.getByRole('button', { name: 'Add note' }).click();
    const timeline = page.getByRole('log', { name: 'Timeline' });
    await waitFor(
      () => timeline.textContent(),
      (t) => /Offered a 10% voucher if it is late again\s*Private note · demo-supervisor/.test(t ?? ''),
      { what: 'the note in the timeline' },
    );
    await page.selectOption('#canned', { label: 'Order status (/order)' });
    await waitFor(
      () => page.inputValue('#reply-text'),
      (v) => v === 'Hi Dana, your order SO-7 is shipped.',
      { what: 'the canned response filled in' },
    );
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const sent = await waitFor(
      async () => ((await (await fetch(`${parley.base}/simulator/outbox`)).json()) as { sent: { text?: string }[] }).sent,
      (all) => all.some((m) => m.text === 'Hi Dana, your order SO-7 is shipped.'),
      { what: 'the reply on WhatsApp', timeoutMs: 30_000 },
    );
    assert.ok(!JSON.stringify(sent).includes('voucher'), 'the note never went to WhatsApp');
    // A file with the next reply: stored by Parley, uploaded to WhatsApp's media API, sent by its id.
    await page.setInputFiles('#agent-file', { name: 'label.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7 return label') });
    await waitFor(
      () => page.locator('#attached').textContent(),
      (t) => t === 'Attached: label.pdf',
      { what: 'the file attached to the reply' },
    );
    await page.fill('#reply-text', 'Your return label, in case you need it.');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const withFile = await waitFor(
      async () =>
        ((await (await fetch(`${parley.base}/simulator/outbox`)).json()) as { sent: { text?: string; file?: { name: string; type: string; bytes: number } }[] })
          .sent,
      (all) => all.some((m) => m.file?.name === 'label.pdf'),
      { what: 'the file on WhatsApp', timeoutMs: 30_000 },
    );
    assert.deepEqual(
      withFile.find((m) => m.file)!,
      { ...withFile.find((m) => m.file)!, text: 'Your return label, in case you need it.', file: { name: 'label.pdf', type: 'application/pdf', bytes: 21 } },
    );
    await waitFor(
      () => timeline.textContent(),
      (t) => (t ?? '').includes('File: label.pdf'),
      { what: 'the file in the timeline' },
    );
    // Resolved with a rating asked for: the survey goes out on WhatsApp, her "5" is her satisfaction, shown in the panel.
    assert.equal(await page.isChecked('#survey'), true);
    await page.getByRole('button', { name: 'Resolve' }).click();
    await waitFor(
      async () => ((await (await fetch(`${parley.base}/simulator/outbox`)).json()) as { sent: { text?: string }[] }).sent,
      (all) => all.some((m) => (m.text ?? '').startsWith('How would you rate our help?')),
      { what: 'the survey on WhatsApp', timeoutMs: 30_000 },
    );
    await whatsapp('US.3000001', '5', 'Dana', phone);
    await waitFor(
      () => panel.textContent(),
      (t) => /this one · resolved · ★★★★★ \(5\/5\)/.test(t ?? ''),
      { what: 'the rating in the panel', timeoutMs: 30_000 },
    );
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the console with the customer panel');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: join(__dirname, '..', '..', '..', 'docs', 'screenshots', 'console-customer.png') });
    await page.context().close();
  });
});
