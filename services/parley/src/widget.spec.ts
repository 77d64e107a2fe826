import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { waitFor } from '@parley/testing-support';
import { SignJWT } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { axeProblems, launchChromium } from './testing/browser.support';
import { startEmbedded, type EmbeddedParley } from './testing/embedded.process';
import { invoke } from './testing/grpcurl.client';

/** The brand's own website: a page on another origin that carries the widget with one script tag. */
async function brandSite(host: string, widgetSrc: string, lang = 'en', extra = ''): Promise<{ server: Server; url: string }> {
  const page = `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Brand shop</title></head>
<body><main><h1>Brand shop</h1><p>Our products.</p></main><script src="${widgetSrc}" data-tenant="demo" data-queue="support" ${extra} async></script></body></html>`;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, url: `http://${host}:${(server.address() as { port: number }).port}/` };
}

describe("the widget on the brand's own website, as its visitors and the browser meet it", () => {
  let parley: EmbeddedParley;
  let browser: Browser;
  let api: string;
  const sites: Server[] = [];
  const launcher = (page: Page) => page.locator('.parley-launcher');
  const log = (page: Page) => page.getByRole('log', { name: 'Conversation' });
  const agentWrites = async (conversationId: string, text: string) => {
    const token = parley.tokens['supervisor']!;
    await invoke(
      api,
      'parley.v1.ConversationService/SendMessage',
      { conversation_id: conversationId, message_id: `reply-${Date.now()}-${Math.random().toString(36).slice(2)}`, text },
      token,
    );
  };
  const conversationOf = (page: Page) =>
    waitFor(
      () => page.evaluate(() => (globalThis as unknown as { Parley: { conversation(): string | null } }).Parley.conversation()),
      (id) => typeof id === 'string',
      { what: "the widget's conversation" },
    ) as Promise<string>;
  async function write(page: Page, text: string): Promise<void> {
    await page.getByRole('textbox', { name: 'Your message' }).fill(text);
    await page.keyboard.press('Enter');
    await waitFor(
      () => log(page).textContent(),
      (t) => (t ?? '').includes(text) && !(t ?? '').includes('Sending'),
      { what: `"${text}" acknowledged` },
    );
  }

  before(async () => {
    parley = await startEmbedded();
    api = parley.grpcAddress('gRPC API');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const s of sites) s.close();
    await parley?.stop();
  });

  it('runs on another origin and port with the one script tag: preflights answered, messages acknowledged, no serious accessibility violation', async () => {
    const site = await brandSite('127.0.0.1', `${parley.channels}/widget.js`);
    sites.push(site.server);
    assert.notEqual(new URL(site.url).origin, new URL(parley.channels).origin);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(site.url);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the launcher' },
    );
    await launcher(page).click();
    await write(page, "Hello from the brand's own website");
    assert.deepEqual(errors, []);
    // The widget's own styles hold on a page that has none of its own: a bubble for the message, the brand's button.
    const styles = await page.evaluate(() => {
      const d = globalThis as unknown as {
        document: { querySelector(s: string): unknown };
        getComputedStyle(e: unknown): { backgroundColor: string; borderRadius: string };
      };
      const bubble = d.getComputedStyle(d.document.querySelector('.parley-list li.parley-mine'));
      const send = d.getComputedStyle(d.document.querySelector('.parley-form button'));
      return { bubble: bubble.backgroundColor, radius: bubble.borderRadius, send: send.backgroundColor };
    });
    assert.deepEqual(styles, { bubble: 'rgb(219, 230, 255)', radius: '10px', send: 'rgb(31, 79, 209)' });
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the page with the widget open');
    await context.close();

    // The preflight and the answer as any browser gets them.
    const preflight = await fetch(`${parley.channels}/live/visitors`, {
      method: 'OPTIONS',
      headers: { origin: new URL(site.url).origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), new URL(site.url).origin);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /content-type/);
  });

  it("speaks the page's language, and asks for a rating in it when the agent resolves with a survey", async () => {
    const launchers: Record<string, string> = {};
    for (const lang of ['fr', 'es', 'de']) {
      const site = await brandSite('127.0.0.1', `${parley.channels}/widget.js`, lang);
      sites.push(site.server);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(site.url);
      launchers[lang] = (await waitFor(
        () => launcher(page).textContent(),
        (t) => (t ?? '').length > 0,
        { what: `the launcher in ${lang}` },
      ))!;
      if (lang !== 'de') {
        await context.close();
        continue;
      }
      await launcher(page).click();
      await page.getByRole('textbox', { name: 'Ihre Nachricht' }).fill('Danke, das hat geholfen');
      await page.keyboard.press('Enter');
      await waitFor(
        () => page.getByRole('log', { name: 'Unterhaltung' }).textContent(),
        (t) => (t ?? '').includes('Danke, das hat geholfen') && (t ?? '').includes('Sie ·') && !(t ?? '').includes('Wird gesendet'),
        { what: 'the message acknowledged, in German' },
      );
      const conversationId = await conversationOf(page);
      await invoke(api, 'parley.v1.ConversationService/ResolveConversation', { conversation_id: conversationId, survey: true }, parley.tokens['supervisor']!);
      const survey = page.getByRole('group', { name: 'Wie zufrieden waren Sie mit unserer Hilfe?' });
      await survey.getByRole('button', { name: '4 von 5' }).click();
      await waitFor(
        () => page.locator('.parley-survey').textContent(),
        (t) => (t ?? '').includes('Vielen Dank für Ihre Bewertung!'),
        { what: 'the thanks' },
      );
      const recorded = await waitFor(
        () =>
          invoke<{ conversation: { satisfaction?: number } }>(
            api,
            'parley.v1.ConversationService/GetConversation',
            { conversation_id: conversationId },
            parley.tokens['supervisor']!,
          ),
        (c) => c.conversation.satisfaction === 4,
        { what: 'the rating recorded' },
      );
      assert.equal(recorded.conversation.satisfaction, 4);
      assert.deepEqual(await axeProblems(page), [], 'axe-core: the widget in German with its survey answered');
      await context.close();
    }
    assert.ok(['Discutez avec nous', 'Laisser un message'].includes(launchers['fr']!), launchers['fr']);
    assert.ok(['Chatea con nosotros', 'Dejar un mensaje'].includes(launchers['es']!), launchers['es']);
    assert.ok(['Chatten Sie mit uns', 'Nachricht hinterlassen'].includes(launchers['de']!), launchers['de']);
  });

  it("passes what the page knows of the visitor: its attributes steer invitations, and the brand's signed ones reach the conversation and the customer", async () => {
    const availability = parley.grpcAddress('availability');
    await invoke(availability, 'parley.v1.AvailabilityService/SetPresence', { presence: 'PRESENCE_ONLINE' }, parley.tokens['demo-agent-1']!);
    await invoke(
      availability,
      'parley.v1.AvailabilityService/SetTargetingRules',
      {
        rules: [
          {
            rule_id: 'pro-cart',
            url_pattern: '*',
            min_time_on_page_seconds: 0,
            attributes: { plan: 'pro' },
            message: 'Pro plan? Ask us anything.',
            queue_id: 'support',
          },
        ],
        period: '3600s',
      },
      parley.tokens['supervisor']!,
    );
    const secret = readFileSync(join(parley.dataDir, 'identity.secret'), 'utf8')
      .trim()
      .replace(/^demo:/, '');
    const signed = await new SignJWT({ attributes: { plan: 'pro', account_id: 'acct-77' } })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    // The page states its cart; the brand's server signed the plan.
    const site = await brandSite('127.0.0.1', `${parley.channels}/widget.js`, 'en', `data-attributes='{"cart_value":120}' data-signed-attributes="${signed}"`);
    sites.push(site.server);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url);
    const invitation = page.getByRole('dialog', { name: 'Invitation to chat' });
    await waitFor(
      () => invitation.isVisible(),
      (v) => v,
      { what: 'the invitation for a pro visitor', timeoutMs: 20_000 },
    );
    assert.match((await invitation.textContent()) ?? '', /Pro plan\? Ask us anything\./);
    await invitation.getByRole('button', { name: 'Chat now' }).click();
    await write(page, 'Can I add seats to my plan?');
    const conversationId = await conversationOf(page);
    const { conversation } = await waitFor(
      () =>
        invoke<{ conversation: { timeline: { page?: { url: string; attributes?: unknown; verifiedAttributes?: unknown } }[] } }>(
          api,
          'parley.v1.ConversationService/GetConversation',
          { conversation_id: conversationId },
          parley.tokens['supervisor']!,
        ),
      (c) => c.conversation.timeline.some((e) => e.page),
      { what: 'the page context in the timeline' },
    );
    const recorded = conversation.timeline.find((e) => e.page)!.page!;
    assert.deepEqual(recorded, { url: site.url, attributes: { cart_value: 120 }, verifiedAttributes: { plan: 'pro', account_id: 'acct-77' } });
    // Only what the brand signed is the customer's, for routing rules and agents.
    const { customer } = await invoke<{ customer: { attributes: Record<string, unknown> } }>(
      api,
      'parley.v1.CustomerService/GetCustomer',
      { customer_id: conversationId },
      parley.tokens['supervisor']!,
    );
    assert.deepEqual(customer.attributes, { plan: 'pro', account_id: 'acct-77' });
    await context.close();
    // The same page stating a free plan is not invited; a signature the brand did not make is refused and changes nothing.
    const { token } = (await (
      await fetch(`${parley.channels}/live/visitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'demo' }),
      })
    ).json()) as { token: string };
    const ask = (extra: Record<string, unknown>) =>
      fetch(`${parley.channels}/live/invitations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, url: site.url, timeOnPageSeconds: 5, pagesViewed: 1, returningVisitor: false, ...extra }),
      });
    assert.deepEqual(await (await ask({ attributes: { plan: 'free' } })).json(), { invitation: null });
    const forged = await ask({
      signedAttributes: await new SignJWT({ attributes: { plan: 'pro' } })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('not-the-brand-secret-at-all-32-bytes')),
    });
    assert.equal(forged.status, 400);
    assert.equal(((await forged.json()) as { error: string }).error, 'ATTRIBUTES_TOKEN_INVALID');
    assert.equal((await ask({ attributes: { 'Not Snake': 1 } })).status, 400);
  });

  it('sends a file the visitor picks from the brand’s page, which the agent then reads through the API', async () => {
    const site = await brandSite('127.0.0.1', `${parley.channels}/widget.js`);
    sites.push(site.server);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(site.url);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the launcher' },
    );
    await launcher(page).click();
    const receipt = Buffer.from('Receipt #1042\nKettle, 49.90 EUR\n');
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Attach a file' }).click();
    await (await chooser).setFiles({ name: 'receipt.txt', mimeType: 'text/plain', buffer: receipt });
    await waitFor(
      () => page.locator('.parley-typing').allTextContents(),
      (all) => all.some((t) => t.includes('Attached to your next message: receipt.txt')),
      { what: 'the file attached' },
    );
    await write(page, 'My receipt, as asked');
    const conversationId = await conversationOf(page);
    const { conversation } = await invoke<{ conversation: { timeline: { message?: { text: string; attachments?: { ref: string; name: string }[] } }[] } }>(
      api,
      'parley.v1.ConversationService/GetConversation',
      { conversation_id: conversationId },
      parley.tokens['supervisor']!,
    );
    const [attachment] = conversation.timeline.find((e) => e.message?.text === 'My receipt, as asked')!.message!.attachments!;
    assert.equal(attachment!.name, 'receipt.txt');
    const got = await invoke<{ data: string }>(api, 'parley.v1.ConversationService/GetAttachment', { ref: attachment!.ref }, parley.tokens['supervisor']!);
    assert.ok(Buffer.from(got.data, 'base64').equals(receipt));
    assert.deepEqual(await axeProblems(page), [], 'axe-core: the widget with its attach button');
    await context.close();
  });

  it('refuses a website the tenant did not allow, with a clear console error, on every door: HTTP and the WebSocket', async () => {
    // 127.0.0.2 is this machine too, but not an origin the demo tenant allows.
    const site = await brandSite('127.0.0.2', `${parley.channels}/widget.js`);
    sites.push(site.server);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(site.url);
    await waitFor(
      () => errors,
      (e) => e.some((m) => m.includes('Parley: http://127.0.0.2')),
      { what: 'the console error' },
    );
    assert.match(
      errors.find((m) => m.startsWith('Parley:'))!,
      /may not carry the widget of tenant demo: add it to PARLEY_WIDGET_ORIGINS/,
    );
    assert.equal(await launcher(page).isVisible(), false);
    await context.close();
    const origin = new URL(site.url).origin;
    const visitors = await fetch(`${parley.channels}/live/visitors`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'demo' }),
    });
    assert.deepEqual([visitors.status, ((await visitors.json()) as { error: string }).error], [403, 'ORIGIN_NOT_ALLOWED']);
    assert.equal((await fetch(`${parley.channels}/live/visitors`, { method: 'OPTIONS', headers: { origin } })).status, 403);
    // A token got elsewhere does not open the live chat from that origin either.
    const { token } = (await (
      await fetch(`${parley.channels}/live/visitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'demo' }),
      })
    ).json()) as { token: string };
    const ws = new WebSocket(`${parley.channels.replace('http', 'ws')}/live?token=${token}`, { origin });
    const [code, frames] = await new Promise<[number, string[]]>((resolve) => {
      const got: string[] = [];
      ws.on('message', (m) => got.push(m.toString()));
      ws.on('close', (c) => resolve([c, got]));
    });
    assert.equal(code, 4403);
    assert.equal((JSON.parse(frames[0]!) as { code: string }).code, 'ORIGIN_NOT_ALLOWED');
  });

  it('serves widget.js compressed, with an ETag, and under a versioned URL cached for good', async () => {
    const plain = await fetch(`${parley.channels}/widget.js`, { headers: { 'accept-encoding': 'identity' } });
    const url = plain.headers.get('x-parley-widget-url')!;
    assert.match(url, /^\/widget\/[0-9a-f]{16}\.js$/);
    const raw = Buffer.from(await plain.arrayBuffer());
    for (const encoding of ['br', 'gzip']) {
      // node:http, not fetch: the body as sent, not decoded.
      const answer = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; length: number }>((resolve, reject) =>
        require('node:http')
          .get(`${parley.channels}${url}`, { headers: { 'accept-encoding': encoding } }, (res: import('node:http').IncomingMessage) => {
            let length = 0;
            res.on('data', (c: Buffer) => (length += c.length)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, length }));
          })
          .on('error', reject),
      );
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-encoding'], encoding);
      assert.match(String(answer.headers['cache-control']), /immutable/);
      assert.ok(answer.length < raw.length / 2, `${encoding}: ${answer.length} of ${raw.length} bytes`);
    }
    const etag = plain.headers.get('etag')!;
    assert.equal((await fetch(`${parley.channels}/widget.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${parley.channels}/widget/0000000000000000.js`)).status, 404);
  });

  it('drops an identity token that no longer verifies, tells the page, and goes on anonymously; identify(null) signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${parley.base}/demo`);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the widget' },
    );
    await page.evaluate(() => {
      const w = globalThis as unknown as { rejected: string[]; addEventListener(t: string, l: (e: { detail: { reason: string } }) => void): void };
      w.rejected = [];
      w.addEventListener('parley:identity-rejected', (e) => w.rejected.push(e.detail.reason));
    });
    // Signed with another secret: expired or forged, the widget cannot tell and does not need to.
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('shop-user-1')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-demo-identity-secret-0123456789'));
    await page.evaluate((jwt) => {
      const parley = (globalThis as unknown as { Parley: { identify(t: string): void; open(): void } }).Parley;
      parley.identify(jwt);
      parley.open();
    }, forged);
    await waitFor(
      () => page.evaluate(() => (globalThis as unknown as { rejected: string[] }).rejected),
      (r) => r.length === 1,
      { what: 'the page told' },
    );
    assert.equal(
      await page.evaluate(() =>
        (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('parley:demo:identity'),
      ),
      null,
      'the token dropped',
    );
    await write(page, 'Still here without signing in');
    const first = await conversationOf(page);

    // A valid identity, then signing out on a shared computer: nothing of the user is shown, also after a reload.
    const secret = readFileSync(join(parley.dataDir, 'identity.secret'), 'utf8')
      .trim()
      .replace(/^demo:/, '');
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('shop-user-42')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    await page.evaluate((t) => (globalThis as unknown as { Parley: { identify(t: string): void } }).Parley.identify(t), jwt);
    await write(page, 'My order number is 42');
    await page.evaluate(() => (globalThis as unknown as { Parley: { identify(t: null): void } }).Parley.identify(null));
    await waitFor(
      () => log(page).textContent(),
      (t) => !(t ?? '').includes('My order number is 42'),
      { what: 'the conversation gone from the screen' },
    );
    await page.reload();
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the widget after the reload' },
    );
    await page.evaluate(() => (globalThis as unknown as { Parley: { open(): void } }).Parley.open());
    await waitFor(
      () => page.evaluate(() => (globalThis as unknown as { Parley: { conversation(): string | null } }).Parley.conversation()),
      (id) => typeof id === 'string',
      { what: 'a fresh conversation' },
    );
    assert.doesNotMatch((await log(page).textContent()) ?? '', /order number|Still here/);
    assert.notEqual(await conversationOf(page), first);
    await context.close();
  });

  it("counts an agent's replies on the button while the chat is closed, and keeps read marks across a reload", async () => {
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${parley.base}/demo`);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the widget' },
    );
    await launcher(page).click();
    await write(page, 'Is my parcel on its way?');
    const conversationId = await conversationOf(page);
    await page.getByRole('button', { name: 'Close the chat' }).click();
    await agentWrites(conversationId, 'Yes, it left this morning.');
    await agentWrites(conversationId, 'Tracking number follows.');
    await waitFor(
      () => launcher(page).getAttribute('aria-label'),
      (l) => (l ?? '').endsWith(', 2 new messages'),
      { what: 'the unread count on the button' },
    );
    assert.equal(await page.locator('.parley-badge').textContent(), '2');
    await launcher(page).click();
    await waitFor(
      () => page.locator('.parley-badge').count(),
      (n) => n === 0,
      { what: 'the count cleared once open' },
    );

    // The agent reads the visitor's message; the mark survives a reload.
    await invoke(api, 'parley.v1.ConversationService/MarkRead', { conversation_id: conversationId }, parley.tokens['supervisor']!);
    await waitFor(
      () => page.locator('[data-read="true"]').count(),
      (n) => n === 1,
      { what: 'the read mark' },
    );
    await page.reload();
    await waitFor(
      () => page.locator('[data-read="true"]').count(),
      (n) => n === 1,
      { what: 'the read mark after the reload' },
    );
    await context.close();
  });

  it('fits a 375-pixel phone: the button on screen, the panel within the width', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 700 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${parley.base}/demo`);
    await waitFor(
      () => launcher(page).textContent(),
      (t) => (t ?? '').length > 0,
      { what: 'the widget' },
    );
    const button = (await launcher(page).boundingBox())!;
    assert.ok(button.x >= 0 && button.x + button.width <= 375, `button at x=${button.x}, ${button.width} wide`);
    await launcher(page).click();
    const panel = (await page.getByRole('dialog').boundingBox())!;
    assert.ok(panel.x >= 0 && panel.x + panel.width <= 375, `panel at x=${panel.x}, ${panel.width} wide`);
    assert.deepEqual(await axeProblems(page), [], 'axe-core on a phone');
    await context.close();
  });
});
