import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { CHANNEL_MESSAGES, CHANNEL_TOPICS, EVENT_CONTRACTS } from '@parley/contracts';
import { ASYNCAPI_FILE, committedSchemas, renderedSchemas } from './index';

interface AsyncApi {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  components: { messages: Record<string, { name: string; payload: { $ref: string } }> };
}

describe('published contracts', () => {
  it('the committed JSON Schemas are what the code validates with (run `npm run schemas:write` after a change)', () => {
    assert.deepEqual(committedSchemas(), renderedSchemas());
  });

  it('the AsyncAPI document describes every topic and every message, with schemas that exist', () => {
    const doc = YAML.parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as AsyncApi;
    assert.equal(doc.asyncapi, '3.0.0');
    const addresses = Object.values(doc.channels).map((c) => c.address);
    for (const topic of [CHANNEL_TOPICS.inbound, CHANNEL_TOPICS.outbound('sms'), CHANNEL_TOPICS.outbound('email'), CHANNEL_TOPICS.outbound('custom'), 'parley.conversation.events', 'parley.customer.events', 'parley.identity.events']) {
      assert.ok(addresses.includes(topic), `topic ${topic}`);
    }
    const named = new Map(Object.values(doc.components.messages).map((m) => [m.name, m]));
    for (const c of [...EVENT_CONTRACTS.values(), ...CHANNEL_MESSAGES]) {
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
