import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { InvalidArgumentError } from '@parley/errors';
import { newEventId, type NewEvent, type RecordedEvent } from '../event-envelope';
import { EventIdConflictError, WrongExpectedVersionError } from '../event-log.errors';
import type { EventLog } from '../event-log.port';

export interface EventLogUnderTest {
  readonly log: EventLog;
  /** A second, independent log on the same store: another process, as far as the log can tell. */
  openAnother(): Promise<EventLog>;
  cleanup(): Promise<void>;
}

let counter = 0;
function streamId(name: string): string {
  return `${name}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

function event(type = 'test.happened', data: unknown = { n: 1 }, extra: Partial<NewEvent> = {}): NewEvent {
  return { type, tenantId: 'tenant-a', data, ...extra };
}

/**
 * The behaviour every EventLog adapter must have. Each adapter's spec calls this
 * with a factory for a fresh, empty store.
 */
export function eventLogContract(adapter: string, open: () => Promise<EventLogUnderTest>): void {
  describe(`EventLog contract: ${adapter}`, () => {
    let subject: EventLogUnderTest;
    let log: EventLog;
    before(async () => {
      subject = await open();
      log = subject.log;
    });
    after(async () => {
      await subject.cleanup();
    });

    describe('append and read a stream', () => {
      it('numbers a new stream from 1 without gaps and reads it back as written', async () => {
        const s = streamId('conversation');
        const first = await log.append(s, [event('test.opened', { a: 1 }), event('test.noted', { b: 'two' })], 'no_stream');
        assert.equal(first.nextExpectedVersion, 2);
        assert.deepEqual(
          first.events.map((e) => e.streamVersion),
          [1, 2],
        );
        const second = await log.append(s, [event('test.closed', { c: [3] })], 2);
        assert.equal(second.nextExpectedVersion, 3);
        const read = await log.readStream(s);
        assert.deepEqual(
          read.map((e) => [e.streamVersion, e.type, e.data]),
          [
            [1, 'test.opened', { a: 1 }],
            [2, 'test.noted', { b: 'two' }],
            [3, 'test.closed', { c: [3] }],
          ],
        );
        assert.equal(await log.streamVersion(s), 3);
        assert.equal(await log.streamVersion(streamId('absent')), 0);
      });

      it('fills in the envelope: sortable ids, tenant, times, correlation and causation', async () => {
        const s = streamId('conversation');
        const id = newEventId();
        const [recorded] = (
          await log.append(
            s,
            [
              event(
                'test.opened',
                {},
                { id, correlationId: 'corr-1', causationId: 'cause-1', occurredAt: '2026-03-29T00:59:59.123+01:00', metadata: { traceparent: 'x' } },
              ),
            ],
            'no_stream',
          )
        ).events;
        assert.equal(recorded!.id, id);
        assert.equal(recorded!.tenantId, 'tenant-a');
        assert.equal(recorded!.schemaVersion, 1);
        assert.equal(recorded!.occurredAt, '2026-03-28T23:59:59.123Z');
        assert.equal(recorded!.correlationId, 'corr-1');
        assert.equal(recorded!.causationId, 'cause-1');
        assert.deepEqual(recorded!.metadata, { traceparent: 'x' });
        assert.ok(Date.parse(recorded!.recordedAt) > Date.now() - 60_000);
        const [read] = await log.readStream(s);
        assert.deepEqual(read, recorded);
      });

      it('keeps payloads exact: unicode, nesting, numbers, and keys with $ and dots', async () => {
        const s = streamId('conversation');
        const data = { text: 'Grüße 👋 — «ok»', nested: { 'a.b': 1, $weird: [0.1, -0, 1e21, null, true] }, empty: {}, list: [] };
        await log.append(s, [event('test.noted', data)], 'no_stream');
        const [read] = await log.readStream(s);
        assert.deepEqual(read!.data, JSON.parse(JSON.stringify(data)));
      });

      it('reads forward from a version, backward from the end, and within a limit', async () => {
        const s = streamId('conversation');
        await log.append(
          s,
          Array.from({ length: 10 }, (_, i) => event('test.noted', { i })),
          'no_stream',
        );
        assert.deepEqual(
          (await log.readStream(s, { from: 4, limit: 3 })).map((e) => e.streamVersion),
          [4, 5, 6],
        );
        assert.deepEqual(
          (await log.readStream(s, { direction: 'backward', limit: 3 })).map((e) => e.streamVersion),
          [10, 9, 8],
        );
        assert.deepEqual(
          (await log.readStream(s, { direction: 'backward', from: 2 })).map((e) => e.streamVersion),
          [2, 1],
        );
        assert.deepEqual(await log.readStream(s, { from: 11 }), []);
        assert.deepEqual(await log.readStream(streamId('absent')), []);
      });
    });

    describe('expected versions', () => {
      it('rejects a wrong exact version with the stream, the expected and the actual version', async () => {
        const s = streamId('conversation');
        await log.append(s, [event(), event()], 'no_stream');
        await assert.rejects(log.append(s, [event()], 1), (error: unknown) => {
          assert.ok(error instanceof WrongExpectedVersionError);
          assert.equal(error.code, 'WRONG_EXPECTED_VERSION');
          assert.equal(error.streamId, s);
          assert.equal(error.expected, 1);
          assert.equal(error.actual, 2);
          return true;
        });
        assert.equal(await log.streamVersion(s), 2);
      });

      it('checks no_stream, stream_exists and any', async () => {
        const s = streamId('conversation');
        await assert.rejects(log.append(s, [event()], 'stream_exists'), (e: unknown) => e instanceof WrongExpectedVersionError && e.actual === 0);
        await assert.rejects(log.append(s, [event()], 5), (e: unknown) => e instanceof WrongExpectedVersionError && e.actual === 0);
        await log.append(s, [event()], 'no_stream');
        await assert.rejects(log.append(s, [event()], 'no_stream'), (e: unknown) => e instanceof WrongExpectedVersionError && e.actual === 1);
        await log.append(s, [event()], 'stream_exists');
        const last = await log.append(s, [event()], 'any');
        assert.equal(last.nextExpectedVersion, 3);
        assert.equal((await log.append(streamId('conversation'), [event()], 'any')).nextExpectedVersion, 1);
      });
    });

    describe('idempotent appends', () => {
      it('treats a retry of a stored append as success, without storing it twice', async () => {
        const s = streamId('conversation');
        const events = [event('test.opened', {}, { id: newEventId() }), event('test.noted', {}, { id: newEventId() })];
        const first = await log.append(s, events, 'no_stream');
        const retry = await log.append(s, events, 'no_stream');
        assert.equal(first.alreadyStored, false);
        assert.equal(retry.alreadyStored, true);
        assert.equal(retry.nextExpectedVersion, 2);
        assert.deepEqual(
          retry.events.map((e) => e.id),
          events.map((e) => e.id),
        );
        const again = await log.append(s, events, 'any');
        assert.equal(again.alreadyStored, true);
        const exact = await log.append(s, events, 0);
        assert.equal(exact.alreadyStored, true);
        assert.equal((await log.readStream(s)).length, 2);
      });

      it('refuses event ids that are stored as something else', async () => {
        const s = streamId('conversation');
        const id = newEventId();
        await log.append(s, [event('test.opened', {}, { id })], 'no_stream');
        await assert.rejects(
          log.append(streamId('other'), [event('test.opened', {}, { id })], 'any'),
          (e: unknown) => e instanceof EventIdConflictError && e.code === 'EVENT_ID_CONFLICT',
        );
        await assert.rejects(log.append(s, [event('test.noted', {}, { id: newEventId() }), event('test.opened', {}, { id })], 'any'), EventIdConflictError);
        assert.equal(await log.streamVersion(s), 1);
      });
    });

    describe('bad input', () => {
      const cases: [string, () => [string, NewEvent[]]][] = [
        ['an empty stream id', () => ['', [event()]]],
        ['a stream id with spaces', () => ['has space', [event()]]],
        ['no events', () => [streamId('conversation'), []]],
        ['an event type in capitals', () => [streamId('conversation'), [event('Not.Valid')]]],
        ['no tenant', () => [streamId('conversation'), [{ type: 'test.noted', data: {} } as unknown as NewEvent]]],
        ['data that is not JSON', () => [streamId('conversation'), [event('test.noted', { when: new Date() })]]],
        ['data holding NaN deep inside', () => [streamId('conversation'), [event('test.noted', { items: [{ score: Number.NaN }] })]]],
        ['data that is missing', () => [streamId('conversation'), [{ type: 'test.noted', tenantId: 'tenant-a' } as unknown as NewEvent]]],
        ['metadata holding undefined', () => [streamId('conversation'), [event('test.noted', {}, { metadata: { actor: undefined } })]]],
        ['an invalid event id', () => [streamId('conversation'), [event('test.noted', {}, { id: 'nope' })]]],
        ['two tenants in one append', () => [streamId('conversation'), [event(), event('test.noted', {}, { tenantId: 'tenant-b' })]]],
        ['an invalid occurred-at', () => [streamId('conversation'), [event('test.noted', {}, { occurredAt: 'yesterday' })]]],
      ];
      for (const [name, make] of cases) {
        it(`rejects ${name} with field violations and writes nothing`, async () => {
          const [s, events] = make();
          await assert.rejects(log.append(s, events, 'any'), (e: unknown) => {
            assert.ok(e instanceof InvalidArgumentError, String(e));
            assert.ok(e.violations.length > 0);
            return true;
          });
          if (s) assert.equal(await log.streamVersion(s).catch(() => 0), 0);
        });
      }
      it('names the field that is not JSON', async () => {
        await assert.rejects(
          log.append(streamId('conversation'), [event(), event('test.noted', { items: [{ ok: 1 }, { score: Number.POSITIVE_INFINITY }] })], 'any'),
          (e: unknown) => {
            assert.ok(e instanceof InvalidArgumentError);
            assert.deepEqual(
              e.violations.map((v) => v.field),
              ['events[1].data.items.1.score'],
            );
            return true;
          },
        );
      });
    });

    describe('the global order', () => {
      it('reads every event once, in an order that keeps each stream in order, resuming from checkpoints', async () => {
        const { checkpoint: start } = await drainAll(log, 0);
        const streams = Array.from({ length: 6 }, () => streamId('conversation'));
        await Promise.all(
          streams.map(async (s) => {
            let v = 0;
            for (let i = 0; i < 5; i++) v = (await log.append(s, [event('test.noted', { i }), event('test.noted', { i, j: 2 })], v)).nextExpectedVersion;
          }),
        );
        const pages: number[] = [];
        let checkpoint = start;
        const seen = [];
        for (;;) {
          const page = await log.readAll({ after: checkpoint, limit: 7 });
          if (page.events.length === 0) break;
          pages.push(page.events.length);
          seen.push(...page.events);
          assert.ok(page.checkpoint > checkpoint);
          checkpoint = page.checkpoint;
        }
        const mine = seen.filter((e) => streams.includes(e.streamId));
        assert.equal(mine.length, 60);
        assert.equal(new Set(mine.map((e) => e.id)).size, 60);
        const positions = seen.map((e) => e.position);
        assert.deepEqual(
          positions,
          [...positions].sort((a, b) => a - b),
        );
        for (const s of streams)
          assert.deepEqual(
            mine.filter((e) => e.streamId === s).map((e) => e.streamVersion),
            Array.from({ length: 10 }, (_, i) => i + 1),
          );
        assert.deepEqual((await log.readAll({ after: checkpoint })).events, []);
        assert.equal(await log.lastPosition(), positions.at(-1));
      });
    });

    describe('the global order, of some types only', () => {
      it('reads only the types and families asked for, in order, and moves its checkpoint past the others', async () => {
        const { checkpoint: start } = await drainAll(log, 0);
        const streams = Array.from({ length: 4 }, () => streamId('mixed'));
        const kinds = ['test.noted', 'other.thing', 'test.closed', 'other.more', 'testing.noted'];
        await Promise.all(
          streams.map(async (s, n) => {
            let v = 0;
            for (let i = 0; i < 5; i++)
              v = (await log.append(s, [event(kinds[(i + n) % kinds.length], { n, i }), event(kinds[(i + n + 1) % kinds.length], { n, i, j: 2 })], v))
                .nextExpectedVersion;
          }),
        );
        const everything = (await readTyped(log, start, undefined, 1000)).events.filter((e) => streams.includes(e.streamId));
        assert.equal(everything.length, 40);
        for (const [types, limit] of [
          [['test.noted'], 3],
          [['test.'], 4],
          [['test.closed', 'other.'], 1],
          [['testing.noted', 'test.noted'], 1000],
        ] as const) {
          const read = await readTyped(log, start, types, limit);
          const wanted = everything.filter((e) => types.some((t) => (t.endsWith('.') ? e.type.startsWith(t) : e.type === t)));
          assert.ok(wanted.length > 0 && wanted.length < 40);
          assert.deepEqual(
            read.events.filter((e) => streams.includes(e.streamId)).map((e) => e.id),
            wanted.map((e) => e.id),
            `types ${types.join(', ')}`,
          );
          assert.ok(read.events.every((e) => types.some((t) => (t.endsWith('.') ? e.type.startsWith(t) : e.type === t))));
          // 'test.' is a family: 'testing.noted' is not in it.
          if (types[0] === 'test.') assert.ok(!read.events.some((e) => e.type === 'testing.noted'));
          assert.equal(read.checkpoint, await log.lastPosition(), 'the checkpoint reaches the head, past every event of another type');
        }
        // Nothing of those types: an empty page, and the checkpoint still goes to the head.
        const none = await readTyped(log, start, ['absent.'], 10);
        assert.deepEqual(none.events, []);
        assert.equal(none.checkpoint, await log.lastPosition());
      });

      it('rejects types that are not event types or families, with the field that is wrong', async () => {
        for (const types of [[], ['Test.Noted'], ['test..x'], ['test noted'], [' ']]) {
          await assert.rejects(
            log.readAll({ after: 0, types }),
            (e: unknown) => e instanceof InvalidArgumentError && e.violations.some((v) => v.field.startsWith('types')),
            JSON.stringify(types),
          );
        }
      });
    });

    describe('snapshots', () => {
      it('loads the latest snapshot with its version and schema version', async () => {
        const s = streamId('conversation');
        assert.equal(await log.loadSnapshot(s), null);
        await log.saveSnapshot({ streamId: s, version: 3, schemaVersion: 1, state: { count: 3 }, takenAt: '2026-01-01T00:00:00.000Z' });
        await log.saveSnapshot({ streamId: s, version: 7, schemaVersion: 2, state: { count: 7, names: ['x'] }, takenAt: '2026-01-02T00:00:00.000Z' });
        await log.saveSnapshot({ streamId: s, version: 7, schemaVersion: 2, state: { count: 7, names: ['x'] }, takenAt: '2026-01-02T00:00:00.000Z' });
        assert.deepEqual(await log.loadSnapshot(s), {
          streamId: s,
          version: 7,
          schemaVersion: 2,
          state: { count: 7, names: ['x'] },
          takenAt: '2026-01-02T00:00:00.000Z',
        });
      });
    });

    describe('stream facts', () => {
      it('returns every stored value of the keys asked for, oldest version first, and a save repeated adds nothing', async () => {
        const s = streamId('conversation');
        const other = streamId('conversation');
        assert.equal((await log.loadFacts(s, ['message:a'])).size, 0);
        await log.saveFacts(s, 100, [
          { key: 'message:a', value: { direction: 'in', at: '2026-01-01T00:00:00.000Z' } },
          { key: 'channel-message:whatsapp:wamid.1', value: 'a' },
        ]);
        await log.saveFacts(s, 200, [{ key: 'message:a', value: { readAt: '2026-01-02T00:00:00.000Z' } }]);
        await log.saveFacts(s, 200, [{ key: 'message:a', value: { readAt: '2026-01-02T00:00:00.000Z' } }]);
        await log.saveFacts(other, 100, [{ key: 'message:a', value: { direction: 'out' } }]);
        await log.saveFacts(s, 300, []);
        const found = await log.loadFacts(s, ['message:a', 'channel-message:whatsapp:wamid.1', 'message:missing', 'message:a']);
        assert.deepEqual(
          [...found.entries()].sort(([a], [b]) => a.localeCompare(b)),
          [
            ['channel-message:whatsapp:wamid.1', ['a']],
            ['message:a', [{ direction: 'in', at: '2026-01-01T00:00:00.000Z' }, { readAt: '2026-01-02T00:00:00.000Z' }]],
          ],
        );
        assert.deepEqual([...(await log.loadFacts(other, ['message:a'])).values()], [[{ direction: 'out' }]]);
        assert.equal((await log.loadFacts(s, [])).size, 0);
      });
    });

    describe('the outbox', () => {
      it('lists appended events as unpublished, in order, until they are marked', async () => {
        await markAllPublished(log);
        const s = streamId('conversation');
        const { events } = await log.append(s, [event(), event(), event()], 'no_stream');
        const pending = await log.readUnpublished({ limit: 100 });
        assert.deepEqual(
          pending.map((e) => e.id),
          events.map((e) => e.id),
        );
        assert.deepEqual(await log.readUnpublished({ limit: 100, recordedBefore: new Date(Date.parse(events[0]!.recordedAt) - 1000) }), []);
        await log.markPublished([events[0]!]);
        assert.deepEqual(
          (await log.readUnpublished({ limit: 100 })).map((e) => e.id),
          events.slice(1).map((e) => e.id),
        );
        // Paging past events not yet published (a relay skipping a topic that fails).
        assert.deepEqual(
          (await log.readUnpublished({ limit: 100, afterPosition: events[1]!.position })).map((e) => e.id),
          [events[2]!.id],
        );
        assert.deepEqual(
          (await log.readUnpublished({ limit: 1, afterPosition: events[0]!.position })).map((e) => e.id),
          [events[1]!.id],
        );
        await log.markPublished(events);
        assert.deepEqual(await log.readUnpublished({ limit: 100 }), []);
      });

      // A relay marks up to 500 at a time; FerretDB never answered one update command of 100.
      it("marks a relay's whole batch of 500 events in one call", async () => {
        await markAllPublished(log);
        const streams = Array.from({ length: 50 }, () => streamId('outbox'));
        await Promise.all(
          streams.map((s) =>
            log.append(
              s,
              Array.from({ length: 10 }, (_, i) => event('test.noted', { i })),
              'no_stream',
            ),
          ),
        );
        const pending = await log.readUnpublished({ limit: 1000 });
        assert.equal(pending.length, 500);
        await log.markPublished(pending);
        assert.deepEqual(await log.readUnpublished({ limit: 1000 }), []);
      });
    });

    describe('concurrency', () => {
      it('takes 100 concurrent appenders to different streams with zero errors', async () => {
        const streams = Array.from({ length: 100 }, () => streamId('conversation'));
        const results = await Promise.allSettled(streams.map((s) => log.append(s, [event('test.opened')], 'no_stream')));
        const failed = results.filter((r) => r.status === 'rejected');
        assert.equal(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason));
        for (const s of streams.slice(0, 5)) assert.equal(await log.streamVersion(s), 1);
      });

      it('refuses an append expecting no stream when another log created it, though this one never read it, and writes the rest of the batch', async () => {
        const other = await subject.openAnother();
        const taken = [streamId('customer'), streamId('customer')];
        for (const s of taken) await other.append(s, [event('test.opened', { by: 'other' })], 'no_stream');
        const fresh = streamId('customer');
        // Submitted together: one group commit with a conflict in it.
        const [byNumber, byName, ok] = await Promise.allSettled([
          log.append(taken[0]!, [event('test.opened', { by: 'this' }), event('test.noted')], 0),
          log.append(taken[1]!, [event('test.opened', { by: 'this' })], 'no_stream'),
          log.append(fresh, [event('test.opened', { by: 'this' })], 0),
        ]);
        for (const refused of [byNumber, byName]) {
          assert.equal(refused.status, 'rejected');
          const error = (refused as PromiseRejectedResult).reason as unknown;
          assert.ok(error instanceof WrongExpectedVersionError, String(error));
          assert.equal(error.actual, 1);
        }
        assert.equal(ok.status, 'fulfilled');
        for (const s of taken)
          assert.deepEqual(
            (await other.readStream(s)).map((e) => e.data),
            [{ by: 'other' }],
          );
        assert.deepEqual(
          (await other.readStream(fresh)).map((e) => [e.streamVersion, e.data]),
          [[1, { by: 'this' }]],
        );
      });

      it('shows a reader that already read to the head what another log appended since', async () => {
        const other = await subject.openAnother();
        const s = streamId('conversation');
        await log.append(s, [event('test.opened')], 'no_stream');
        assert.equal((await log.readStream(s)).length, 1);
        assert.deepEqual(await log.readStream(s, { from: 2 }), []);
        assert.equal(await log.streamVersion(s), 1);
        await other.append(s, [event('test.noted', { by: 'other' })], 1);
        assert.deepEqual(
          (await log.readStream(s, { from: 2 })).map((e) => e.data),
          [{ by: 'other' }],
        );
        assert.equal(await log.streamVersion(s), 2);
        await assert.rejects(log.append(s, [event('test.noted')], 1), WrongExpectedVersionError);
        const third = await log.append(s, [event('test.closed')], 2);
        assert.equal(third.nextExpectedVersion, 3);
        assert.equal(await other.streamVersion(s), 3);
      });

      it('races writers on one stream from two logs: one winner per version, gap-free, nothing lost', async () => {
        const other = await subject.openAnother();
        try {
          const s = streamId('conversation');
          const writers = [log, other];
          let conflicts = 0;
          const written: string[] = [];
          // 12 writers, each reads the version, decides, and appends with that
          // expectation; a loser reloads and tries again, as a command handler does.
          await Promise.all(
            Array.from({ length: 12 }, async (_, w) => {
              const writer = writers[w % 2]!;
              const id = newEventId();
              for (;;) {
                const version = await writer.streamVersion(s);
                try {
                  await writer.append(s, [event('test.noted', { w }, { id }), event('test.noted', { w, second: true })], version);
                  written.push(id);
                  return;
                } catch (error) {
                  if (!(error instanceof WrongExpectedVersionError)) throw error;
                  conflicts++;
                }
              }
            }),
          );
          const stream = await log.readStream(s);
          assert.deepEqual(
            stream.map((e) => e.streamVersion),
            Array.from({ length: 24 }, (_, i) => i + 1),
          );
          for (let i = 0; i < 24; i += 2) {
            // Each append's two events stay together, first then second.
            const w = (stream[i]!.data as { w: number }).w;
            assert.deepEqual(stream[i]!.data, { w });
            assert.deepEqual(stream[i + 1]!.data, { w, second: true });
          }
          assert.equal(new Set(stream.filter((_, i) => i % 2 === 0).map((e) => e.id)).size, 12);
          assert.deepEqual(new Set(written), new Set(stream.filter((_, i) => i % 2 === 0).map((e) => e.id)));
          assert.ok(conflicts > 0, 'the race produced no conflict at all');
        } finally {
          await other.close();
        }
      });
    });
  });
}

/** Reads the global order to its end; returns where a reader would continue. */
export async function drainAll(log: EventLog, after: number): Promise<{ checkpoint: number }> {
  let checkpoint = after;
  for (;;) {
    const page = await log.readAll({ after: checkpoint, limit: 1000 });
    if (page.events.length === 0) return { checkpoint: page.checkpoint };
    checkpoint = page.checkpoint;
  }
}

async function markAllPublished(log: EventLog): Promise<void> {
  for (;;) {
    const pending = await log.readUnpublished({ limit: 1000 });
    if (pending.length === 0) return;
    await log.markPublished(pending);
  }
}

/** Follows the log from `after` until the checkpoint stops moving, as a follower of `types` does. */
async function readTyped(
  log: EventLog,
  after: number,
  types: readonly string[] | undefined,
  limit: number,
): Promise<{ events: RecordedEvent[]; checkpoint: number }> {
  const events: RecordedEvent[] = [];
  let checkpoint = after;
  for (;;) {
    const page = await log.readAll({ after: checkpoint, limit, ...(types ? { types } : {}) });
    assert.ok(page.checkpoint >= checkpoint, 'a checkpoint never goes back');
    events.push(...page.events);
    if (page.checkpoint === checkpoint) return { events, checkpoint };
    checkpoint = page.checkpoint;
  }
}
