/**
 * A writer that dies on purpose, for the publication-without-loss tests. It
 * appends events to the MongoDB event log, optionally publishes them to Kafka,
 * and then kills itself with SIGKILL before the relay could mark them: the
 * worst moment for an outbox. It prints the appended event ids first.
 *
 * Environment: PARLEY_MONGO_URL, CRASH_DATABASE, CRASH_STREAM, CRASH_COUNT,
 * CRASH_MODE ('before-publish' | 'after-publish'), PARLEY_KAFKA_BROKERS and
 * CRASH_TOPIC for 'after-publish'.
 */
import { KafkaBus } from '@parley/message-bus';
import { MongoEventLog } from '../mongo/mongo.event-log';
import { toCloudEventMessage } from '../outbox/cloud-event.mapping';

async function main(): Promise<void> {
  const env = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required`);
    return value;
  };
  const log = await MongoEventLog.connect(env('PARLEY_MONGO_URL'), env('CRASH_DATABASE'));
  const stream = env('CRASH_STREAM');
  let version = await log.streamVersion(stream);
  const ids: string[] = [];
  for (let i = 0; i < Number(env('CRASH_COUNT')); i++) {
    const result = await log.append(stream, [{ type: 'test.noted', tenantId: 'tenant-a', data: { i } }], version);
    version = result.nextExpectedVersion;
    ids.push(result.events[0]!.id);
    if (env('CRASH_MODE') === 'after-publish') {
      const bus = new KafkaBus({ brokers: env('PARLEY_KAFKA_BROKERS').split(',') });
      await bus.publish(env('CRASH_TOPIC'), result.events.map(toCloudEventMessage));
    }
  }
  process.stdout.write(`${JSON.stringify({ ids })}\n`, () => process.kill(process.pid, 'SIGKILL'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
