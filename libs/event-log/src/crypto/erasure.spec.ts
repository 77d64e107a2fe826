import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { personalFieldsOf } from '@parley/contracts';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName } from '@parley/testing-support';
import type { EventLog, NewEvent } from '../index';
import { MongoEventLog } from '../mongo/mongo.event-log';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';
import { ERASED, EncryptingEventLog, SUBJECT_METADATA } from './encrypting.event-log';
import { KeyWrapper, MongoSubjectKeyStore, SqliteSubjectKeyStore, type SubjectKeyStore } from './subject-key.store';

const SECRETS = ['+33 6 12 34 56 78', 'passport-scan.png', 'Ada Lovelace', 'ada@example.org', 'she was rude'];
const at = '2026-06-01T09:00:00.000Z';

function conversationEvents(subjectId: string): NewEvent[] {
  const metadata = { [SUBJECT_METADATA]: subjectId };
  return [
    { type: 'conversation.started', tenantId: 't', metadata, data: { conversationId: 'c1', customerId: subjectId, channel: 'whatsapp', at } },
    {
      type: 'conversation.message-received',
      tenantId: 't',
      metadata,
      data: {
        messageId: 'm1',
        channel: 'whatsapp',
        channelMessageId: 'wamid.1',
        text: `call me on ${SECRETS[0]}`,
        attachments: [{ ref: `https://media/${SECRETS[1]}`, mimeType: 'image/png', sizeBytes: 2048 }],
        at,
      },
    },
    {
      type: 'conversation.message-sent',
      tenantId: 't',
      metadata,
      data: { messageId: 'm2', channel: 'whatsapp', author: { kind: 'agent', agentId: 'a1' }, text: `Hello ${SECRETS[2]}`, attachments: [], at },
    },
    { type: 'conversation.satisfaction-recorded', tenantId: 't', metadata, data: { score: 2, comment: SECRETS[4], at } },
  ];
}

interface Store {
  log: EventLog;
  keys: SubjectKeyStore;
  /** Everything the store holds, as text, read around the log. */
  rawDump(): Promise<string>;
  close(): Promise<void>;
}

async function sqliteStore(): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-erasure-'));
  const filename = join(dir, 'events.db');
  const inner = new SqliteEventLog({ filename, registry: new Registry() });
  const keys = new SqliteSubjectKeyStore(filename, new KeyWrapper(randomBytes(32)));
  return {
    log: inner,
    keys,
    rawDump: async () =>
      readdirSync(dir)
        .map((f) => readFileSync(join(dir, f)).toString('latin1'))
        .join('\n'),
    close: async () => {
      await inner.close();
      keys.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function mongoStore(): Promise<Store> {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_erasure').replace(/-/g, '_');
  const client = await MongoClient.connect(mongoUrl);
  const inner = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
  const keys = new MongoSubjectKeyStore(client.db(database), new KeyWrapper(randomBytes(32)));
  return {
    log: inner,
    keys,
    rawDump: async () => {
      const parts: string[] = [];
      for (const c of await client.db(database).listCollections().toArray())
        parts.push(JSON.stringify(await client.db(database).collection(c.name).find().toArray()));
      return parts.join('\n');
    },
    close: async () => {
      await inner.close();
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
}

for (const [name, open] of [
  ['SQLite', sqliteStore],
  ['FerretDB', mongoStore],
] as const) {
  describe(`erasing a customer (${name})`, () => {
    it('keeps personal fields encrypted at rest, and unreadable everywhere once the key is deleted; counts and timings survive', async () => {
      const store = await open();
      try {
        const log = new EncryptingEventLog(store.log, store.keys, personalFieldsOf);
        await log.append('conversation-c1', conversationEvents('cust-1'), 'no_stream');
        await log.append('conversation-c2', conversationEvents('cust-2'), 'no_stream');
        await log.append(
          'customer-cust-1',
          [
            {
              type: 'customer.attribute-set',
              tenantId: 't',
              metadata: { [SUBJECT_METADATA]: 'cust-1' },
              data: { key: 'profile', value: { name: SECRETS[2], email: SECRETS[3] }, at },
            },
          ],
          'no_stream',
        );
        await log.saveSnapshot({
          streamId: 'customer-cust-1',
          version: 1,
          schemaVersion: 1,
          state: { name: SECRETS[2], email: SECRETS[3] },
          takenAt: at,
          subjectId: 'cust-1',
        });

        // Readable through the log before erasure, never in plain text in the store.
        const before = await log.readStream('conversation-c1');
        assert.equal((before[1]!.data as { text: string }).text, `call me on ${SECRETS[0]}`);
        assert.deepEqual((await log.loadSnapshot('customer-cust-1'))?.state, { name: SECRETS[2], email: SECRETS[3] });
        const rawBefore = await store.rawDump();
        for (const secret of SECRETS) assert.ok(!rawBefore.includes(secret), `plain "${secret}" in the store`);
        // A read model's copy, sealed with the same key.
        const sealedCopy = await log.sealFor('cust-1', { text: SECRETS[0] });
        assert.ok(!sealedCopy.includes(SECRETS[0]!));
        assert.deepEqual(await log.openFor('cust-1', sealedCopy), { text: SECRETS[0] });

        await log.erase('cust-1');
        assert.equal(await log.openFor('cust-1', sealedCopy), null, 'read-model copies are shredded with the key');

        const after = await log.readStream('conversation-c1');
        assert.equal(after.length, 4, 'the events themselves stay');
        const received = after[1]!.data as Record<string, unknown> & { attachments: Record<string, unknown>[] };
        assert.deepEqual(received['text'], ERASED);
        assert.deepEqual(received.attachments[0], { ref: ERASED, mimeType: 'image/png', sizeBytes: 2048 });
        assert.equal(received['at'], at, 'timings survive');
        assert.equal(received['channelMessageId'], 'wamid.1');
        assert.deepEqual(after[3]!.data as { score: number; comment: unknown }, { score: 2, comment: ERASED, at });
        assert.equal(await log.loadSnapshot('customer-cust-1'), null, 'a sealed snapshot of an erased customer is gone');
        const profile = (await log.readStream('customer-cust-1'))[0]!.data as { value: unknown };
        assert.deepEqual(profile.value, ERASED);

        // Another customer is untouched.
        assert.equal(((await log.readStream('conversation-c2'))[1]!.data as { text: string }).text, `call me on ${SECRETS[0]}`);
        // And the key itself is gone from the store.
        assert.equal(await store.keys.find('cust-1'), null);
        const rawAfter = await store.rawDump();
        for (const secret of SECRETS) assert.ok(!rawAfter.includes(secret), `plain "${secret}" in the store after erasure`);
      } finally {
        await store.close();
      }
    });
  });
}
