import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { Metadata, credentials, makeClientConstructor } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';
import { axeProblems } from './testing/browser.support';
import { startEmbedded, type EmbeddedParley } from './testing/embedded.process';
import { SignJWT } from 'jose';
import { DateTime } from 'luxon';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium; scripts/test.sh installs it when missing. */
const CHROMIUM = process.env['PARLEY_CHROMIUM'] ?? '/usr/bin/chromium';
const SCREENSHOTS = join(__dirname, '..', '..', '..', 'docs', 'screenshots');

type Client = Record<string, (request: unknown, metadata: Metadata, callback: (error: Error | null, response?: unknown) => void) => void>;

function client(service: Parameters<typeof parleyService>[0], address: string): Client {
  const Constructor = makeClientConstructor(parleyService(service).service, `parley.v1.${service}`);
  return new Constructor(address, credentials.createInsecure()) as unknown as Client;
}

function call<T>(target: Client, method: string, request: unknown, token: string): Promise<T> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise<T>((resolve, reject) =>
    target[method]!.call(target, request, metadata, (error, response) => (error ? reject(error) : resolve(response as T))),
  );
}

describe('the chat widget in headless Chromium, against npm start', () => {
  let parley: EmbeddedParley;
  let browser: Browser;
  let base: string;
  let consoleBase: string;
  let tokens: Record<string, string>;
  let availability: Client;
  let routing: Client;
  let conversations: Client;

  before(async () => {
    parley = await startEmbedded();
    base = parley.channels;
    consoleBase = /console\s+(http:\/\/\S+)\/console/.exec(parley.output())![1]!;
    tokens = { ...parley.tokens };
    const address = (name: 'gRPC API' | 'availability' | 'routing') => parley.grpcAddress(name);
    availability = client('AvailabilityService', address('availability'));
    routing = client('RoutingService', address('routing'));
    conversations = client('ConversationService', address('gRPC API'));
    // Open around the clock, so that the test does not depend on when it runs.
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({
      weekday,
      slots: [
        { from: '00:00', to: '12:00' },
        { from: '12:00', to: '00:00' },
      ],
    }));
    await call(availability, 'SetBusinessHours', { queue_id: 'support', time_zone: 'Europe/Berlin', days }, tokens['supervisor']!);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await parley?.stop();
  });

  const launcher = (page: Page) => page.locator('.parley-launcher');
  const log = (page: Page) => page.getByRole('log', { name: 'Conversation' });

  /** The agent's side, as the console does it: the offer of this conversation, accepted, answered. */
  async function agentAnswers(agent: string, conversationId: string, text: string): Promise<void> {
    const token = tokens[agent]!;
    const offers = await waitFor(
      async () => (await call<{ offers: { offer_id: string; conversation_id: string }[] }>(routing, 'ListOffers', { queue_ids: ['support'] }, token)).offers,
      (o) => o.some((x) => x.conversation_id === conversationId),
      { what: `the offer to ${agent}`, timeoutMs: 15_000 },
    );
    const offer = offers.find((x) => x.conversation_id === conversationId)!;
    await call(routing, 'AcceptOffer', { queue_id: 'support', offer_id: offer.offer_id }, token);
    await call(conversations, 'SendMessage', { conversation_id: conversationId, message_id: `reply-${Date.now()}`, text }, token);
  }

  const conversationOf = (page: Page) =>
    waitFor(
      () => page.evaluate(() => (globalThis as unknown as { Parley: { conversation(): string | null } }).Parley.conversation()),
      (id) => typeof id === 'string',
      { what: "the widget's conversation" },
    ) as Promise<string>;

  it('serves the widget within its budget: at most 30 KB gzipped, one script, no framework', async () => {
    const script = await fetch(`${base}/widget.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    const body = Buffer.from(await script.arrayBuffer());
    const gzipped = gzipSync(body, { level: 9 }).length;
    assert.ok(gzipped <= 30 * 1024, `widget.js is ${gzipped} bytes gzipped`);
    assert.doesNotMatch(body.toString(), /\b(import|require)\s*\(/, 'no module loading at run time');
  });

  it('offers live chat while an agent is online; the visitor writes, the agent accepts and answers, the page reloads and the conversation goes on', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/demo`);
    // The offer as JSON, for sites that build their own button; bad input is refused.
    assert.equal((await fetch(`${base}/live/offer?tenant=Bad!&queue=support`)).status, 400);
    const offer = (await (await fetch(`${base}/live/offer?tenant=demo&queue=support`)).json()) as { kind: string; reason?: string };
    assert.deepEqual([offer.kind, offer.reason], ['messaging', 'no-agent-free']);
    // Nobody online yet: leave a message.
    await waitFor(
      () => launcher(page).textContent(),
      (t) => t === 'Leave a message',
      { what: 'the leave-a-message button' },
    );
    // The console's gateway: the public API's unary methods only, its errors as HTTP statuses.
    const gateway = (path: string, body: unknown, token?: string) =>
      fetch(`${consoleBase}/api/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    assert.equal((await gateway('EventService/Subscribe', {}, tokens['supervisor'])).status, 404);
    assert.equal((await gateway('ConversationService/Nope', {}, tokens['supervisor'])).status, 404);
    assert.equal((await gateway('ConversationService/GetConversation', { conversation_id: 'x' })).status, 401);
    assert.equal((await gateway('ConversationService/GetConversation', [1], tokens['supervisor'])).status, 400);
    const missing = await gateway('ConversationService/GetConversation', { conversation_id: 'no-such-conversation' }, tokens['supervisor']);
    assert.deepEqual([missing.status, ((await missing.json()) as { code: string }).code], [404, 'NOT_FOUND']);
    // The agent signs in to the reference console and goes online.
    const desk = await browser.newContext();
    const agent = await desk.newPage();
    await agent.goto(`${consoleBase}/console`);
    await waitFor(
      () => agent.locator('#agent option').count(),
      (n) => n === 3,
      { what: 'the demo agents and the supervisor' },
    );
    await agent.selectOption('#agent', { label: 'demo-agent-1' });
    await agent.getByRole('button', { name: 'Sign in' }).click();
    await agent.selectOption('#presence', 'PRESENCE_ONLINE');
    // The button changes live, without a reload.
    await waitFor(
      () => launcher(page).textContent(),
      (t) => t === 'Chat with us',
      { what: 'the live-chat button' },
    );
    assert.equal(await launcher(page).getAttribute('aria-expanded'), 'false');
    // Keyboard only: focus the button, Enter opens the dialog with the focus in the text box.
    await launcher(page).focus();
    await page.keyboard.press('Enter');
    assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
    assert.ok(await page.getByRole('dialog', { name: 'Chat with us' }).isVisible());
    await page.keyboard.type('Hello, where is my order?');
    await page.keyboard.press('Enter');
    await waitFor(
      () => log(page).textContent(),
      (t) => (t ?? '').includes('Hello, where is my order?'),
      { what: 'the message in the log' },
    );

    const conversationId = await conversationOf(page);
    // The offer reaches the console; the agent accepts and answers there.
    const offered = agent.locator(`#offers li[data-conversation="${conversationId}"]`);
    // The offer says who and what: the visitor (no name yet), the channel and the first line.
    await waitFor(
      () => offered.textContent(),
      (t) => /Web visitor \w{4} · web chat · waiting \d+ s/.test(t ?? '') && (t ?? '').includes('Hello, where is my order?'),
      { what: 'the offer described', timeoutMs: 45_000 },
    );
    // Generous: in CI the rest of the suite runs beside it on two cores.
    await offered.getByRole('button', { name: 'Accept' }).click({ timeout: 45_000 });
    await waitFor(
      () => agent.getByRole('log', { name: 'Timeline' }).textContent(),
      (t) => (t ?? '').includes('Hello, where is my order?'),
      { what: "the customer's message in the console" },
    );
    await agent.getByRole('textbox', { name: 'Reply' }).pressSequentially('It left our warehouse this morning.');
    // The visitor sees the agent typing, live.
    await waitFor(
      () => page.locator('.parley-typing').first().textContent(),
      (t) => t === 'The agent is typing\u2026',
      { what: 'the agent typing in the widget' },
    );
    await agent.keyboard.press('Enter');
    await waitFor(
      () => log(page).textContent(),
      (t) => (t ?? '').includes('It left our warehouse this morning.'),
      { what: "the agent's answer" },
    );
    // The agent had the conversation on screen: the visitor's message shows the read mark.
    await waitFor(
      () => log(page).locator('[data-read="true"]').count(),
      (n) => n >= 1,
      { what: 'the read mark' },
    );
    assert.match((await log(page).locator('li.parley-mine').first().textContent()) ?? '', /Read/);
    await waitFor(
      () => log(page).textContent(),
      (t) => !(t ?? '').includes('Sending'),
      { what: 'the message acknowledged' },
    );
    assert.match((await log(page).locator('li.parley-mine').first().textContent()) ?? '', /Sent|Read/);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-live-chat.png') });

    await page.reload();
    // The dialog was open: it opens again with the whole conversation.
    await waitFor(
      () => log(page).textContent(),
      (t) => (t ?? '').includes('Hello, where is my order?') && (t ?? '').includes('It left our warehouse'),
      { what: 'the conversation after the reload' },
    );
    // An attachment by reference: the site stored the file and hands the widget its URL.
    await page.evaluate(() =>
      (globalThis as unknown as { Parley: { attach(a: unknown): void } }).Parley.attach({
        ref: 'https://shop.example/orders/4711/photo.jpg',
        mimeType: 'image/jpeg',
        sizeBytes: 48213,
        name: 'photo.jpg',
      }),
    );
    await page.getByRole('textbox', { name: 'Your message' }).fill('Thanks! And the invoice?');
    await page.getByRole('button', { name: 'Send' }).click();
    await waitFor(
      () => log(page).getByRole('link', { name: 'photo.jpg' }).count(),
      (n) => n === 1,
      { what: 'the attachment in the widget' },
    );
    await waitFor(
      () => log(page).locator('li').count(),
      (n) => n === 3,
      { what: 'three messages, none twice' },
    );
    await waitFor(
      () => log(page).textContent(),
      (t) => !(t ?? '').includes('Sending'),
      { what: 'every message acknowledged' },
    );
    // The console shows the whole conversation and the customer; the agent resolves it there.
    await waitFor(
      () => agent.getByRole('log', { name: 'Timeline' }).textContent(),
      (t) => (t ?? '').includes('Thanks! And the invoice?'),
      { what: 'the new message in the console' },
    );
    assert.match((await agent.locator('#customer').textContent()) ?? '', /web/);
    assert.equal(
      await agent
        .getByRole('log', { name: 'Timeline' })
        .getByRole('link', { name: /photo\.jpg/ })
        .getAttribute('href'),
      'https://shop.example/orders/4711/photo.jpg',
    );
    await agent.screenshot({ path: join(SCREENSHOTS, 'console.png') });
    // Transfer to a colleague from the console: demo-agent-2 is offered the conversation as a transfer.
    await call(availability, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, tokens['demo-agent-2']!);
    await agent.getByRole('textbox', { name: 'Transfer to agent' }).fill('demo-agent-2');
    await agent.getByRole('button', { name: 'Transfer' }).click();
    // A cold transfer: the conversation leaves demo-agent-1 at once and is offered to demo-agent-2.
    await waitFor(
      async () => (await call<{ offers: { conversation_id: string }[] }>(routing, 'ListOffers', { queue_ids: ['support'] }, tokens['demo-agent-2']!)).offers,
      (o) => o.some((x) => x.conversation_id === conversationId),
      { what: 'the transfer offer to demo-agent-2' },
    );
    await waitFor(
      () => agent.locator('#state').textContent(),
      (t) => !(t ?? '').includes('with demo-agent-1'),
      { what: 'the conversation no longer with demo-agent-1' },
    );
    await call(availability, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, tokens['demo-agent-2']!);
    await agent.getByRole('button', { name: 'Snooze until the customer writes' }).click();
    await waitFor(
      () => agent.locator('#state').textContent(),
      (t) => (t ?? '').startsWith('snoozed'),
      { what: 'the conversation snoozed' },
    );
    await agent.getByRole('button', { name: 'Resolve' }).click();
    await waitFor(
      () => agent.locator('#state').textContent(),
      (t) => (t ?? '').startsWith('resolved'),
      { what: 'the conversation resolved' },
    );
    await desk.close();
    await context.close();
  });

  it('an identified customer has the same conversation on a second device, live on both', async () => {
    const secret = readFileSync(join(parley.dataDir, 'identity.secret'), 'utf8')
      .trim()
      .replace(/^demo:/, '');
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('shop-user-4711')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const device = async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/demo`);
      await waitFor(
        () => launcher(page).textContent(),
        (t) => (t ?? '').length > 0,
        { what: 'the widget' },
      );
      await page.evaluate((token) => {
        const parley = (globalThis as unknown as { Parley: { identify(t: string): void; open(): void } }).Parley;
        parley.identify(token);
        parley.open();
      }, jwt);
      return { context, page };
    };
    const laptop = await device();
    await laptop.page.getByRole('textbox', { name: 'Your message' }).fill('Written on my laptop');
    await laptop.page.keyboard.press('Enter');
    await waitFor(
      () => log(laptop.page).textContent(),
      (t) => (t ?? '').includes('Written on my laptop') && !(t ?? '').includes('Sending'),
      { what: 'the laptop message, acknowledged' },
    );
    const phone = await device();
    await waitFor(
      () => log(phone.page).textContent(),
      (t) => (t ?? '').includes('Written on my laptop'),
      { what: 'the history on the phone' },
    );
    assert.equal(await conversationOf(phone.page), await conversationOf(laptop.page));
    await phone.page.getByRole('textbox', { name: 'Your message' }).fill('And this from my phone');
    await phone.page.keyboard.press('Enter');
    await waitFor(
      () => log(laptop.page).textContent(),
      (t) => (t ?? '').includes('And this from my phone'),
      { what: 'the phone message, live on the laptop' },
    );
    for (const p of [laptop.page, phone.page]) assert.equal(await log(p).locator('li').count(), 2, 'each message once on each device');

    // The same customer on WhatsApp: an agent links the WhatsApp user to the customer, who then writes there (through the simulator).
    const customerId = await conversationOf(laptop.page);
    const customers = client('CustomerService', parley.grpcAddress('gRPC API'));
    await call(customers, 'LinkIdentity', { customer_id: customerId, identity: { kind: 'whatsapp', id: 'US.4711' } }, tokens['supervisor']!);
    const simulator = parley.base;
    assert.equal(
      (
        await fetch(`${simulator}/simulator/whatsapp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ from: 'bad id!', text: 'x' }),
        })
      ).status,
      400,
    );
    const sent = await fetch(`${simulator}/simulator/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'US.4711', text: 'Also writing on WhatsApp' }),
    });
    assert.deepEqual([sent.status, ((await sent.json()) as { webhookStatus: number }).webhookStatus], [200, 200]);
    // One conversation: the WhatsApp message appears live in the widget too, and the agent sees both channels in it.
    await waitFor(
      () => log(laptop.page).textContent(),
      (t) => (t ?? '').includes('Also writing on WhatsApp'),
      { what: 'the WhatsApp message in the widget' },
    );
    const seen = await call<{ conversation: { timeline: { message?: { channel: string; text: string } }[] } }>(
      conversations,
      'GetConversation',
      { conversation_id: customerId },
      tokens['supervisor']!,
    );
    assert.deepEqual(
      seen.conversation.timeline.flatMap((e) => (e.message ? [[e.message.channel, e.message.text]] : [])),
      [
        ['CHANNEL_WEB', 'Written on my laptop'],
        ['CHANNEL_WEB', 'And this from my phone'],
        ['CHANNEL_WHATSAPP', 'Also writing on WhatsApp'],
      ],
    );
    // The agent answers on WhatsApp: the simulator, as WhatsApp's Graph API, receives it.
    await call(
      conversations,
      'SendMessage',
      { conversation_id: customerId, message_id: 'wa-answer-1', channel: 'CHANNEL_WHATSAPP', text: 'Got it on WhatsApp too.' },
      tokens['supervisor']!,
    );
    const outbox = await waitFor(
      async () => ((await (await fetch(`${simulator}/simulator/outbox`)).json()) as { sent: { to: string; text: string }[] }).sent,
      (list) => list.some((m) => m.text === 'Got it on WhatsApp too.'),
      { what: 'the reply at the WhatsApp simulator' },
    );
    assert.equal(outbox.find((m) => m.text === 'Got it on WhatsApp too.')!.to, 'US.4711');
    await laptop.context.close();
    await phone.context.close();
  });

  it('switches to leave-a-message when the agents go offline, and says so; the message waits for an agent', async () => {
    for (const agent of ['demo-agent-1', 'demo-agent-2']) await call(availability, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, tokens[agent]!);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/demo`);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => t === 'Leave a message',
      { what: 'the leave-a-message button' },
    );
    await launcher(page).click();
    const note = await page.getByRole('status').textContent();
    assert.match(note ?? '', /Leave a message/);
    await page.getByRole('textbox', { name: 'Your message' }).fill('Please call me back tomorrow.');
    await page.keyboard.press('Enter');
    await waitFor(
      () => log(page).textContent(),
      (t) => (t ?? '').includes('Please call me back tomorrow.') && !(t ?? '').includes('Sending'),
      { what: 'the message left, acknowledged' },
    );
    const conversationId = await conversationOf(page);
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-leave-a-message.png') });
    await page.close();

    // Later an agent comes online, gets the conversation and answers; the visitor sees it on return.
    // Earlier visitors of this run still wait for an agent, and their open offers hold live-chat
    // slots (as routing counts them): room for more, so that live chat is offered again.
    await call(availability, 'SetCapacity', { agent_id: 'demo-agent-2', live_chats: 5, messaging: 10, languages: ['en', 'de'] }, tokens['supervisor']!);
    await call(availability, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, tokens['demo-agent-2']!);
    await agentAnswers('demo-agent-2', conversationId, 'Of course, we will call you at 10.');
    const back = await context.newPage();
    await back.goto(`${base}/demo`);
    await waitFor(
      () => launcher(back).textContent(),
      (t) => t === 'Chat with us',
      { what: 'live chat again' },
    );
    // The dialog was left open: it opens again by itself.
    assert.equal(await launcher(back).getAttribute('aria-expanded'), 'true');
    await waitFor(
      () => log(back).textContent(),
      (t) => (t ?? '').includes('Please call me back tomorrow.') && (t ?? '').includes('we will call you at 10'),
      { what: 'the answer on return' },
    );
    await context.close();
    assert.ok(existsSync(join(SCREENSHOTS, 'widget-live-chat.png')));
  });

  it("tells a visitor of a closed queue when it opens, in the visitor's own time zone", async () => {
    // Queue "holiday": open 09:00-17:00 Berlin every day, but closed today and the next two days
    // (a day more than needed, so that midnight passing during the test changes nothing).
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({ weekday, slots: [{ from: '09:00', to: '17:00' }] }));
    await call(availability, 'SetBusinessHours', { queue_id: 'holiday', time_zone: 'Europe/Berlin', days }, tokens['supervisor']!);
    const today = DateTime.now().setZone('Europe/Berlin').startOf('day');
    for (const d of [0, 1, 2])
      await call(availability, 'SetHoursException', { queue_id: 'holiday', date: today.plus({ days: d }).toISODate(), slots: [] }, tokens['supervisor']!);
    const opens = today.plus({ days: 3 }).set({ hour: 9 });
    // The availability model follows the queue's events: wait until it has all three exceptions.
    const offer = await waitFor(
      async () => (await (await fetch(`${base}/live/offer?tenant=demo&queue=holiday`)).json()) as { kind: string; reason: string; opensAt: string },
      (o) => o.opensAt === opens.toUTC().toISO(),
      { what: 'the opening after the exceptions' },
    );
    assert.deepEqual([offer.kind, offer.reason], ['messaging', 'closed']);
    // A visitor in New York, on a shop page that carries the widget for that queue.
    const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-US' });
    const page = await context.newPage();
    await page.route(`${base}/holiday-shop`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><html lang="en"><title>Shop</title><main><h1>Shop</h1></main><script src="/widget.js" data-tenant="demo" data-queue="holiday" async></script></html>',
      }),
    );
    await page.goto(`${base}/holiday-shop`);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => t === 'Leave a message',
      { what: 'the leave-a-message button' },
    );
    await launcher(page).click();
    const shown = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      hour: '2-digit',
      minute: '2-digit',
    }).format(opens.toJSDate());
    assert.equal(await page.getByRole('status').textContent(), `We are closed. Leave a message: we answer after we open, ${shown}.`);
    assert.match(shown, /0[23]:00 AM/, '09:00 in Berlin is 03:00 (or 02:00 around the daylight-saving changes) in New York');
    await context.close();
  });

  it('invites a visitor proactively as the targeting rules say, once per period', async () => {
    await call(availability, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, tokens['demo-agent-1']!);
    await call(
      availability,
      'SetTargetingRules',
      {
        rules: [{ rule_id: 'quick-help', url_pattern: '*/demo*', min_time_on_page_seconds: 1, message: 'Need a hand with your order?', queue_id: 'support' }],
        period: { seconds: 3600 },
      },
      tokens['supervisor']!,
    );
    const invitations = (body: unknown) =>
      fetch(`${base}/live/invitations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await invitations({ token: 'forged', url: `${base}/demo`, timeOnPageSeconds: 5, pagesViewed: 1, returningVisitor: false })).status, 401);
    assert.equal((await invitations({ token: 'x', url: 'not a url', timeOnPageSeconds: -1, pagesViewed: 0, returningVisitor: 'no' })).status, 400);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/demo`);
    const invitation = page.getByRole('dialog', { name: 'Invitation to chat' });
    await waitFor(
      () => invitation.isVisible(),
      (v) => v,
      { what: 'the invitation', timeoutMs: 20_000 },
    );
    assert.match((await invitation.textContent()) ?? '', /Need a hand with your order\?/);
    // Announced to screen readers, and the keyboard lands on it.
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } | null } }).document.activeElement?.textContent),
      'Chat now',
    );
    assert.equal(await page.locator('.parley-sr[aria-live="polite"]').textContent(), 'Need a hand with your order?');
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the page with the invitation');
    await page.screenshot({ path: join(SCREENSHOTS, 'widget-invitation.png') });
    await invitation.getByRole('button', { name: 'Chat now' }).click();
    assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true', 'accepting opens the chat');
    await page.getByRole('button', { name: 'Close the chat' }).click();
    // The next page view within the period: the same visitor is not invited again.
    const token = await page.evaluate(() =>
      (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('parley:demo:token'),
    );
    const again = await invitations({ token, url: `${base}/demo`, timeOnPageSeconds: 60, pagesViewed: 3, returningVisitor: true });
    assert.deepEqual(await again.json(), { invitation: null });
    // A new visitor is.
    const { token: fresh } = (await (
      await fetch(`${base}/live/visitors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo' }) })
    ).json()) as { token: string };
    assert.deepEqual(await (await invitations({ token: fresh, url: `${base}/demo`, timeOnPageSeconds: 60, pagesViewed: 1, returningVisitor: false })).json(), {
      invitation: { ruleId: 'quick-help', message: 'Need a hand with your order?' },
    });
    await context.close();
  });
});
