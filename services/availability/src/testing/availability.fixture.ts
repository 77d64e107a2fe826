import { randomBytes } from 'node:crypto';
import { infrastructure } from '@parley/testing-support';

export { bearer, rpc } from '@parley/testing-support';

/** Business hours that are always open (two slots a day, as the API takes them). */
export const ALWAYS_OPEN = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({
  weekday,
  slots: [
    { from: '00:00', to: '12:00' },
    { from: '12:00', to: '00:00' },
  ],
}));

/** An availability service's settings on the test FerretDB and Kafka, in a database of its own, with these presence thresholds. */
export function availabilityEnv(database: string, secret: string, presence: { awayMs: number; offlineMs: number }) {
  const { mongoUrl, kafkaBrokers } = infrastructure();
  return {
    PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','),
    PARLEY_STORE: 'mongo',
    PARLEY_MONGO_URL: mongoUrl,
    PARLEY_MONGO_DATABASE: database,
    PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
    PARLEY_TOKEN_SECRETS: secret,
    PARLEY_AVAILABILITY_GRPC_ADDRESS: '127.0.0.1:0',
    PARLEY_AVAILABILITY_HTTP_PORT: '0',
    PARLEY_PRESENCE_AWAY_AFTER_MS: String(presence.awayMs),
    PARLEY_PRESENCE_OFFLINE_AFTER_MS: String(presence.offlineMs),
    PARLEY_AVAILABILITY_TICK_MS: '100',
  };
}
