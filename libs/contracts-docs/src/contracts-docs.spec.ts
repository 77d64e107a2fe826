import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from '@jest/globals';
import Ajv from 'ajv';
import YAML from 'yaml';
import {
  CHANNEL_MESSAGES,
  CHANNEL_TOPICS,
  CUSTOMER_CONTEXT_MESSAGES,
  CUSTOMER_CONTEXT_TOPICS,
  EVENT_CONTRACTS,
  INGRESS_MESSAGES,
  STREAM_CATEGORIES,
  eventsTopic,
} from '@parley/contracts';
import { deadLetterTopicFor } from '@parley/message-bus';
import { ASYNCAPI_FILE, committedSchemas, renderedSchemas } from './index';

interface AsyncApi {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: {
    messages: Record<string, { name: string; payload: { $ref: string }; bindings?: { kafka?: { key?: unknown } }; traits?: { $ref: string }[] }>;
    messageTraits: Record<string, unknown>;
  };
}

describe('published contracts', () => {
  it('the committed JSON Schemas are what the code validates with (run `npm run schemas:write` after a change)', () => {
    assert.deepEqual(committedSchemas(), renderedSchemas());
  });

  it("the AsyncAPI document is valid AsyncAPI 3.0 (the specification's own JSON Schema)", () => {
    const doc = YAML.parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as unknown;
    const asyncApi3 = JSON.parse(readFileSync(require.resolve('@asyncapi/specs/schemas/3.0.0-without-$id.json'), 'utf8')) as object;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(asyncApi3);
    assert.equal(validate(doc), true, JSON.stringify(validate.errors?.slice(0, 5)));
  });

  it('the AsyncAPI document describes every topic and every message, with schemas that exist', () => {
    const doc = YAML.parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as AsyncApi;
    assert.equal(doc.asyncapi, '3.0.0');
    const addresses = Object.values(doc.channels).map((c) => c.address);
    // Every topic Parley creates: the channel topics, one per stream category, routing's work queue and the dead letters of what is consumed.
    const consumed = [CHANNEL_TOPICS.inbound, CUSTOMER_CONTEXT_TOPICS.context, 'parley.routing.work', eventsTopic('conversation'), eventsTopic('agent')];
    const topics = [
      CHANNEL_TOPICS.outbound('sms'),
      CHANNEL_TOPICS.outbound('email'),
      CHANNEL_TOPICS.outbound('custom'),
      ...STREAM_CATEGORIES.map(eventsTopic),
      ...consumed,
      ...consumed.map(deadLetterTopicFor),
    ];
    assert.deepEqual(
      topics.filter((t) => !addresses.includes(t)),
      [],
      'topics missing from the AsyncAPI document',
    );
    // Keys are part of the contract: every message says what its Kafka key is, itself or through a trait.
    const keyed = (m: { bindings?: { kafka?: { key?: unknown } }; traits?: { $ref: string }[] }) =>
      m.bindings?.kafka?.key !== undefined ||
      (m.traits ?? []).some(
        (t) =>
          (doc.components.messageTraits[t.$ref.split('/').at(-1)!] as { bindings?: { kafka?: { key?: unknown } } } | undefined)?.bindings?.kafka?.key !==
          undefined,
      );
    assert.deepEqual(
      Object.entries(doc.components.messages)
        .filter(([, m]) => !keyed(m))
        .map(([name]) => name),
      [],
      'messages without a Kafka key binding',
    );
    for (const channel of Object.values(doc.channels))
      assert.equal(
        (channel as { bindings?: { kafka?: { topic?: string } } }).bindings?.kafka?.topic,
        channel.address,
        `${channel.address}: Kafka channel binding`,
      );
    const named = new Map(Object.values(doc.components.messages).map((m) => [m.name, m]));
    for (const c of [...EVENT_CONTRACTS.values(), ...CHANNEL_MESSAGES, ...INGRESS_MESSAGES, ...CUSTOMER_CONTEXT_MESSAGES]) {
      const message = named.get(c.type);
      assert.ok(message, `message ${c.type}`);
      assert.equal(message.payload.$ref, `../schemas/${c.type}.v${c.version}.json`);
      assert.ok(existsSync(join(dirname(ASYNCAPI_FILE), message.payload.$ref)), `schema of ${c.type}`);
    }
    for (const channel of Object.values(doc.channels)) {
      for (const ref of Object.values(channel.messages)) assert.ok(doc.components.messages[ref.$ref.split('/').at(-1)!], `${channel.address}: ${ref.$ref}`);
    }
  });
});
