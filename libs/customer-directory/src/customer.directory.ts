import { createHmac } from 'node:crypto';
import { EVENT_CONTRACTS, identityKey, streams, type CustomerEvent, type Identity, type IdentityClaimEvent } from '@parley/contracts';
import {
  CUSTOMER_SNAPSHOT_SCHEMA_VERSION,
  IDENTITY_CLAIM_SNAPSHOT_SCHEMA_VERSION,
  IdentityTakenError,
  customerDecider,
  hasIdentity,
  identityClaimDecider,
  view,
  type CustomerCommand,
  type CustomerState,
  type IdentityClaimCommand,
  type IdentityClaimState,
} from '@parley/customer';
import { DeciderStore, type EventLog } from '@parley/event-log';

type Proof = Extract<CustomerCommand, { type: 'LinkIdentity' }>['proof'];

export interface Actor {
  readonly tenantId: string;
  /** Who acts (an agent, an integration, a channel); kept in the event metadata. */
  readonly actor: string;
}

/**
 * The one place that knows which customer an identity belongs to. The claim
 * stream of an identity is the index: insert-only, first append wins, so two
 * ingress instances seeing the same new WhatsApp user at once end up with one
 * customer, on MongoDB as on FerretDB, without transactions. The claim stream's
 * name is an HMAC of the identity, so no identity is ever readable in a stream id.
 */
export class CustomerDirectory {
  readonly customers: DeciderStore<CustomerCommand, CustomerEvent, CustomerState>;
  private readonly claims: DeciderStore<IdentityClaimCommand, IdentityClaimEvent, IdentityClaimState>;

  constructor(
    log: EventLog,
    /** Secret for the claim streams' names; the same in every service of a deployment. */
    private readonly claimKey: Buffer,
    /** A claim without its link for this long was left by a crash, and may be taken over. */
    private readonly staleAfterMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.customers = new DeciderStore({
      log,
      decider: customerDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: CUSTOMER_SNAPSHOT_SCHEMA_VERSION,
      snapshotEvery: 200,
      cacheSize: 10_000,
    });
    this.claims = new DeciderStore({
      log,
      decider: identityClaimDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: IDENTITY_CLAIM_SNAPSHOT_SCHEMA_VERSION,
      cacheSize: 10_000,
    });
  }

  claimStream(tenantId: string, key: string): string {
    return streams.identityClaim(tenantId, createHmac('sha256', this.claimKey).update(`${tenantId}\u0000${key}`).digest('base64url'));
  }

  /** The customer who holds the identity now (following merges), or null. */
  async find(tenantId: string, identity: Pick<Identity, 'kind' | 'id'>): Promise<string | null> {
    return (await this.lookup(tenantId, identity, this.claimStream(tenantId, identityKey(identity)))).holder?.customerId ?? null;
  }

  /** The identity's claim as read, its holder, and whether that customer was ever registered. */
  private async lookup(
    tenantId: string,
    identity: Pick<Identity, 'kind' | 'id'>,
    stream: string,
  ): Promise<{ claim: IdentityClaimState; holder: { customerId: string; registered: boolean } | null }> {
    const { state: claim } = await this.claims.load(stream);
    if (claim.owner === null) return { claim, holder: null };
    const survivor = await this.survivorOf(tenantId, claim.owner);
    // A young claim whose link is not written yet is being linked right now: it is the owner's.
    if (!holds(survivor.state, identityKey(identity)) && !this.young(claim)) return { claim, holder: null };
    return { claim, holder: { customerId: survivor.customerId, registered: survivor.state.customerId !== null } };
  }

  /**
   * The customer behind an identity, registered on first sight. Safe to run
   * concurrently for the same identity: the loser of the claim race answers
   * with the winner's customer.
   */
  async resolve(
    who: Actor,
    identity: Identity,
    proof: Proof,
    newCustomerId: () => string,
    at: string,
    options: {
      attachConversation?: (customerId: string) => string;
      /**
       * Another identity the channel vouches for, e.g. the phone number WhatsApp
       * verified (its wa_id): a new identity joins the customer who holds it, and a
       * new customer takes it too, so the brand's systems find them by it.
       */
      alsoKnownAs?: Identity;
    } = {},
  ): Promise<{ customerId: string; created: boolean }> {
    const stream = this.claimStream(who.tenantId, identityKey(identity));
    const { claim, holder: existing } = await this.lookup(who.tenantId, identity, stream);
    if (existing?.registered) return { customerId: existing.customerId, created: false };
    if (existing) {
      // Claimed a moment ago, but its customer is not registered: its writer failed
      // between the two writes (or is between them now). Registering it here, under
      // the claim's owner and idempotently, keeps the customer whole; otherwise its
      // conversation would be written now and orphaned once the claim went stale.
      return { customerId: existing.customerId, created: await this.register(who, existing.customerId, identity, proof, at, options, false) };
    }
    const alias = options.alsoKnownAs;
    if (alias) {
      const known = (await this.lookup(who.tenantId, alias, this.claimStream(who.tenantId, identityKey(alias)))).holder;
      if (known?.registered) {
        try {
          await this.link(who, known.customerId, identity, proof, at);
          return { customerId: known.customerId, created: false };
        } catch (error) {
          if (!(error instanceof IdentityTakenError)) throw error;
          return { customerId: error.ownerCustomerId, created: false };
        }
      }
    }
    const customerId = newCustomerId();
    // Nobody holds it (lookup said so): an owner still named by the claim left it
    // stale. Decided on the claim as lookup read it: had anyone claimed it since,
    // the append's expected version refuses this claim, and the claim is read and
    // decided on again (IdentityTakenError below).
    const staleOwner = claim.owner ?? undefined;
    try {
      // The claim first: the loser of a race learns it before writing anything else.
      await this.claims.handle(
        stream,
        { type: 'Claim', customerId, ...(staleOwner ? { staleOwner } : {}), at: new Date(this.now()).toISOString() },
        this.envelope(who, customerId),
      );
    } catch (error) {
      if (!(error instanceof IdentityTakenError)) throw error;
      // Someone else registered the same identity a moment before: theirs wins (it may still be linking it).
      return { customerId: error.ownerCustomerId, created: false };
    }
    // Then the customer, its identity and its conversation in one write, to a
    // stream named by the id just made: nobody can have written to it yet.
    const created = await this.register(who, customerId, identity, proof, at, options, true);
    if (created && alias) {
      try {
        await this.link(who, customerId, alias, proof, at);
      } catch (error) {
        // Someone took it in the meantime: theirs it stays (an agent may merge the two).
        if (!(error instanceof IdentityTakenError)) throw error;
      }
    }
    return { customerId, created };
  }

