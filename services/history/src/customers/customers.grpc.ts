import { jwtVerify } from 'jose';
import { InvalidArgumentError, ParleyError, fieldViolations } from '@parley/errors';
import { requireId } from '../grpc/request.validation';
import { Identity as IdentitySchema, identityKey, streams, type Channel, type ConversationEvent, type CustomerEvent, type Identity } from '@parley/contracts';
import { conversationView } from '@parley/conversation';
import { planMerge, planUnmerge, view, type CustomerCommand, type CustomerProfile, type CustomerState } from '@parley/customer';
import type { CustomerDirectory } from '@parley/customer-directory';
import type { EncryptingEventLog } from '@parley/event-log';
import type { BlobStore } from '@parley/blob-store';
import type { Caller, GrpcEdge, GrpcHandlers, Role } from '@parley/grpc-edge';
import type { ProjectionRunner, ReadModelStore } from '@parley/read-model';
import { channelToProto, conversationToProto } from '../conversations/conversation.mapper';
import { conversationStream, rowToProto } from '../conversations/conversations.grpc';
import { CONVERSATIONS_TABLE, type ConversationRow } from '../projections/conversation-list.projection';
import { CustomerOrders } from './customer-orders';
import { fromStruct, toStruct, type Struct } from './struct.mapper';

export class CustomerNotFoundError extends ParleyError {
  readonly code = 'CUSTOMER_NOT_FOUND';
  readonly category = 'not_found' as const;
  constructor(readonly customerId: string) {
    super(`customer ${customerId} not found`);
  }
  override details() {
    return { customerId: this.customerId };
  }
}

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];
const SUPERVISORS: readonly Role[] = ['supervisor', 'admin'];
const ADMINS: readonly Role[] = ['admin'];
/** How many of a customer's orders GetCustomer shows. */
const LATEST_ORDERS = 5;

/** Like conversations, a customer's stream is named by tenant: another tenant's customer is NOT_FOUND. */
export const customerStream = streams.customer;

const CHANNEL_OF: Record<Identity['kind'], Channel | null> = {
  visitor: 'web',
  external: null,
  whatsapp: 'whatsapp',
  messenger: 'messenger',
  apple: 'apple',
  email: 'email',
  sms: 'sms',
  custom: 'custom',
};

export class CustomersGrpc {
  constructor(
    private readonly log: EncryptingEventLog,
    private readonly directory: CustomerDirectory,
    private readonly edge: GrpcEdge,
    private readonly models: { readonly store: ReadModelStore; readonly list: ProjectionRunner; readonly orders: ProjectionRunner; readonly blobs: BlobStore },
    /** The secret a tenant signs its users' ids with (HS256 JWT, `sub` = the external id). */
    private readonly identitySecretOf: (tenantId: string) => string | undefined,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.orders = new CustomerOrders(log, models.store, models.orders);
  }
  private readonly orders: CustomerOrders;

