import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { SqliteEventLog } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { ProjectionRunner, type Projection } from '../projection.runner';
import type { ReadDocument, ReadModelStore } from '../read-model.port';

interface Row extends ReadDocument {
  readonly tenant: string;
  readonly status: string;
  readonly at: string;
  readonly n: number;
}

/** Counts events per stream: idempotent by keeping the last version applied. */
const counting: Projection = {
  name: 'counting',
  tables: ['streams'],
  async handle(event, store, tables) {
    const table = tables.table('streams');
    const doc = await store.get<ReadDocument & { version: number; count: number }>(table, event.streamId);
    if (doc && doc.version >= event.streamVersion) return;
    await store.upsert(table, { id: event.streamId, tenant: event.tenantId, version: event.streamVersion, count: (doc?.count ?? 0) + 1 });
  },
};

export function readModelContract(adapter: string, open: () => Promise<{ store: ReadModelStore; cleanup(): Promise<void> }>): void {
  describe(`ReadModelStore contract: ${adapter}`, () => {
    let store: ReadModelStore;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, cleanup } = await open()));
    after(async () => cleanup());

    it('upserts and gets many at once, in the order asked, leaving out ids without a document', async () => {
      await store.upsertMany('batch', []);
      await store.upsertMany(
        'batch',
        Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, n: i })),
      );
      await store.upsertMany('batch', [
        { id: 'b1', n: 10 },
        { id: 'b5', n: 5 },
      ]);
      assert.deepEqual(await store.getMany('batch', ['b5', 'nope', 'b1', 'b0']), [
        { id: 'b5', n: 5 },
        { id: 'b1', n: 10 },
        { id: 'b0', n: 0 },
      ]);
      assert.deepEqual(await store.getMany('batch', []), []);
      const many = Array.from({ length: 1200 }, (_, i) => `m${i}`);
      await store.upsertMany(
        'batch',
        many.map((id, n) => ({ id, n })),
      );
      assert.equal((await store.getMany('batch', many)).length, 1200);
    });

    it('upserts, gets, and finds with filters, order and page tokens', async () => {
      const rows: Row[] = Array.from({ length: 23 }, (_, i) => ({
        id: `r${String(i).padStart(2, '0')}`,
        tenant: i % 2 ? 'a' : 'b',
        status: ['open', 'pending', 'resolved'][i % 3]!,
        at: `2026-01-01T00:00:${String(i % 7).padStart(2, '0')}Z`,
        n: i,
      }));
      for (const r of rows) await store.upsert('things', r);
      await store.upsert('things', { ...rows[0]!, status: 'resolved' });
      assert.equal((await store.get<Row>('things', 'r00'))?.status, 'resolved');
      assert.equal(await store.get('things', 'nope'), null);

      const expected = rows
        .map((r) => (r.id === 'r00' ? { ...r, status: 'resolved' } : r))
        .filter((r) => r.tenant === 'a' && ['open', 'pending'].includes(r.status))
        .sort((x, y) => (x.at === y.at ? x.id.localeCompare(y.id) : y.at.localeCompare(x.at)));
      const seen: Row[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await store.find<Row>('things', {
          where: { tenant: 'a', status: ['open', 'pending'] },
          orderBy: { field: 'at', direction: 'desc' },
          limit: 3,
          ...(pageToken ? { pageToken } : {}),
        });
        seen.push(...page.documents);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      assert.deepEqual(
        seen.map((r) => r.id),
        expected.map((r) => r.id),
      );
      assert.equal(pages, Math.ceil(expected.length / 3));
      const ascending = await store.find<Row>('things', { where: { n: 4 }, orderBy: { field: 'n', direction: 'asc' }, limit: 10 });
      assert.deepEqual(
        ascending.documents.map((r) => r.id),
        ['r04'],
      );
      await assert.rejects(store.find('things', { orderBy: { field: 'at', direction: 'asc' }, limit: 1, pageToken: 'garbage!' }), /invalid page token/);
      await store.drop('things');
      assert.equal(await store.get('things', 'r01'), null);
    });

    it('deletes one document, and deleting a missing one changes nothing', async () => {
      await store.upsert('gone', { id: 'a', n: 1 });
      await store.upsert('gone', { id: 'b', n: 2 });
      await store.delete('gone', 'a');
      await store.delete('gone', 'a');
      await store.delete('gone', 'never-there');
      assert.equal(await store.get('gone', 'a'), null);
      assert.deepEqual(
        (await store.find('gone', { orderBy: { field: 'n', direction: 'asc' }, limit: 10 })).documents.map((d) => d.id),
        ['b'],
      );
      await store.drop('gone');
    });

    it('projects the log with checkpoints, idempotently, and rebuilds beside the live tables while they serve', async () => {
      const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
      const registry = new Registry();
      const lagOf = async () => (await registry.getSingleMetric('parley_projection_lag_seconds')?.get())?.values[0]?.value ?? null;
      const seen: (number | null)[] = [];
      // Notes the lag as each event is applied: between pages it is the age of the last one applied.
      const noting: Projection = {
        ...counting,
        handle: async (event, s, tables) => {
          seen.push(await lagOf());
          return counting.handle(event, s, tables);
        },
      };
      const runner = new ProjectionRunner({ log, store, projection: noting, registry, batchSize: 4 });
      for (let s = 0; s < 5; s++)
        await log.append(
          `conversation-${s}`,
          [1, 2, 3].map((i) => ({ type: 'test.noted', tenantId: 't', data: { i } })),
          'no_stream',
        );
      assert.equal(runner.caughtUp, false, 'not ready before it has read the log');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await runner.catchUp(), 15);
      assert.equal(runner.caughtUp, true);
      assert.ok(
        seen.slice(4).every((lag) => lag !== null && lag >= 0.1),
        `behind, the lag is the age of the events applied: ${seen.join(',')}`,
      );
      assert.equal(await lagOf(), 0, 'at the head of the log, no lag');
      assert.equal(await runner.catchUp(), 0, 'nothing new');
      const live = await runner.table('streams');
      assert.equal((await store.get<ReadDocument & { count: number }>(live, 'conversation-3'))?.count, 3);

      const during: number[] = [];
      const rebuilt = await runner.rebuild(async () => {
        // Readers keep reading the live generation while the next one is built.
        during.push((await store.get<ReadDocument & { count: number }>(live, 'conversation-3'))?.count ?? -1);
      });
      assert.ok(during.length > 0 && during.every((c) => c === 3), `the live table answered ${during.join(',')} during the rebuild`);
      assert.equal(rebuilt.generation, 2);
      assert.equal(rebuilt.applied, 15);
      const next = await runner.table('streams');
      assert.notEqual(next, live);
      assert.equal((await store.get<ReadDocument & { count: number }>(next, 'conversation-3'))?.count, 3, 'the rebuild gives the same answers');
      assert.notEqual(await store.get(live, 'conversation-3'), null, 'the replaced generation stays for readers still on it');
      await runner.rebuild();
      assert.equal(await store.get(live, 'conversation-3'), null, 'and is dropped by the next rebuild');
      const current = await runner.table('streams');
      await log.append('conversation-3', [{ type: 'test.noted', tenantId: 't', data: {} }], 3);
      await runner.catchUp();
      assert.equal((await store.get<ReadDocument & { count: number }>(current, 'conversation-3'))?.count, 4, 'the live runner follows the new generation');
      await log.close();
    });
  });
}