  /** The customer, its identity and its conversation in one write; true if this call wrote it (not someone finishing it at the same time). */
  private async register(
    who: Actor,
    customerId: string,
    identity: Identity,
    proof: Proof,
    at: string,
    options: { attachConversation?: (customerId: string) => string },
    newStream: boolean,
  ): Promise<boolean> {
    const conversationId = options.attachConversation?.(customerId);
    const { events } = await this.customers.handleAll(
      streams.customer(who.tenantId, customerId),
      [
        { type: 'Register', customerId, at },
        { type: 'LinkIdentity', identity, proof, at },
        ...(conversationId ? [{ type: 'AttachConversation' as const, conversationId, at }] : []),
      ],
      this.envelope(who, customerId),
      { newStream },
    );
    return events.some((e) => e.type === 'customer.registered');
  }

  /** Claims the identity for the customer, then links it. Refused if another customer holds it. */
  async link(who: Actor, customerId: string, identity: Identity, proof: Proof, at: string): Promise<CustomerState> {
    const key = identityKey(identity);
    const stream = this.claimStream(who.tenantId, key);
    const { state: claim } = await this.claims.load(stream);
    let staleOwner: string | undefined;
    if (claim.owner !== null && claim.owner !== customerId) {
      const ownerSurvivor = await this.survivorOf(who.tenantId, claim.owner);
      const stillHeld = holds(ownerSurvivor.state, key) || this.young(claim);
      if (stillHeld && ownerSurvivor.customerId !== customerId) throw new IdentityTakenError(ownerSurvivor.customerId);
      if (!stillHeld) staleOwner = claim.owner;
    }
    // Claims carry this process's clock, not the channel's: their age decides staleness.
    if (claim.owner === null || staleOwner !== undefined)
      await this.claims.handle(
        stream,
        { type: 'Claim', customerId, ...(staleOwner ? { staleOwner } : {}), at: new Date(this.now()).toISOString() },
        this.envelope(who, customerId),
      );
    const linked = await this.customers.handle(
      streams.customer(who.tenantId, customerId),
      { type: 'LinkIdentity', identity, proof, at },
      this.envelope(who, customerId),
    );
    return linked.state;
  }

  /** Unlinks the identity, then gives up its claim, so another customer may take it. */
  async unlink(who: Actor, customerId: string, key: string, at: string): Promise<CustomerState> {
    const result = await this.customers.handle(
      streams.customer(who.tenantId, customerId),
      { type: 'UnlinkIdentity', identityKey: key, at },
      this.envelope(who, customerId),
    );
    await this.release(who, key, at);
    return result.state;
  }

  /** Erasure: every identity the customer held is released before its data goes. */
  async releaseAll(who: Actor, state: CustomerState, at: string): Promise<void> {
    for (const identity of view(state).identities) await this.release(who, identityKey(identity), at);
  }

  private async release(who: Actor, key: string, at: string): Promise<void> {
    const stream = this.claimStream(who.tenantId, key);
    const { state } = await this.claims.load(stream);
    if (state.owner === null) return;
    await this.claims.handle(stream, { type: 'Release', customerId: state.owner, at }, this.envelope(who, state.owner));
  }

  private young(claim: IdentityClaimState): boolean {
    return claim.claimedAt !== null && this.now() - Date.parse(claim.claimedAt) < this.staleAfterMs;
  }

  private async survivorOf(tenantId: string, customerId: string): Promise<{ customerId: string; state: CustomerState }> {
    let id = customerId;
    // Merges chain at most a few deep; the bound guards against a corrupted cycle.
    for (let hops = 0; hops < 16; hops++) {
      const { state } = await this.customers.load(streams.customer(tenantId, id));
      if (!state.mergedInto) return { customerId: id, state };
      id = state.mergedInto;
    }
    throw new Error('customer merge chain too long');
  }

  private envelope(who: Actor, subjectId: string) {
    return { tenantId: who.tenantId, metadata: { subjectId, actor: who.actor } };
  }
}

function holds(state: CustomerState, key: string): boolean {
  return !state.erased && hasIdentity(state, key);
}
