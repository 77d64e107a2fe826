import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { conversationStream } from './conversations/conversations.grpc';
import { customerStream } from './customers/customers.grpc';
import { SECRET, hoursAgo, runProcess, sqliteBackend, startTestHistory } from './testing/history.fixture';

function python(args: string[]) {
  const interpreter = process.env['PARLEY_PYTHON'];
  if (!interpreter) throw new Error('PARLEY_PYTHON must point at a Python with grpcio (npm test sets it up)');
  return runProcess(interpreter, [join(__dirname, '..', 'test', 'python', 'reflection_client.py'), ...args]);
}

describe('the public API from another language (Python grpcio, through reflection only)', () => {
  it('lists the services, pages a conversation with GetConversation and ListTimeline, and sets Struct attributes from JSON; a forged token is UNAUTHENTICATED', async () => {
    const backend = sqliteBackend();
    const running = await startTestHistory(backend);
    const seed = await backend.seed();
    try {
      await seed.store.handle(
        conversationStream('brand-a', 'py-1'),
        {
          type: 'ReceiveMessage',
          conversationId: 'py-1',
          customerId: 'u',
          messageId: 'm1',
          channel: 'whatsapp',
          channelMessageId: 'wamid.py',
          text: 'hola',
          at: hoursAgo(1),
        },
        { tenantId: 'brand-a', metadata: { subjectId: 'u' } },
      );
      await seed.customers.handle(
        customerStream('brand-a', 'u'),
        { type: 'Register', customerId: 'u', at: hoursAgo(2) },
        { tenantId: 'brand-a', metadata: { subjectId: 'u' } },
      );
      const token = await new SignJWT({ tenant: 'brand-a', role: 'integration' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('py')
        .setAudience('parley')
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SECRET));
      const attributes = { plan: 'pro', vip: true, orders: 3, tags: ['a', 'b'], address: { city: 'Lyon', zip: null } };
      const { code, out, err } = await python([`127.0.0.1:${running.grpcPort}`, token, 'py-1', 'u', JSON.stringify(attributes)]);
      assert.equal(code, 0, err);
      const result = JSON.parse(out) as {
        services: string[];
        conversation: { id: string; customerId: string; lastCustomerChannel: string; timeline: { message?: { text: string } }[] };
        forged_token: string;
        attributes: unknown;
      };
      assert.deepEqual(result.attributes, attributes);
      // Paged: the message alone in the latest page, the conversation's start before it.
      assert.deepEqual(
        (result as unknown as { latest_page: { message?: { text: string } }[] }).latest_page.map((e) => e.message?.text),
        ['hola'],
      );
      assert.deepEqual(
        (result as unknown as { earlier_page: { type: string }[] }).earlier_page.map((e) => e.type),
        ['conversation.status'],
      );
      for (const s of ['parley.v1.ConversationService', 'parley.v1.CustomerService', 'parley.v1.EventService', 'grpc.health.v1.Health'])
        assert.ok(result.services.includes(s), s);
      assert.equal(result.conversation.id, 'py-1');
      assert.equal(result.conversation.lastCustomerChannel, 'CHANNEL_WHATSAPP');
      assert.equal(result.conversation.timeline.find((t) => t.message)?.message?.text, 'hola');
      assert.equal(result.forged_token, 'UNAUTHENTICATED');
    } finally {
      await seed.close();
      await running.close();
      await backend.cleanup();
    }
  });
});
