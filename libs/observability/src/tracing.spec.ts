import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from '@jest/globals';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { createLogger } from './logger';
import { contextFrom, inSpan, traceHeaders, withLogFields } from './tracing';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context (W3C, OpenTelemetry API)', () => {
  it('continues the trace a traceparent names, as a child span, and passes it on', async () => {
    const passed = await inSpan('call', 'server', contextFrom({ traceparent: PARENT }), async () => {
      await new Promise((r) => setTimeout(r, 1));
      return traceHeaders();
    });
    const [version, traceId, spanId, flags] = passed['traceparent']!.split('-');
    assert.equal(version, '00');
    assert.equal(traceId, '4bf92f3577b34da6a3ce929d0e0e4736', 'the same trace');
    assert.notEqual(spanId, '00f067aa0ba902b7', 'a span of its own');
    assert.match(spanId!, /^[0-9a-f]{16}$/);
    assert.equal(flags, '01', 'the sampling decision is kept');
  });

  it('starts a trace when none comes in, and has none outside a span', () => {
    const a = inSpan('a', 'consumer', ROOT_CONTEXT, () => traceHeaders()['traceparent']);
    const b = inSpan('b', 'consumer', contextFrom({ traceparent: 'garbage' }), () => traceHeaders()['traceparent']);
    assert.match(a!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.notEqual(a!.split('-')[1], b!.split('-')[1], 'two traces');
    assert.deepEqual(traceHeaders(), {});
  });

  it('writes trace_id, span_id and the log fields into every log line inside, and nothing outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const capture = createLogger(
      'test',
      { level: 'info' },
      new Writable({
        write: (chunk: Buffer, _e, done) => {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );
    await inSpan('call', 'server', contextFrom({ traceparent: PARENT }), () =>
      withLogFields({ tenant_id: 'brand-a' }, async () => {
        await Promise.resolve();
        capture.info('inside');
      }),
    );
    capture.info('outside');
    assert.equal(lines[0]!['trace_id'], '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(String(lines[0]!['span_id']), /^[0-9a-f]{16}$/);
    assert.equal(lines[0]!['tenant_id'], 'brand-a');
    assert.equal(lines[1]!['trace_id'], undefined);
    assert.equal(lines[1]!['tenant_id'], undefined);
  });
});