  handlers(): GrpcHandlers {
    const e = this.edge;
    return {
      GetCustomer: e.unary('GetCustomer', AGENTS, async (req: { customer_id: string }, caller) => {
        const customer = await this.load(caller, req.customer_id);
        return {
          customer: {
            ...this.toProto(req.customer_id, customer),
            profile: profileToProto(await this.profile(caller, customer.state)),
            conversations: await this.conversations(caller, customer.state),
            latest_orders: (await this.orders.page(caller.tenantId, req.customer_id, customer.state, LATEST_ORDERS, '')).orders,
          },
        };
      }),
      ListCustomerOrders: e.unary('ListCustomerOrders', AGENTS, async (req: { customer_id: string; page_size: number; page_token: string }, caller) => {
        if (!Number.isInteger(req.page_size) || req.page_size < 0 || req.page_size > 100)
          throw new InvalidArgumentError('invalid request', [{ field: 'page_size', description: 'from 1 to 100 (0 means 20)' }]);
        const customer = await this.load(caller, req.customer_id);
        const page = await this.orders.page(caller.tenantId, req.customer_id, customer.state, req.page_size || 20, req.page_token);
        return { orders: page.orders, next_page_token: page.next };
      }),
      FindCustomer: e.unary('FindCustomer', AGENTS, async (req: { identity: Record<string, string> | null }, caller) => {
        const identity = this.identity(req.identity);
        const customerId = await this.directory.find(caller.tenantId, identity);
        // Nobody holds it: the same answer as for another tenant's identity.
        if (!customerId) throw new CustomerNotFoundError('(by identity)');
        return { customer: this.toProto(customerId, await this.load(caller, customerId)) };
      }),
      LinkIdentity: e.unary('LinkIdentity', AGENTS, async (req: { customer_id: string; identity: Record<string, string> | null; proof: string }, caller) => {
        const identity = this.identity(req.identity);
        const proof = identity.kind === 'external' ? await this.verifyProof(caller, identity.id, req.proof) : 'brand-api';
        await this.load(caller, req.customer_id);
        return {
          customer: this.toProto(req.customer_id, { state: await this.directory.link(this.who(caller), req.customer_id, identity, proof, this.now()) }),
        };
      }),
      UnlinkIdentity: e.unary('UnlinkIdentity', AGENTS, async (req: { customer_id: string; identity: Record<string, string> | null }, caller) => {
        const key = identityKey(this.identity(req.identity));
        await this.load(caller, req.customer_id);
        return { customer: this.toProto(req.customer_id, { state: await this.directory.unlink(this.who(caller), req.customer_id, key, this.now()) }) };
      }),
      SetAttributes: e.unary('SetAttributes', AGENTS, async (req: { customer_id: string; attributes: Struct | null }, caller) => {
        const attributes = fromStruct(req.attributes);
        if (Object.keys(attributes).length === 0)
          throw new InvalidArgumentError('invalid request', [{ field: 'attributes', description: 'at least one attribute' }]);
        // All or nothing: one append, so a value refused leaves the others unwritten too.
        const at = this.now();
        return {
          customer: await this.runAll(
            caller,
            req.customer_id,
            Object.entries(attributes).map(([key, value]) => ({ type: 'SetAttribute' as const, key, value, at })),
          ),
        };
      }),
      MergeCustomers: e.unary('MergeCustomers', SUPERVISORS, async (req: { survivor_customer_id: string; absorbed_customer_id: string }, caller) => {
        const survivor = await this.load(caller, req.survivor_customer_id);
        const absorbed = await this.load(caller, req.absorbed_customer_id);
        const plan = planMerge(survivor.state, absorbed.state, this.now());
        // The absorbed customer first, at the version it was planned on: a concurrent change to it aborts the merge.
        await this.log.append(
          customerStream(caller.tenantId, req.absorbed_customer_id),
          this.envelope(caller, plan.absorbed, req.absorbed_customer_id),
          absorbed.version,
        );
        await this.log.append(
          customerStream(caller.tenantId, req.survivor_customer_id),
          this.envelope(caller, plan.survivor, req.survivor_customer_id),
          survivor.version,
        );
        return { customer: this.toProto(req.survivor_customer_id, await this.load(caller, req.survivor_customer_id)) };
      }),
      UnmergeCustomer: e.unary('UnmergeCustomer', SUPERVISORS, async (req: { absorbed_customer_id: string }, caller) => {
        const absorbed = await this.load(caller, req.absorbed_customer_id);
        const survivorId = absorbed.state.mergedInto ?? req.absorbed_customer_id;
        const survivor = await this.load(caller, survivorId);
        const plan = planUnmerge(survivor.state, absorbed.state, this.now());
        await this.log.append(customerStream(caller.tenantId, survivorId), this.envelope(caller, plan.survivor, survivorId), survivor.version);
        await this.log.append(
          customerStream(caller.tenantId, req.absorbed_customer_id),
          this.envelope(caller, plan.absorbed, req.absorbed_customer_id),
          absorbed.version,
        );
        return { customer: this.toProto(req.absorbed_customer_id, await this.load(caller, req.absorbed_customer_id)) };
      }),
      ExportCustomer: e.unary('ExportCustomer', SUPERVISORS, async (req: { customer_id: string }, caller) => {
        const customer = await this.load(caller, req.customer_id);
        const conversations = [];
        for (const id of view(customer.state).conversations) {
          const events = await this.log.readStream(conversationStream(caller.tenantId, id));
          if (events.length === 0) continue;
          conversations.push(
            conversationToProto(
              id,
              conversationView(events.map((x) => ({ event: { type: x.type, data: x.data } as ConversationEvent, version: x.streamVersion }))),
            ),
          );
        }
        return {
          customer: { ...this.toProto(req.customer_id, customer), profile: profileToProto(await this.profile(caller, customer.state)) },
          conversations,
          orders: await this.orders.everyStatus(caller.tenantId, req.customer_id, customer.state),
        };
      }),
      EraseCustomer: e.unary('EraseCustomer', ADMINS, async (req: { customer_id: string }, caller) => {
        const customer = await this.load(caller, req.customer_id);
        // Identities first: once released, a new contact on them starts a new customer.
        await this.directory.releaseAll(this.who(caller), customer.state, this.now());
        await this.run(caller, req.customer_id, { type: 'Erase', at: this.now() });
        // Deleting the key is the erasure: every personal field sealed with it is unreadable from now on.
        await this.log.erase(req.customer_id);
        // And their attachments' bytes go.
        await this.models.blobs.deleteOwnedBy(caller.tenantId, req.customer_id);
        return {};
      }),
    };
  }

  private who(caller: Caller) {
    return { tenantId: caller.tenantId, actor: caller.subject };
  }

