import { randomBytes } from 'node:crypto';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { context, createContextKey, isSpanContextValid, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context } from '@opentelemetry/api';

/**
 * W3C trace context through Parley, on the OpenTelemetry API: a gRPC call or a
 * Kafka message continues the trace its `traceparent` names (gRPC metadata, Kafka
 * headers), or starts one; events appended meanwhile keep it in their metadata,
 * so the relay's Kafka messages and their consumers continue it; every log line
 * written inside carries trace_id and span_id. Without an OpenTelemetry SDK the
 * spans are not recorded, but their ids are still made and passed on; register
 * an SDK (NodeSDK) in the process and the same spans are exported.
 */
let installed = false;
export function installTracing(): void {
  if (installed) return;
  installed = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

const LOG_FIELDS = createContextKey('parley.log-fields');

/** Runs `fn` in a span that continues `parent` (or starts a trace), with these log fields. */
export function inSpan<T>(name: string, kind: 'server' | 'consumer' | 'internal', parent: Context, fn: () => T): T {
  installTracing();
  const span = trace
    .getTracer('parley')
    .startSpan(name, { kind: kind === 'server' ? SpanKind.SERVER : kind === 'consumer' ? SpanKind.CONSUMER : SpanKind.INTERNAL }, parent);
  let active = trace.setSpan(parent, span);
  if (!span.isRecording()) {
    // No SDK: make the ids ourselves, so that logs and the next hop still carry a trace.
    const from = trace.getSpanContext(parent);
    const known = from !== undefined && isSpanContextValid(from);
    active = trace.setSpan(
      parent,
      trace.wrapSpanContext({ traceId: known ? from.traceId : hex(16), spanId: hex(8), traceFlags: known ? from.traceFlags : TraceFlags.NONE }),
    );
  }
  const result = context.with(active, fn);
  if (result instanceof Promise) return result.finally(() => span.end()) as T;
  span.end();
  return result;
}

/** The context a carrier's `traceparent`/`tracestate` name (gRPC metadata, Kafka headers, event metadata). */
export function contextFrom(carrier: Record<string, unknown>): Context {
  installTracing();
  const headers: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate']) {
    const value = carrier[key];
    const text = Array.isArray(value) ? value[0] : value;
    if (typeof text === 'string' || Buffer.isBuffer(text)) headers[key] = String(text);
  }
  return propagation.extract(ROOT_CONTEXT, headers);
}

/** `traceparent` (and `tracestate`) of the active span, to pass on; empty outside one. */
export function traceHeaders(): Record<string, string> {
  if (!installed) return {};
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** Adds fields (tenant, correlation id) to every log line written inside `fn`. */
export function withLogFields<T>(fields: Record<string, string>, fn: () => T): T {
  if (!installed) installTracing();
  const current = (context.active().getValue(LOG_FIELDS) as Record<string, string> | undefined) ?? {};
  return context.with(context.active().setValue(LOG_FIELDS, { ...current, ...fields }), fn);
}

/** For pino's mixin: trace_id, span_id and the log fields of the active context. */
export function activeLogFields(): Record<string, string> {
  if (!installed) return {};
  const active = context.active();
  const span = trace.getSpanContext(active);
  const fields = (active.getValue(LOG_FIELDS) as Record<string, string> | undefined) ?? {};
  return span && isSpanContextValid(span) ? { ...fields, trace_id: span.traceId, span_id: span.spanId } : fields;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}
