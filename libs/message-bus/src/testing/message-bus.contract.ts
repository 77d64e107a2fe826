import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { contextFrom, inSpan, traceHeaders, type Registry } from '@parley/observability';
import { DEAD_LETTER_HEADERS, type IncomingMessage, type MessageBus, type Subscription } from '../message-bus.port';

export interface MessageBusUnderTest {
  readonly bus: MessageBus;
  /** A second bus on the same broker: another process, as far as the bus can tell. */
  openAnother(): Promise<MessageBus>;
  cleanup(): Promise<void>;
  /** Longer than the group's session timeout: a handler that slow must keep its membership. */
  readonly slowerThanSessionMs: number;
  /** Where the bus reports its metrics. */
  readonly registry: Registry;
}

let counter = 0;
function unique(name: string): string {
  return `${name}.${process.pid}.${Date.now().toString(36)}.${counter++}`;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const text = (m: IncomingMessage) => m.value?.toString('utf8') ?? '';

/**
 * The behaviour every MessageBus adapter must have; each adapter's spec calls it.
 */
export function messageBusContract(adapter: string, open: () => Promise<MessageBusUnderTest>): void {
  describe(`MessageBus contract: ${adapter}`, () => {
    let subject: MessageBusUnderTest;
    let bus: MessageBus;
    const subscriptions: Subscription[] = [];
    const subscribe: MessageBus['subscribe'] = async (options) => {
      const s = await bus.subscribe(options);
      subscriptions.push(s);
      return s;
    };
    before(async () => {
      subject = await open();
      bus = subject.bus;
    });
    after(async () => {
      for (const s of subscriptions) await s.close().catch(() => undefined);
      await subject.cleanup();
    });

    it('delivers key, value and headers as published', async () => {
      const topic = unique('contract.roundtrip');
      const got: IncomingMessage[] = [];
      await subscribe({ groupId: unique('g'), topics: [topic], handler: async (m) => void got.push(m) });
      await bus.publish(topic, [{ key: 'conversation-1', value: '{"hello":"wörld"}', headers: { ce_id: 'abc', ce_type: 'test.happened' } }]);
      await waitUntil('the message', () => got.length === 1);
      assert.equal(got[0]!.topic, topic);
      assert.equal(got[0]!.key, 'conversation-1');
      assert.equal(text(got[0]!), '{"hello":"wörld"}');
      assert.equal(got[0]!.headers['ce_id'], 'abc');
      assert.equal(got[0]!.headers['ce_type'], 'test.happened');
    });

    it('carries the W3C trace context: a message published in a span is handled in a child span of the same trace', async () => {
      const topic = unique('contract.trace');
      const seen: { header: string | undefined; active: string | undefined }[] = [];
      await subscribe({
        groupId: unique('g'),
        topics: [topic],
        handler: async (m) => void seen.push({ header: m.headers['traceparent'], active: traceHeaders()['traceparent'] }),
      });
      const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      await inSpan('publish', 'internal', contextFrom({ traceparent: parent }), () => bus.publish(topic, [{ key: 'k', value: 'traced' }]));
      await waitUntil('the traced message', () => seen.length === 1);
      const published = seen[0]!.header!.split('-');
      assert.equal(published[1], '0af7651916cd43dd8448eb211c80319c', "the header names the publisher's trace");
      const handling = seen[0]!.active!.split('-');
      assert.equal(handling[1], '0af7651916cd43dd8448eb211c80319c', 'the handler runs in the same trace');
      assert.notEqual(handling[2], published[2], 'in a span of its own');
    });

    it('starts a subscription where asked (the end of its topics taken earlier): only what is published after is delivered', async () => {
      const topic = unique('contract.at-end');
      await bus.ensureTopics([{ name: topic, partitions: 3 }]);
      await bus.publish(
        topic,
        ['a', 'b', 'c'].map((k) => ({ key: k, value: `before-${k}` })),
      );
      const end = await bus.endOffsets([topic]);
      assert.equal(end[topic]!.length, 3);
      await bus.publish(
        topic,
        ['a', 'b', 'c'].map((k) => ({ key: k, value: `after-${k}` })),
      );
      const got: string[] = [];
      await subscribe({ groupId: unique('g'), topics: [topic], fromBeginning: true, startAt: end, handler: async (m) => void got.push(text(m)) });
      await waitUntil('the messages published after', () => got.length >= 3);
      await bus.publish(topic, [{ key: 'a', value: 'later' }]);
      await waitUntil('a later one', () => got.includes('later'));
      assert.deepEqual([...got].sort(), ['after-a', 'after-b', 'after-c', 'later']);
    });

    it('keeps the order of each key', async () => {
      const topic = unique('contract.order');
      const seen = new Map<string, number[]>();
      await subscribe({
        groupId: unique('g'),
        topics: [topic],
        handler: async (m) => {
          const list = seen.get(m.key!) ?? [];
          list.push(Number(text(m)));
          seen.set(m.key!, list);
        },
      });
      const messages = Array.from({ length: 300 }, (_, i) => ({ key: `stream-${i % 10}`, value: String(i) }));
      for (let i = 0; i < messages.length; i += 50) await bus.publish(topic, messages.slice(i, i + 50));
      await waitUntil('all 300', () => [...seen.values()].reduce((n, l) => n + l.length, 0) === 300);
      for (const [key, list] of seen)
        assert.deepEqual(
          list,
          [...list].sort((a, b) => a - b),
          `order of ${key}`,
        );
      assert.equal(seen.size, 10);
    });

    it("shares a group's work between its members, and gives every group everything", async () => {
      const topic = unique('contract.groups');
      const other = await subject.openAnother();
      try {
        const shared = unique('shared');
        const a: string[] = [];
        const b: string[] = [];
        const solo: string[] = [];
        await subscribe({ groupId: shared, topics: [topic], handler: async (m) => void a.push(text(m)) });
        const second = await other.subscribe({ groupId: shared, topics: [topic], handler: async (m) => void b.push(text(m)) });
        await subscribe({ groupId: unique('solo'), topics: [topic], handler: async (m) => void solo.push(text(m)) });
        // Probes on many keys until each member has taken some: the group has settled with both (no fixed wait).
        const isProbe = (v: string) => v.startsWith('probe-');
        let probes = 0;
        const deadline = Date.now() + 60_000;
        while (!(a.some(isProbe) && b.some(isProbe))) {
          if (Date.now() > deadline) throw new Error('timed out waiting for both members of the group to take work');
          await bus.publish(
            topic,
            Array.from({ length: 8 }, () => ({ key: `probe-${probes}`, value: `probe-${probes++}` })),
          );
          await waitUntil('the probes', () => [...a, ...b].filter(isProbe).length >= probes, 30_000);
        }
        const values = Array.from({ length: 60 }, (_, i) => String(i));
        await bus.publish(
          topic,
          values.map((v, i) => ({ key: `k${i}`, value: v })),
        );
        const inGroup = () => [...a, ...b].filter((v) => !isProbe(v));
        await waitUntil('the shared group to take all 60', () => inGroup().length >= 60);
        await waitUntil('the solo group to take all 60', () => solo.filter((v) => !isProbe(v)).length >= 60);
        assert.ok(a.some((v) => !isProbe(v)) || b.some((v) => !isProbe(v)));
        assert.deepEqual(inGroup().sort(), [...values].sort(), 'each message once within the group');
        assert.deepEqual(solo.filter((v) => !isProbe(v)).sort(), [...values].sort());
        await second.close();
      } finally {
        await other.close();
      }
    });

    it('retries a failing handler and commits only after it succeeds', async () => {
      const topic = unique('contract.retry');
      const attempts: string[] = [];
      const done: string[] = [];
      await subscribe({
        groupId: unique('g'),
        topics: [topic],
        retry: { maxAttempts: 4, initialBackoffMs: 20, maxBackoffMs: 50 },
        handler: async (m, ctx) => {
          attempts.push(`${text(m)}#${ctx.attempt}`);
          if (text(m) === 'flaky' && ctx.attempt < 3) throw new Error('not yet');
          done.push(text(m));
        },
      });
      await bus.publish(topic, [
        { key: 'same', value: 'flaky' },
        { key: 'same', value: 'after' },
      ]);
      await waitUntil('both handled', () => done.length === 2);
      assert.deepEqual(attempts, ['flaky#1', 'flaky#2', 'flaky#3', 'after#1']);
      assert.deepEqual(done, ['flaky', 'after']);
    });

    it('sends a poison message to the dead-letter topic with the error and its headers, and carries on', async () => {
      const topic = unique('contract.poison');
      const group = unique('g');
      const handled: string[] = [];
      const dead: IncomingMessage[] = [];
      let attemptsOnMalformed = 0;
      await subscribe({
        groupId: group,
        topics: [topic],
        retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 },
        handler: async (m) => {
          if (text(m) === 'poison') throw Object.assign(new TypeError('cannot digest'), { code: 'BAD_FOOD' });
          if (text(m) === 'malformed') {
            attemptsOnMalformed++;
            throw Object.assign(new Error('breaks its schema'), { retryable: false });
          }
          handled.push(text(m));
        },
      });
      await subscribe({ groupId: unique('dlq-reader'), topics: [`${topic}.dead-letter`], handler: async (m) => void dead.push(m) });
      await bus.publish(topic, [
        { key: 'k', value: 'before' },
        { key: 'k', value: 'poison', headers: { ce_id: 'p-1', traceparent: '00-abc-def-01' } },
        { key: 'k', value: 'malformed' },
        { key: 'k', value: 'after' },
      ]);
      await waitUntil('the consumer to carry on', () => handled.length === 2);
      await waitUntil('the dead letters', () => dead.length === 2);
      assert.deepEqual(handled, ['before', 'after']);
      assert.equal(attemptsOnMalformed, 1, 'a permanent error is not retried');
      assert.equal(dead[1]!.headers[DEAD_LETTER_HEADERS.attempts], '1');
      const letter = dead[0]!;
      assert.equal(text(letter), 'poison');
      assert.equal(letter.key, 'k');
      assert.equal(letter.headers['ce_id'], 'p-1');
      assert.equal(letter.headers['traceparent'], '00-abc-def-01');
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.error], 'TypeError: cannot digest');
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.errorCode], 'BAD_FOOD');
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.attempts], '3');
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.topic], topic);
      assert.equal(letter.headers[DEAD_LETTER_HEADERS.groupId], group);
      assert.match(letter.headers[DEAD_LETTER_HEADERS.offset] ?? '', /^\d+$/);
    });

    it("passes over a message a group of one instance's own cannot handle: counted under the group's label, no dead letter", async () => {
      const topic = unique('contract.own');
      const label = unique('own-model');
      const handled: string[] = [];
      const dead: string[] = [];
      await subscribe({
        groupId: `${label}-instance-a`,
        perInstance: { label },
        topics: [topic],
        retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 },
        handler: async (m) => {
          if (text(m) === 'poison') throw new TypeError('cannot digest');
          handled.push(text(m));
        },
      });
      await subscribe({ groupId: unique('dlq-reader'), topics: [`${topic}.dead-letter`], handler: async (m) => void dead.push(text(m)) });
      await bus.publish(topic, [
        { key: 'k', value: 'before' },
        { key: 'k', value: 'poison' },
        { key: 'k', value: 'after' },
      ]);
      await waitUntil('the consumer to carry on', () => handled.length === 2);
      assert.deepEqual(handled, ['before', 'after']);
      // A dead letter would have been written before 'after' was handled: behind this marker, nothing else.
      await bus.publish(`${topic}.dead-letter`, [{ key: 'k', value: 'marker' }]);
      await waitUntil('the marker', () => dead.includes('marker'));
      assert.deepEqual(dead, ['marker']);
      const skipped = (await subject.registry.getSingleMetric('parley_bus_skipped_messages_total')!.get()).values;
      assert.deepEqual(
        skipped.filter((v) => v.labels['topic'] === topic).map((v) => [v.labels['group'], v.value]),
        [[label, 1]],
      );
    });

    it('keeps a handler slower than the session timeout in its group: every message handled once', async () => {
      const topic = unique('contract.slow');
      const handled: string[] = [];
      await subscribe({
        groupId: unique('g'),
        topics: [topic],
        handler: async (m) => {
          if (text(m) === 'slow') await new Promise((r) => setTimeout(r, subject.slowerThanSessionMs));
          handled.push(text(m));
        },
      });
      await bus.publish(topic, [
        { key: 'k', value: 'slow' },
        { key: 'k', value: 'next' },
      ]);
      await waitUntil('both', () => handled.length >= 2, subject.slowerThanSessionMs + 60_000);
      // A member kicked out for silence would have its work redelivered: 'slow' again, before
      // anything published after it on the same key. So once 'last' is in, nothing else is coming.
      await bus.publish(topic, [{ key: 'k', value: 'last' }]);
      await waitUntil('the last', () => handled.includes('last'));
      assert.deepEqual(handled, ['slow', 'next', 'last']);
    });

    it('on graceful shutdown commits what is done; the next member resumes with no loss and no repeat', async () => {
      const topic = unique('contract.shutdown');
      const group = unique('g');
      const first: string[] = [];
      const subscription = await bus.subscribe({
        groupId: group,
        topics: [topic],
        handler: async (m) => {
          await new Promise((r) => setTimeout(r, 20));
          first.push(text(m));
        },
      });
      const values = Array.from({ length: 40 }, (_, i) => String(i));
      await bus.publish(
        topic,
        values.map((v) => ({ key: 'one-key', value: v })),
      );
      await waitUntil('a few handled', () => first.length >= 5);
      await subscription.close();
      const stoppedAt = first.length;
      const second: string[] = [];
      await subscribe({ groupId: group, topics: [topic], handler: async (m) => void second.push(text(m)) });
      await waitUntil('the rest', () => first.length + second.length >= 40);
      // Anything repeated would come before a message published after all of them on the same key.
      await bus.publish(topic, [{ key: 'one-key', value: 'last' }]);
      await waitUntil('the last', () => second.includes('last'));
      assert.equal(first.length, stoppedAt, 'nothing handled after close');
      assert.deepEqual([...first, ...second], [...values, 'last']);
    });
  });
}
