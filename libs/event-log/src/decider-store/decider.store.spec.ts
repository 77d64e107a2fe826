import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { EVENT_CONTRACTS, personalFieldsOf } from '@parley/contracts';
import { fold } from '@parley/decider';
import { conversationDecider, messageFactKey, SNAPSHOT_SCHEMA_VERSION, withFacts, type ConversationCommand } from '@parley/conversation';
import { Registry } from '@parley/observability';
import { EncryptingEventLog } from '../crypto/encrypting.event-log';
import { KeyWrapper, SqliteSubjectKeyStore } from '../crypto/subject-key.store';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';
import { DeciderStore } from './decider.store';

const T0 = Date.parse('2026-07-01T08:00:00.000Z');
const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
const receive = (i: number): Extract<ConversationCommand, { type: 'ReceiveMessage' }> => ({
  type: 'ReceiveMessage',
  conversationId: 'c1',
  customerId: 'u1',
  messageId: `m${i}`,
  channel: 'whatsapp',
  channelMessageId: `wamid.${i}`,
  text: `secret ${i}`,
  at: at(i),
});
const envelope = { tenantId: 't', metadata: { subjectId: 'u1' } };

function open(snapshotEvery: number) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-decider-store-'));
  const filename = join(dir, 'events.db');
  const inner = new SqliteEventLog({ filename, registry: new Registry() });
  const keys = new SqliteSubjectKeyStore(filename, new KeyWrapper(randomBytes(32)));
  const log = new EncryptingEventLog(inner, keys, personalFieldsOf);
  const store = new DeciderStore({
    log,
    decider: conversationDecider,
    contracts: EVENT_CONTRACTS,
    snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    snapshotEvery,
  });
  return {
    log,
    store,
    inner,
    close: async () => {
      await log.close();
      keys.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('DeciderStore: commands against a stream', () => {
  it("takes a stored event that today's schema refuses as written, counted, instead of failing the stream for ever", async () => {
    const { log, close } = open(100);
    try {
      const registry = new Registry();
      const store = new DeciderStore({
        log,
        decider: conversationDecider,
        contracts: EVENT_CONTRACTS,
        snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
        registry,
      });
      await store.handle('conversation-c1', receive(1), envelope);
      // Written by an older or faulty writer, past the contract's 65,536 characters.
      await log.append(
        'conversation-c1',
        [
          {
            type: 'conversation.message-sent',
            tenantId: 't',
            data: {
              messageId: 'too-long',
              channel: 'whatsapp',
              author: { kind: 'agent', agentId: 'a1' },
              text: 'x'.repeat(65_537),
              attachments: [],
              at: at(2),
            },
            metadata: { subjectId: 'u1' },
          },
        ],
        'any',
      );
      const result = await store.handle('conversation-c1', receive(3), envelope);
      assert.deepEqual(
        result.events.map((e) => e.type),
        ['conversation.message-received'],
        "the customer's next message is recorded",
      );
      assert.ok(result.state.messages['too-long'], 'the stored event is part of the state');
      const tolerated = (await registry.getSingleMetric('parley_event_log_tolerated_events_total')!.get()).values;
      assert.deepEqual(
        tolerated.map((v) => [v.labels['type'], v.value]),
        [['conversation.message-sent', 1]],
      );
      // Anything else that fails is still an error: a type without a contract.
      await log.append('conversation-c1', [{ type: 'conversation.unheard-of', tenantId: 't', data: {}, metadata: { subjectId: 'u1' } }], 'any');
      await assert.rejects(store.handle('conversation-c1', receive(4), envelope), /no contract for event type conversation.unheard-of/);
    } finally {
      await close();
    }
  });

  it('tells onAppended once per append it wrote, with the state decided on; a redelivery that writes nothing tells nothing', async () => {
    const { log, close } = open(100);
    try {
      const told: { types: string[]; previousMessages: number }[] = [];
      const store = new DeciderStore({
        log,
        decider: conversationDecider,
        contracts: EVENT_CONTRACTS,
        snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
        cacheSize: 10,
        onAppended: ({ previous, events }) => told.push({ types: events.map((e) => e.type), previousMessages: Object.keys(previous.messages).length }),
      });
      await store.handle('conversation-c1', receive(1), envelope);
      await store.handle('conversation-c1', receive(1), envelope); // the same channel message again: a duplicate, nothing written
      await store.handle('conversation-c1', receive(2), envelope);
      assert.deepEqual(told, [
        { types: ['conversation.started', 'conversation.message-received'], previousMessages: 0 },
        { types: ['conversation.message-received'], previousMessages: 1 },
      ]);
    } finally {
      await close();
    }
  });

  it('keeps states in memory without missing what another instance wrote', async () => {
    const { log, close } = open(100);
    try {
      const options = { log, decider: conversationDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION, cacheSize: 2 };
      const a = new DeciderStore(options);
      const b = new DeciderStore(options);
      // Two instances take turns on one stream, each with its own cache.
      for (let i = 0; i < 10; i++) await (i % 2 ? b : a).handle('conversation-c1', receive(i), envelope);
      const fromLog = await new DeciderStore({ ...options, cacheSize: 0 }).load('conversation-c1');
      for (const store of [a, b]) {
        const cached = await store.load('conversation-c1');
        assert.equal(cached.version, 11);
        assert.deepEqual(cached.state, fromLog.state);
      }
      // More streams than the cache holds: the oldest go, and load from the log again.
      for (let s = 2; s < 6; s++) await a.handle(`conversation-c${s}`, { ...receive(0), conversationId: `c${s}` }, envelope);
      assert.deepEqual((await a.load('conversation-c1')).state, fromLog.state);
    } finally {
      await close();
    }
  });

  it('decides on a cached state without reading it again, and finds out from the append when another writer came first', async () => {
    const { log, close } = open(100);
    try {
      let reads = 0;
      const counting = new Proxy(log, {
        get: (target, key, receiver) =>
          key === 'readStream' ? (...args: Parameters<typeof log.readStream>) => (reads++, target.readStream(...args)) : Reflect.get(target, key, receiver),
      });
      const options = {
        log: counting,
        decider: conversationDecider,
        contracts: EVENT_CONTRACTS,
        snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
        cacheSize: 10,
      };
      const a = new DeciderStore(options);
      const b = new DeciderStore({ ...options, log });
      await a.handle('conversation-c1', receive(0), envelope);
      reads = 0;
      await a.handle('conversation-c1', receive(1), envelope);
      assert.equal(reads, 0, 'a cached stream is not read before deciding');
      // Behind a's back, b writes: a's stale append conflicts, is decided again on the fresh state, and lands once.
      await b.handle('conversation-c1', receive(2), envelope);
      const resolved = await a.handle('conversation-c1', { type: 'Resolve', by: { kind: 'agent', agentId: 'a' }, at: at(3) }, envelope);
      assert.equal(resolved.state.status, 'resolved');
      assert.ok(resolved.state.messages['m2'], "decided on the state with b's message");
      // a's cached state now says resolved; the customer writes again through b (reopened).
      await b.handle('conversation-c1', receive(4), envelope);
      // Resolving again is refused or a no-op on a's stale state: a asks the log and resolves the reopened conversation.
      const again = await a.handle('conversation-c1', { type: 'Resolve', by: { kind: 'agent', agentId: 'a' }, at: at(5) }, envelope);
      assert.equal(again.events.length > 0, true, 'the reopened conversation was resolved');
      const after = await a.handle('conversation-c1', receive(6), envelope);
      const truth = await new DeciderStore({ ...options, log, cacheSize: 0 }).load('conversation-c1');
      assert.equal(after.version, truth.version);
      assert.deepEqual(after.state, truth.state);
      assert.deepEqual(Object.keys(truth.state.messages).sort(), ['m0', 'm1', 'm2', 'm4', 'm6']);
    } finally {
      await close();
    }
  });

  it('decides on a stream hinted new without reading it, and a wrong hint is corrected by the append, nothing lost or doubled', async () => {
    const { log, close } = open(100);
    try {
      let reads = 0;
      const counting = new Proxy(log, {
        get: (target, key, receiver) =>
          key === 'readStream' || key === 'loadSnapshot'
            ? (...args: unknown[]) => (reads++, (target[key] as (...a: unknown[]) => unknown)(...args))
            : Reflect.get(target, key, receiver),
      });
      const options = {
        log: counting,
        decider: conversationDecider,
        contracts: EVENT_CONTRACTS,
        snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
        cacheSize: 10,
      };
      const fresh = await new DeciderStore(options).handle('conversation-c1', receive(0), envelope, { newStream: true });
      assert.equal(reads, 0, 'a stream hinted new is not read');
      assert.equal(fresh.version, 2);
      assert.deepEqual(
        fresh.events.map((e) => e.type),
        ['conversation.started', 'conversation.message-received'],
      );
      // Another store (another instance) believes the same stream new: its append conflicts, and it decides again on what is there.
      const wrong = await new DeciderStore(options).handle('conversation-c1', receive(1), envelope, { newStream: true });
      assert.ok(reads > 0, 'a wrong hint makes it read the stream');
      assert.deepEqual(
        wrong.events.map((e) => e.type),
        ['conversation.message-received'],
        'no second start',
      );
      // The same message again, hinted new: a duplicate, not a second copy.
      const again = await new DeciderStore(options).handle('conversation-c1', receive(1), envelope, { newStream: true });
      assert.equal(again.events.length, 0);
      const truth = await new DeciderStore({ ...options, cacheSize: 0 }).load('conversation-c1');
      assert.equal(truth.version, 3);
      assert.deepEqual(Object.keys(truth.state.messages).sort(), ['m0', 'm1']);
    } finally {
      await close();
    }
  });
  it('decides, appends, snapshots, and loads the same state from snapshot plus tail as from the first event', async () => {
    const { store, inner, close } = open(5);
    try {
      for (let i = 0; i < 12; i++) await store.handle('conversation-c1', receive(i), envelope);
      const snapshot = await inner.loadSnapshot('conversation-c1');
      assert.ok(snapshot && snapshot.version >= 5, 'a snapshot was taken');
      assert.ok(JSON.stringify(snapshot).includes('enc:v1:'), 'the snapshot is sealed with the customer key');
      const loaded = await store.load('conversation-c1');
      const full = fold(conversationDecider, (await inner.readStream('conversation-c1')).map((e) => ({ type: e.type, data: e.data })) as never);
      assert.equal(loaded.version, 13);
      // The state holds the message facts since the snapshot; the others are stored beside it and join in.
      assert.ok(Object.keys(loaded.state.messages).length < 12, 'older message facts left the state');
      const keys = [...Object.keys(full.messages).map(messageFactKey), ...Object.keys(full.channelMessageIds).map((k) => `channel-message:${k}`)];
      assert.deepEqual(withFacts(loaded.state, await inner.loadFacts('conversation-c1', keys)), full);
      assert.ok(loaded.readSinceSnapshot < 13);
    } finally {
      await close();
    }
  });

  it('keeps state and snapshots bounded in a long conversation, and still drops redeliveries of, edits and receipts for its oldest messages', async () => {
    const { store, inner, close } = open(50);
    try {
      const stream = 'conversation-long';
      let version = 0;
      for (let i = 0; i < 400; i++) version = (await store.handle(stream, receive(i), envelope, { newStream: i === 0 })).version;
      const snapshot = await inner.loadSnapshot(stream);
      assert.ok(snapshot, 'snapshots were taken');
      // Sealed; its size is what matters: the facts of at most one interval.
      assert.ok(JSON.stringify(snapshot.state).length < 40_000, `snapshot of ${JSON.stringify(snapshot.state).length} characters`);
      const loaded = await store.load(stream);
      assert.ok(Object.keys(loaded.state.messages).length <= 50, `${Object.keys(loaded.state.messages).length} message facts in the state`);
      // The first message: its facts are only in the store now.
      assert.deepEqual(
        (await store.handle(stream, { ...receive(0), messageId: 'again' }, envelope)).events,
        [],
        'a redelivery of the first message is dropped',
      );
      const edited = await store.handle(stream, { type: 'EditMessage', messageId: 'm0', text: 'fixed', by: 'customer', at: at(500) }, envelope);
      assert.deepEqual(
        edited.events.map((e) => e.type),
        ['conversation.message-edited'],
      );
      await assert.rejects(store.handle(stream, { type: 'EditMessage', messageId: 'm0', text: 'x', by: 'agent', at: at(501) }, envelope), /not-author|author/);
      await store.handle(stream, { type: 'DeleteMessage', messageId: 'm1', by: 'customer', at: at(502) }, envelope);
      assert.deepEqual(
        (await store.handle(stream, { type: 'DeleteMessage', messageId: 'm1', by: 'customer', at: at(503) }, envelope)).events,
        [],
        'deleted once',
      );
      const read = await store.handle(
        stream,
        { type: 'RecordReceipt', channel: 'whatsapp', status: 'read', reader: 'agent', messageId: 'm2', at: at(504) },
        envelope,
      );
      assert.equal(read.events.length, 1);
      assert.deepEqual(
        (await store.handle(stream, { type: 'RecordReceipt', channel: 'whatsapp', status: 'read', reader: 'agent', messageId: 'm2', at: at(505) }, envelope))
          .events,
        [],
        'a later read receipt changes nothing',
      );
      assert.equal(await inner.streamVersion(stream), version + 3);
    } finally {
      await close();
    }
  });

  it('drops a redelivered command without writing, and retries a conflict by deciding again', async () => {
    const { store, log, close } = open(100);
    try {
      await store.handle('conversation-c1', receive(0), envelope);
      const again = await store.handle('conversation-c1', { ...receive(0), messageId: 'other' }, envelope);
      assert.deepEqual(again.events, []);
      // Two writers decide on the same version at once; the loser reloads and decides again.
      const [a, b] = await Promise.all([store.handle('conversation-c1', receive(1), envelope), store.handle('conversation-c1', receive(2), envelope)]);
      // The first message started the conversation: versions 1 and 2.
      assert.deepEqual([a.version, b.version].sort(), [3, 4]);
      assert.equal(await log.streamVersion('conversation-c1'), 4);
    } finally {
      await close();
    }
  });

  it('ignores a snapshot of another state shape, and keeps working after the customer is erased', async () => {
    const { store, log, inner, close } = open(2);
    try {
      for (let i = 0; i < 4; i++) await store.handle('conversation-c1', receive(i), envelope);
      await inner.saveSnapshot({
        streamId: 'conversation-c1',
        version: 5,
        schemaVersion: SNAPSHOT_SCHEMA_VERSION + 1,
        state: { nonsense: true },
        takenAt: at(9),
      });
      assert.equal((await store.load('conversation-c1')).state.status, 'open');
      await log.erase('u1');
      const after = await store.handle('conversation-c1', { type: 'Resolve', by: { kind: 'agent', agentId: 'a' }, at: at(10) }, envelope);
      assert.equal(after.state.status, 'resolved');
      assert.equal(Object.keys(after.state.messages).length, 4);
    } finally {
      await close();
    }
  });
});
