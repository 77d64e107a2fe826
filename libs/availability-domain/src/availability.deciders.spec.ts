import { describe, it } from '@jest/globals';
import { specFor } from '@parley/decider/testing';
import { InvalidArgumentError } from '@parley/errors';
import { agentDecider, queueDecider } from './availability.deciders';

const at = '2026-06-01T10:00:00.000Z';

describe('agents and queues as deciders', () => {
  const agent = specFor(agentDecider);
  const queue = specFor(queueDecider);
  it('records a presence change once', () => {
    agent
      .given([])
      .when({ type: 'SetPresence', agentId: 'a1', presence: 'online', reason: 'manual', at })
      .then([{ type: 'agent.presence-changed', data: { agentId: 'a1', presence: 'online', reason: 'manual', at } }]);
    agent
      .given([{ type: 'agent.presence-changed', data: { agentId: 'a1', presence: 'online', reason: 'manual', at } }])
      .when({ type: 'SetPresence', agentId: 'a1', presence: 'online', reason: 'manual', at })
      .thenNothing();
  });
  it('refuses business hours in an unknown zone, changing nothing', () => {
    queue.given([]).when({ type: 'SetHours', queueId: 'q', timeZone: 'Atlantis/Capital', weekly: {}, at }).thenThrows(InvalidArgumentError);
  });
  it("records a queue's routing policy", () => {
    queue
      .given([])
      .when({
        type: 'SetRoutingPolicy',
        queueId: 'q',
        strategy: 'least-busy',
        offerTimeoutSeconds: 20,
        stickySeconds: 0,
        escalation: [{ afterSeconds: 60, action: 'overflow', toQueueId: 'q2' }],
        requeueLiveOnOffline: false,
        at,
      })
      .then([
        {
          type: 'queue.routing-policy-set',
          data: {
            queueId: 'q',
            strategy: 'least-busy',
            offerTimeoutSeconds: 20,
            stickySeconds: 0,
            escalation: [{ afterSeconds: 60, action: 'overflow', toQueueId: 'q2' }],
            requeueLiveOnOffline: false,
            at,
          },
        },
      ]);
  });
  it('removes only an exception that exists', () => {
    queue.given([]).when({ type: 'RemoveException', queueId: 'q', date: '2026-12-25', at }).thenNothing();
    queue
      .given([{ type: 'queue.exception-set', data: { queueId: 'q', date: '2026-12-25', slots: [], at } }])
      .when({ type: 'RemoveException', queueId: 'q', date: '2026-12-25', at })
      .then([{ type: 'queue.exception-removed', data: { queueId: 'q', date: '2026-12-25', at } }]);
  });
});
