import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { streams } from '@parley/contracts';
import { SqliteEventLog, type NewEvent } from '@parley/event-log';
import { Registry, createLogger } from '@parley/observability';
import { AvailabilityModel } from './availability.model';

const at = '2026-06-03T10:00:00.000Z';
const ALL_DAY = [
  { from: '00:00', to: '12:00' },
  { from: '12:00', to: '00:00' },
];

describe('availability model: the live-chat offer counts only agents who can take the chat', () => {
  async function model() {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const append = (stream: string, type: string, data: Record<string, unknown>) =>
      log.append(stream, [{ type, tenantId: 't', data } satisfies NewEvent], 'any');
    await append(streams.queue('t', 'support'), 'queue.hours-set', {
      queueId: 'support',
      timeZone: 'Europe/Berlin',
      weekly: { mon: ALL_DAY, tue: ALL_DAY, wed: ALL_DAY, thu: ALL_DAY, fri: ALL_DAY, sat: ALL_DAY, sun: ALL_DAY },
      at,
    });
    await append(streams.agent('t', 'a1'), 'agent.capacity-set', { agentId: 'a1', liveChats: 1, messaging: 5, skills: [], languages: [], at });
    await append(streams.agent('t', 'a1'), 'agent.presence-changed', { agentId: 'a1', presence: 'online', reason: 'manual', at });
    const m = new AvailabilityModel(log, createLogger('test'));
    const conversation = async (id: string, ...events: [string, Record<string, unknown>][]) => {
      for (const [type, data] of events) await append(streams.conversation('t', id), type, data);
      await m.catchUp();
    };
    await conversation('web-1', ['conversation.started', { conversationId: 'web-1', customerId: 'web-1', channel: 'web', at }]);
    return { log, m, conversation, append };
  }
  const kind = (m: AvailabilityModel) => m.offer('t', 'support', at).kind;

  it("an open offer holds the agent's live-chat slot: no second visitor is promised live chat meanwhile", async () => {
    const { log, m, conversation } = await model();
    assert.equal(kind(m), 'live-chat');
    await conversation('web-1', ['conversation.offered', { offerId: 'o1', agentId: 'a1', expiresAt: at, at }]);
    assert.equal(kind(m), 'messaging', 'the one slot is offered');
    await conversation('web-1', ['conversation.offer-declined', { offerId: 'o1', agentId: 'a1', reason: 'declined', at }]);
    assert.equal(kind(m), 'live-chat', 'declined by an agent who is there: free again');
    await log.close();
  });

  it('an agent who let an offer time out is not promised to visitors until they act again', async () => {
    const { log, m, conversation, append } = await model();
    await conversation(
      'web-1',
      ['conversation.offered', { offerId: 'o1', agentId: 'a1', expiresAt: at, at }],
      ['conversation.offer-declined', { offerId: 'o1', agentId: 'a1', reason: 'timed-out', at }],
    );
    const offer = m.offer('t', 'support', at);
    assert.equal(offer.kind, 'messaging');
    // Routing still sees the agent online: it offers them the next round.
    assert.equal(m.agentsOf('t')[0]!.agent.presence, 'online');
    // They accept the next offer: they are there, and busy with it (capacity 1).
    await conversation(
      'web-1',
      ['conversation.offered', { offerId: 'o2', agentId: 'a1', expiresAt: at, at }],
      ['conversation.assigned', { agentId: 'a1', offerId: 'o2', at }],
    );
    assert.equal(kind(m), 'messaging', 'their one live chat is taken');
    await conversation('web-1', ['conversation.resolved', { by: { kind: 'agent', agentId: 'a1' }, at }]);
    assert.equal(kind(m), 'live-chat', 'resolved: free, and known to be there');
    // Missing an offer again, then setting their presence again, makes them count again.
    await conversation(
      'web-2',
      ['conversation.started', { conversationId: 'web-2', customerId: 'web-2', channel: 'web', at }],
      ['conversation.offered', { offerId: 'o3', agentId: 'a1', expiresAt: at, at }],
      ['conversation.offer-declined', { offerId: 'o3', agentId: 'a1', reason: 'timed-out', at }],
    );
    assert.equal(kind(m), 'messaging');
    await append(streams.agent('t', 'a1'), 'agent.presence-changed', { agentId: 'a1', presence: 'online', reason: 'manual', at });
    await m.catchUp();
    assert.equal(kind(m), 'live-chat');
    await log.close();
  });
});