  /** What Parley may say to or of the customer: the profile, a free-form `name` attribute failing its name (the survey's language needs no more). */
  async profileOf(tenantId: string, customerId: string): Promise<{ profile: CustomerProfile; state: CustomerState }> {
    const { state } = await this.directory.customers.load(customerStream(tenantId, customerId));
    const profile = await this.profile({ tenantId }, state);
    const named = profile.name ?? (typeof view(state).attributes['name'] === 'string' ? (view(state).attributes['name'] as string) : undefined);
    return { profile: { ...profile, ...(named ? { name: named } : {}) }, state };
  }

  /** What a canned response may say of the customer: the profile and the latest order. */
  async contextOf(tenantId: string, customerId: string): Promise<{ profile: CustomerProfile; latestOrder: { id: string; status: string } | null }> {
    const { profile, state } = await this.profileOf(tenantId, customerId);
    const [latest] = (await this.orders.page(tenantId, customerId, state, 1, '')).orders;
    return {
      profile,
      latestOrder: latest ? { id: latest.order.order_id, status: latest.order.status.replace('ORDER_STATUS_', '').toLowerCase() } : null,
    };
  }

  /** The survivor's profile, each merged customer's fields filling in what it lacks: an unmerge takes them back without a copy. */
  private async profile(caller: Pick<Caller, 'tenantId'>, state: CustomerState): Promise<CustomerProfile> {
    let profile = state.profile;
    for (const absorbedId of Object.keys(state.merged)) {
      const absorbed = (await this.directory.customers.load(customerStream(caller.tenantId, absorbedId))).state.profile;
      profile = { ...absorbed, ...profile, attributes: { ...absorbed.attributes, ...profile.attributes } };
    }
    return profile;
  }

  private async conversations(caller: Caller, state: CustomerState) {
    const table = await this.models.list.table(CONVERSATIONS_TABLE);
    const rows: ConversationRow[] = [];
    for (const id of view(state).conversations.slice(-500)) {
      const row = await this.models.store.get<ConversationRow>(table, conversationStream(caller.tenantId, id));
      if (row) rows.push(row);
    }
    return rows.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt)).map(rowToProto);
  }

  private async load(caller: Caller, customerId: string) {
    const loaded = await this.directory.customers.load(customerStream(caller.tenantId, requireId('customer_id', customerId)));
    if (loaded.version === 0) throw new CustomerNotFoundError(customerId);
    return loaded;
  }

  private run(caller: Caller, customerId: string, command: CustomerCommand) {
    return this.runAll(caller, customerId, [command]);
  }

  private async runAll(caller: Caller, customerId: string, commands: readonly CustomerCommand[]) {
    await this.load(caller, customerId);
    const result = await this.directory.customers.handleAll(customerStream(caller.tenantId, customerId), commands, {
      tenantId: caller.tenantId,
      metadata: { subjectId: customerId, actor: caller.subject, role: caller.role },
    });
    return this.toProto(customerId, result);
  }

  private envelope(caller: Caller, events: readonly CustomerEvent[], subjectId: string) {
    return events.map((ev) => ({ type: ev.type, data: ev.data, tenantId: caller.tenantId, metadata: { subjectId, actor: caller.subject, role: caller.role } }));
  }

  private identity(raw: Record<string, string> | null): Identity {
    const parsed = IdentitySchema.safeParse({ kind: raw?.['kind'], id: raw?.['id'], ...(raw?.['wa_id'] ? { waId: raw['wa_id'] } : {}) });
    if (!parsed.success) throw new InvalidArgumentError('invalid identity', fieldViolations(parsed.error.issues, 'identity'));
    return parsed.data;
  }

  /** An external id is the brand's own user id: only the brand's signature proves it. */
  private async verifyProof(caller: Caller, externalId: string, proof: string): Promise<'signed-jwt' | 'anonymous'> {
    const secret = this.identitySecretOf(caller.tenantId);
    if (!secret || !proof) return 'anonymous';
    try {
      const { payload } = await jwtVerify(proof, new TextEncoder().encode(secret));
      return payload.sub === externalId ? 'signed-jwt' : 'anonymous';
    } catch {
      return 'anonymous';
    }
  }

  toProto(customerId: string, loaded: { state: CustomerState }) {
    const s = loaded.state;
    const v = view(s);
    return {
      id: customerId,
      identities: v.identities.map((i) => ({
        kind: i.kind,
        id: typeof i.id === 'string' ? i.id : '',
        wa_id: i.kind === 'whatsapp' && typeof i.waId === 'string' ? i.waId : '',
      })),
      attributes: toStruct(v.attributes as Record<string, unknown>),
      conversation_ids: [...v.conversations],
      merged_into: s.mergedInto ?? '',
      erased: s.erased,
      channels: [...new Set(v.identities.map((i) => CHANNEL_OF[i.kind]).filter((c): c is Channel => c !== null))].map(channelToProto),
      conversations: [],
      profile: profileToProto(s.profile),
    };
  }
}

function profileToProto(profile: CustomerProfile) {
  return {
    name: profile.name ?? '',
    email: profile.email ?? '',
    locale: profile.locale ?? '',
    tier: profile.tier ?? '',
    attributes: toStruct(profile.attributes),
  };
}
