import { SignJWT } from 'jose';
import { EVENT_CONTRACTS, streams } from '@parley/contracts';
import { agentDecider, queueDecider, targetingDecider } from '@parley/availability-domain';
import { DeciderStore, type EventLog } from '@parley/event-log';
import { WORKSPACE_SNAPSHOT_SCHEMA_VERSION, workspaceDecider } from '@parley/workspace';

export const DEMO_TENANT = 'demo';
export const DEMO_QUEUE = 'support';
export const DEMO_AGENTS = ['demo-agent-1', 'demo-agent-2'] as const;

/**
 * What a newcomer finds on first start: tenant `demo` with a `support` queue
 * open every day (Europe/Berlin), two agents who take two live chats and ten
 * threads each, an invitation on the demo page, and two canned responses.
 * Written as events, once.
 */
export async function seedDemo(log: EventLog, at = new Date().toISOString()): Promise<boolean> {
  if ((await log.streamVersion(streams.queue(DEMO_TENANT, DEMO_QUEUE))) > 0) return false;
  const common = { log, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1 };
  const envelope = { tenantId: DEMO_TENANT, metadata: { actor: 'demo-seed' } };
  const queues = new DeciderStore({ ...common, decider: queueDecider });
  const allDay = [{ from: '08:00', to: '20:00' }];
  await queues.handleAll(
    streams.queue(DEMO_TENANT, DEMO_QUEUE),
    [
      {
        type: 'SetHours',
        queueId: DEMO_QUEUE,
        timeZone: 'Europe/Berlin',
        weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
        at,
      },
      { type: 'SetRequirements', queueId: DEMO_QUEUE, skills: [], languages: [], typicalResponseSeconds: 120, at },
    ],
    envelope,
  );
  const agents = new DeciderStore({ ...common, decider: agentDecider });
  for (const agentId of DEMO_AGENTS)
    await agents.handle(
      streams.agent(DEMO_TENANT, agentId),
      { type: 'SetCapacity', agentId, liveChats: 2, messaging: 10, skills: [], languages: ['en', 'de'], at },
      envelope,
    );
  const targeting = new DeciderStore({ ...common, decider: targetingDecider });
  await targeting.handle(
    streams.targeting(DEMO_TENANT),
    {
      type: 'SetRules',
      rules: [{ ruleId: 'demo-help', urlPattern: '*/demo*', minTimeOnPageSeconds: 15, message: 'Questions? We are here.', queueId: DEMO_QUEUE }],
      periodSeconds: 3600,
      at,
    },
    envelope,
  );
  const workspace = new DeciderStore({ ...common, decider: workspaceDecider, snapshotSchemaVersion: WORKSPACE_SNAPSHOT_SCHEMA_VERSION });
  await workspace.handleAll(
    streams.workspace(DEMO_TENANT),
    [
      {
        type: 'SaveCannedResponse',
        responseId: 'greeting',
        shortcut: 'hi',
        title: 'Greeting',
        text: 'Hi {{customer.first_name | "there"}}, thanks for writing! How can I help?',
        at,
      },
      {
        type: 'SaveCannedResponse',
        responseId: 'order-status',
        shortcut: 'order',
        title: 'Order status',
        text: 'Hi {{customer.first_name | "there"}}, your order {{order.id}} is {{order.status | "on its way"}}.',
        at,
      },
    ],
    envelope,
  );
  return true;
}

/** Bearer tokens to try the API with, signed with this installation's token secret. */
export async function demoTokens(secret: string): Promise<Record<string, string>> {
  const sign = (role: string, subject: string) =>
    new SignJWT({ tenant: DEMO_TENANT, role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(subject)
      .setAudience('parley')
      .setIssuedAt()
      .setExpirationTime('30d')
      .sign(new TextEncoder().encode(secret));
  return {
    'demo-agent-1 (agent)': await sign('agent', 'demo-agent-1'),
    'demo-agent-2 (agent)': await sign('agent', 'demo-agent-2'),
    supervisor: await sign('supervisor', 'demo-supervisor'),
  };
}
