import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { credentials } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { waitFor } from '@parley/testing-support';
import { loadHistoryConfig } from '../config/history.config';
import { conversationStream } from '../conversations/conversations.grpc';
import { startHistory } from '../history.app';
import { MASTER, SECRET, bearer, hoursAgo, rpc, runProcess, sqliteBackend } from '../testing/history.fixture';

function runCli(env: Record<string, string>, args: string[]) {
  return runProcess(process.execPath, [join(__dirname, 'rebuild.cli.js'), ...args], env);
}

describe('history-rebuild (command line)', () => {
  it('rebuilds the conversation list beside the live one while the service serves it, with progress and rate', async () => {
    const backend = sqliteBackend();
    const env = {
      ...backend.env,
      PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0',
      PARLEY_HISTORY_HTTP_PORT: '0',
      PARLEY_MASTER_KEY: MASTER,
      PARLEY_TOKEN_SECRETS: SECRET,
    };
    const running = await startHistory(loadHistoryConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    const seed = await backend.seed();
    const client = new (parleyService('ConversationService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    try {
      for (let i = 0; i < 40; i++) {
        await seed.store.handle(
          conversationStream('t', `c${i}`),
          {
            type: 'ReceiveMessage',
            conversationId: `c${i}`,
            customerId: 'u',
            messageId: 'm',
            channel: 'web',
            channelMessageId: `w${i}`,
            text: 'x',
            at: hoursAgo(1),
          },
          { tenantId: 't', metadata: { subjectId: 'u' } },
        );
      }
      const md = await bearer('t');
      const count = async () => (await rpc<{ conversations: unknown[] }>(client, 'ListConversations', { page_size: 500 }, md)).conversations.length;
      await waitFor(count, (n) => n === 40, { what: 'the live list' });

      const { code, out, err } = await runCli(env, ['conversation-list']);
      assert.equal(code, 0, err);
      assert.match(out, /rebuilt conversation-list: generation 2, 80 events in [\d.]+ s \(\d+ events\/s\)/);
      assert.match(err, /\[#+\] 100% 80 events +\d[\d,]* events\/s/);
      // The service follows the switch and answers the same, and goes on with new events.
      assert.equal(await count(), 40);
      await seed.store.handle(
        conversationStream('t', 'c-new'),
        {
          type: 'ReceiveMessage',
          conversationId: 'c-new',
          customerId: 'u',
          messageId: 'm',
          channel: 'web',
          channelMessageId: 'w-new',
          text: 'x',
          at: hoursAgo(0),
        },
        { tenantId: 't', metadata: { subjectId: 'u' } },
      );
      await waitFor(count, (n) => n === 41, { what: 'the new generation to follow the log' });

      assert.equal((await runCli(env, ['no-such-projection'])).code, 2);

      // A rule behind the service levels changes (a bot's answer now counts): rebuilding recomputes them from the log.
      const bot = conversationStream('t', 'c-bot');
      await seed.store.handle(
        bot,
        {
          type: 'ReceiveMessage',
          conversationId: 'c-bot',
          customerId: 'u',
          messageId: 'm',
          channel: 'web',
          channelMessageId: 'w-bot',
          text: 'x',
          at: hoursAgo(1),
        },
        { tenantId: 't', metadata: { subjectId: 'u' } },
      );
      await seed.store.handle(
        bot,
        {
          type: 'SendMessage',
          messageId: 'b',
          author: { kind: 'bot', botId: 'faq' },
          text: 'y',
          at: new Date(Date.parse(hoursAgo(1)) + 300_000).toISOString(),
        },
        { tenantId: 't', metadata: { subjectId: 'u' } },
      );
      const firstResponse = async () =>
        (
          await rpc<{ conversation: { service_levels: { first_response: { seconds: string } | null } } }>(
            client,
            'GetConversation',
            { conversation_id: 'c-bot' },
            md,
          )
        ).conversation.service_levels.first_response;
      assert.equal(await firstResponse(), null, 'bots do not count by default');
      const rebuilt = await runCli({ ...env, PARLEY_SLA_COUNT_BOTS: 'true' }, ['conversation-timeline']);
      assert.equal(rebuilt.code, 0, rebuilt.err);
      await waitFor(firstResponse, (d) => Number(d?.seconds) === 300, { what: 'the recomputed first response' });
    } finally {
      client.close();
      await seed.close();
      await running.close();
      await backend.cleanup();
    }
  });
});
