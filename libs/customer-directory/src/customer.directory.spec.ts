import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { identityKey, streams, type Identity } from '@parley/contracts';
import { IdentityTakenError } from '@parley/customer';
import { MongoEventLog, SqliteEventLog, type EventLog } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { CustomerDirectory } from './customer.directory';

const at = '2026-05-01T12:00:00.000Z';
const who = { tenantId: 'brand-a', actor: 'test' };
const whatsapp: Identity = { kind: 'whatsapp', id: 'US.1349120865530274', waId: '16505551234' };

const stores: [string, () => Promise<{ log: EventLog; cleanup(): Promise<void> }>][] = [
  [
    'SQLite',
    async () => {
      const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
      return { log, cleanup: () => log.close() };
    },
  ],
  [
    'FerretDB',
    async () => {
      const { mongoUrl } = infrastructure();
      const database = uniqueName('parley_directory').replace(/-/g, '_');
      const log = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
      return {
        log,
        cleanup: async () => {
          await log.close();
          const client = await MongoClient.connect(mongoUrl);
          await client.db(database).dropDatabase();
          await client.close();
        },
      };
    },
  ],
];

for (const [name, open] of stores) {
  describe(`customer directory: one identity, one customer (${name})`, () => {
    let log: EventLog;
    let cleanup: () => Promise<void>;
    let directory: CustomerDirectory;
    const claimKey = randomBytes(32);
    before(async () => {
      ({ log, cleanup } = await open());
      directory = new CustomerDirectory(log, claimKey);
    });
    after(async () => cleanup());

    it('registers a customer on first sight and finds it again', async () => {
      const first = await directory.resolve(who, whatsapp, 'channel', randomUUID, at);
      assert.equal(first.created, true);
      const again = await directory.resolve(who, whatsapp, 'channel', randomUUID, at);
      assert.deepEqual(again, { customerId: first.customerId, created: false });
      assert.equal(await directory.find(who.tenantId, whatsapp), first.customerId);
      assert.equal(await directory.find('brand-b', whatsapp), null, 'tenants never share customers');
    });

    it('never names the identity in a stream id', async () => {
      const stream = directory.claimStream(who.tenantId, 'whatsapp:US.1349120865530274');
      assert.ok(!stream.includes('1349120865530274') && !stream.includes('whatsapp:'));
    });

    it("joins a WhatsApp user to the customer the brand's systems know by the phone number WhatsApp verified, and gives a new one that number", async () => {
      const digits = `4930${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
      const phone: Identity = { kind: 'sms', id: `+${digits}` };
      // The shop knew the customer by phone first.
      const known = await directory.resolve(who, phone, 'brand-api', randomUUID, at);
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          directory.resolve(who, { kind: 'whatsapp', id: `US.${digits}`, waId: digits }, 'channel', randomUUID, at, { alsoKnownAs: phone }),
        ),
      );
      assert.deepEqual(
        results.map((r) => [r.customerId, r.created]),
        results.map(() => [known.customerId, false]),
      );
      const { state } = await directory.customers.load(streams.customer(who.tenantId, known.customerId));
      assert.deepEqual(
        state.own.identities.map((i) => i.kind),
        ['sms', 'whatsapp'],
        'linked once',
      );
      // A new WhatsApp user takes their verified number along: the shop's record for it lands on them.
      const other = `4930${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
      const fresh = await directory.resolve(who, { kind: 'whatsapp', id: `US.${other}`, waId: other }, 'channel', randomUUID, at, {
        alsoKnownAs: { kind: 'sms', id: `+${other}` },
      });
      assert.equal(fresh.created, true);
      assert.equal(await directory.find(who.tenantId, { kind: 'sms', id: `+${other}` }), fresh.customerId);
      assert.deepEqual(await directory.resolve(who, { kind: 'sms', id: `+${other}` }, 'brand-api', randomUUID, at), {
        customerId: fresh.customerId,
        created: false,
      });
    });

    it('ends with one customer when many race for the same new identity', async () => {
      const identity: Identity = { kind: 'messenger', id: `psid-${randomUUID()}` };
      const results = await Promise.all(Array.from({ length: 8 }, () => directory.resolve(who, identity, 'channel', randomUUID, at)));
      const ids = new Set(results.map((r) => r.customerId));
      assert.equal(ids.size, 1, `one customer, got ${[...ids].join(', ')}`);
      const owner = [...ids][0]!;
      const { state } = await directory.customers.load(streams.customer(who.tenantId, owner));
      assert.equal(state.own.identities.length, 1, 'linked once');
      assert.equal(results.filter((r) => r.created).length, 1, 'registered by one of them');
    });

    it('ends with one customer when instances that each read the claim as free race for it', async () => {
      const identity: Identity = { kind: 'messenger', id: `psid-${randomUUID()}` };
      // One directory per instance: each has read the claim as free before any of them claims it.
      const instances = Array.from({ length: 6 }, () => new CustomerDirectory(log, claimKey));
      for (const instance of instances) assert.equal(await instance.find(who.tenantId, identity), null);
      const results = await Promise.all(instances.map((instance) => instance.resolve(who, identity, 'channel', randomUUID, at)));
      const ids = new Set(results.map((r) => r.customerId));
      assert.equal(ids.size, 1, `one customer, got ${[...ids].join(', ')}`);
      assert.equal(results.filter((r) => r.created).length, 1, 'registered by one of them');
      const claim = await log.readStream(directory.claimStream(who.tenantId, identityKey(identity)));
      assert.deepEqual(
        claim.map((e) => e.type),
        ['identity.claimed'],
        'claimed once',
      );
    });

    it("finishes a registration whose writer failed after its claim, under the claim's owner, so its conversation is never orphaned", async () => {
      const identity: Identity = { kind: 'whatsapp', id: `US.${randomUUID()}` };
      const owner = randomUUID();
      // The claim is written (just now), the customer never was: the writer failed between the two.
      await log.append(
        directory.claimStream(who.tenantId, `whatsapp:${identity.id}`),
        [{ type: 'identity.claimed', tenantId: who.tenantId, data: { customerId: owner, at: new Date().toISOString() } }],
        'no_stream',
      );
      const retried = await directory.resolve(who, identity, 'channel', randomUUID, at, { attachConversation: (id) => id });
      assert.deepEqual(retried, { customerId: owner, created: true });
      const { state } = await directory.customers.load(streams.customer(who.tenantId, owner));
      assert.equal(state.customerId, owner);
      assert.deepEqual(
        state.own.identities.map((i) => i.id),
        [identity.id],
      );
      assert.deepEqual(state.own.conversations, [owner]);
      // It holds the identity for good now, not only while the claim is young.
      const later = new CustomerDirectory(log, claimKey, 30_000, () => Date.now() + 3_600_000);
      assert.equal(await later.find(who.tenantId, identity), owner);
      assert.deepEqual(await directory.resolve(who, identity, 'channel', randomUUID, at), { customerId: owner, created: false });
    });

    it('refuses to link an identity another customer holds, until it is released', async () => {
      const identity: Identity = { kind: 'email', id: `ana-${randomUUID()}@example.com` };
      const { customerId: ana } = await directory.resolve(who, identity, 'channel', randomUUID, at);
      const { customerId: other } = await directory.resolve(who, { kind: 'visitor', id: randomUUID() }, 'anonymous', randomUUID, at);
      await assert.rejects(
        directory.link(who, other, identity, 'brand-api', at),
        (e: IdentityTakenError) => e instanceof IdentityTakenError && e.ownerCustomerId === ana,
      );
      await directory.unlink(who, ana, `email:${identity.id}`, at);
      assert.equal(await directory.find(who.tenantId, identity), null);
      await directory.link(who, other, identity, 'brand-api', at);
      assert.equal(await directory.find(who.tenantId, identity), other);
    });

    it('takes over a claim whose owner no longer holds the identity (a link that crashed half-way)', async () => {
      const identity: Identity = { kind: 'apple', id: `urn:mbid:${randomUUID()}` };
      const { customerId: ghost } = await directory.resolve(who, { kind: 'visitor', id: randomUUID() }, 'anonymous', randomUUID, at);
      // The claim is written, the link on the customer never was.
      await log.append(
        directory.claimStream(who.tenantId, `apple:${identity.id}`),
        [{ type: 'identity.claimed', tenantId: who.tenantId, data: { customerId: ghost, at } }],
        'no_stream',
      );
      assert.equal(await directory.find(who.tenantId, identity), null);
      const { customerId, created } = await directory.resolve(who, identity, 'channel', randomUUID, at);
      assert.equal(created, true);
      assert.notEqual(customerId, ghost);
      assert.equal(await directory.find(who.tenantId, identity), customerId);
    });
  });
}
