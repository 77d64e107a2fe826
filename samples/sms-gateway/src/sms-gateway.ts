/**
 * A sample channel integration, as a third party would write it: it knows
 * Parley only by its Kafka topics and their schemas (libs/contracts/asyncapi).
 *
 * - Inbound: the SMS provider calls `POST /sms` with `{ "from": "+4915...",
 *   "text": "...", "id": "<provider message id>" }`; the gateway publishes a
 *   parley.channel.message-received on parley.channel.inbound.
 * - Outbound: it consumes parley.channel.outbound.sms, "sends" each reply (here:
 *   one JSON line on stdout, where a real gateway calls its provider), and
 *   publishes a parley.channel.receipt saying it was delivered.
 *
 * Settings: SMS_GATEWAY_BROKERS, SMS_GATEWAY_TENANT, SMS_GATEWAY_PORT.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env['SMS_GATEWAY_BROKERS'] ?? '127.0.0.1:9092').split(',');
const tenantId = process.env['SMS_GATEWAY_TENANT'] ?? 'demo';
const port = Number(process.env['SMS_GATEWAY_PORT'] ?? 8090);
const kafka = new Kafka({ clientId: 'sample-sms-gateway', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true });
const consumer = kafka.consumer({ groupId: 'sample-sms-gateway' });

/** A CloudEvent in Kafka's binary mode: attributes as ce_* headers, data as the JSON value. */
function cloudEvent(type: string, data: Record<string, unknown>, key: string) {
  return {
    key,
    value: JSON.stringify(data),
    headers: {
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_source: 'urn:sample:sms-gateway',
      ce_type: type,
      ce_time: new Date().toISOString(),
      ce_schemaversion: '1',
      ce_tenantid: tenantId,
    },
  };
}

async function main(): Promise<void> {
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: 'parley.channel.outbound.sms', fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const reply = JSON.parse(message.value?.toString() ?? '{}') as {
        tenantId: string;
        messageId: string;
        recipient: { kind: string; id: string };
        text?: string;
      };
      process.stdout.write(`${JSON.stringify({ sent: { to: reply.recipient.id, text: reply.text ?? '', messageId: reply.messageId } })}\n`);
      await producer.send({
        topic: 'parley.channel.inbound',
        messages: [
          cloudEvent(
            'parley.channel.receipt',
            {
              tenantId: reply.tenantId,
              channel: 'sms',
              identity: reply.recipient,
              status: 'delivered',
              messageId: reply.messageId,
              at: new Date().toISOString(),
            },
            `${reply.tenantId}:sms:${reply.recipient.id}`,
          ),
        ],
      });
    },
  });

  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/sms') return void res.writeHead(404).end();
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const sms = JSON.parse(body) as { from: string; text: string; id: string };
          await producer.send({
            topic: 'parley.channel.inbound',
            messages: [
              cloudEvent(
                'parley.channel.message-received',
                {
                  tenantId,
                  channel: 'sms',
                  identity: { kind: 'sms', id: sms.from },
                  channelMessageId: sms.id,
                  text: sms.text,
                  attachments: [],
                  at: new Date().toISOString(),
                },
                `${tenantId}:sms:${sms.from}`,
              ),
            ],
          });
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      })();
    });
  });
  // Port 0 takes a free one: the line tells which.
  server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`));
  const stop = async () => {
    server.close();
    await consumer.disconnect();
    await producer.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`sms gateway failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
