import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { streams } from '@parley/contracts';
import { fieldViolationsOf, parleyService } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';
import type { RunningHistory } from '../history.app';
import { bearer, hoursAgo, rpc, sqliteBackend, type Backend, type Seed, startTestHistory } from '../testing/history.fixture';

describe('history: canned responses over gRPC (SQLite)', () => {
  let backend: Backend;
  let running: RunningHistory;
  let client: Client;
  let seed: Seed;
  const response = (response_id: string, shortcut: string, text: string) => ({ response: { response_id, shortcut, title: `About ${shortcut}`, text } });

  before(async () => {
    backend = sqliteBackend();
    running = await startTestHistory(backend);
    client = new (parleyService('CannedResponseService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    seed = await backend.seed();
    // A customer the shop told Parley about, with an order, and their conversation.
    const envelope = { tenantId: 'brand-a', metadata: { subjectId: 'cust-1' } };
    await seed.customers.handle(streams.customer('brand-a', 'cust-1'), { type: 'Register', customerId: 'cust-1', at: hoursAgo(3) }, envelope);
    await seed.customers.handle(
      streams.customer('brand-a', 'cust-1'),
      { type: 'UpdateProfile', profile: { name: 'Dana Vogel', tier: 'gold' }, source: 'api', at: hoursAgo(3) },
      envelope,
    );
    await seed.customers.handle(
      streams.customer('brand-a', 'cust-1'),
      {
        type: 'RecordOrder',
        order: { orderId: 'SO-7', placedAt: hoursAgo(3), status: 'shipped', items: [], total: { amountMinor: 4990, currency: 'EUR' } },
        source: 'api',
        at: hoursAgo(3),
      },
      envelope,
    );
    for (const [conversationId, customerId] of [
      ['conv-dana', 'cust-1'],
      ['conv-anon', 'cust-anon'],
    ] as const)
      await seed.store.handle(
        streams.conversation('brand-a', conversationId),
        {
          type: 'ReceiveMessage',
          conversationId,
          customerId,
          messageId: 'm1',
          channel: 'web',
          channelMessageId: `${conversationId}-1`,
          text: 'where is my kettle?',
          at: hoursAgo(1),
        },
        { tenantId: 'brand-a', metadata: { subjectId: customerId } },
      );
  });
  after(async () => {
    client.close();
    await seed.close();
    await running.close();
    await backend.cleanup();
  });

  it('lets supervisors save and delete them, agents list and render them filled in for the conversation’s customer', async () => {
    const supervisor = await bearer('brand-a', 'supervisor');
    const agent = await bearer('brand-a', 'agent', 'kim');
    const text = 'Hi {{customer.first_name | "there"}}, your order {{order.id}} is {{order.status | "on its way"}}. {{agent.id}}';
    const saved = await rpc<{ response: { response_id: string; text: string } }>(client, 'SaveCannedResponse', response('order', 'order', text), supervisor);
    assert.equal(saved.response.text, text);
    await rpc(client, 'SaveCannedResponse', response('hi', 'hi', 'Hello {{customer.name | "there"}}!'), supervisor);
    await assert.rejects(rpc(client, 'SaveCannedResponse', response('x', 'x', 'hi'), agent), (e: ServiceError) => e.code === status.PERMISSION_DENIED);
    const listed = await rpc<{ responses: { shortcut: string }[] }>(client, 'ListCannedResponses', {}, agent);
    assert.deepEqual(
      listed.responses.map((r) => r.shortcut),
      ['hi', 'order'],
    );
    // The order comes from the read model: within moments.
    const rendered = await waitFor(
      () => rpc<{ text: string }>(client, 'RenderCannedResponse', { conversation_id: 'conv-dana', response_id: 'order' }, agent),
      (r) => r.text.includes('SO-7'),
      { what: 'the latest order filled in' },
    );
    assert.equal(rendered.text, 'Hi Dana, your order SO-7 is shipped. kim');
    // Nothing known of this customer: the fallbacks.
    assert.deepEqual(await rpc(client, 'RenderCannedResponse', { conversation_id: 'conv-anon', response_id: 'order' }, agent), {
      text: 'Hi there, your order  is on its way. kim',
    });
    await assert.rejects(
      rpc(client, 'RenderCannedResponse', { conversation_id: 'conv-dana', response_id: 'nope' }, agent),
      (e: ServiceError) => e.code === status.NOT_FOUND,
    );
    await rpc(client, 'DeleteCannedResponse', { response_id: 'hi' }, supervisor);
    await rpc(client, 'DeleteCannedResponse', { response_id: 'hi' }, supervisor);
    assert.deepEqual(
      (await rpc<{ responses: { shortcut: string }[] }>(client, 'ListCannedResponses', {}, agent)).responses.map((r) => r.shortcut),
      ['order'],
    );
  });

  it('refuses an unknown variable, a taken shortcut or a bad one, naming the field, and saves nothing', async () => {
    const supervisor = await bearer('brand-a', 'supervisor');
    const before = await seed.log.streamVersion(streams.workspace('brand-a'));
    await assert.rejects(
      rpc(client, 'SaveCannedResponse', response('typo', 'typo', 'Hi {{customer.nmae}}'), supervisor),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'text' && /customer\.nmae/.test(v.description)),
    );
    await assert.rejects(
      rpc(client, 'SaveCannedResponse', response('other', 'order', 'Another one'), supervisor),
      (e: ServiceError) => e.code === status.FAILED_PRECONDITION && e.metadata.get('parley-error-code')[0] === 'SHORTCUT_TAKEN',
    );
    await assert.rejects(
      rpc(client, 'SaveCannedResponse', response('caps', 'Not A Shortcut', 'x'), supervisor),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
    );
    assert.equal(await seed.log.streamVersion(streams.workspace('brand-a')), before);
  });
});
