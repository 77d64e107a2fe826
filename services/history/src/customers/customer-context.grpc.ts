import { Identity as IdentitySchema, OrderFields, ProfileFields, type Identity } from '@parley/contracts';
import type { CustomerState } from '@parley/customer';
import { InvalidArgumentError } from '@parley/errors';
import type { GrpcEdge, GrpcHandlers, Role } from '@parley/grpc-edge';
import type { z } from 'zod';
import { fromTimestamp } from '../conversations/conversation.mapper';
import type { CustomerContext } from './customer-context';
import { fromStruct, type Struct } from './struct.mapper';

/** The brand's systems (its shop, its CRM) and admins. */
const BRAND_SYSTEMS: readonly Role[] = ['integration', 'admin'];
/** Identities the brand's own systems know a customer by. */
const BRAND_IDENTITY_KINDS = new Set(['external', 'email', 'sms']);

interface ProtoMoney {
  readonly amount_minor: number;
  readonly currency: string;
}
interface ProtoProfile {
  readonly name: string;
  readonly email: string;
  readonly locale: string;
  readonly tier: string;
  readonly attributes: Struct | null;
}
interface ProtoOrder {
  readonly order_id: string;
  readonly placed_at: { seconds?: number | string; nanos?: number } | null;
  readonly status: string;
  readonly items: readonly { sku: string; name: string; quantity: number; unit_price: ProtoMoney | null }[];
  readonly total: ProtoMoney | null;
  readonly url: string;
}

/** A field given as an empty string is not given (proto3 has no absent strings). */
const given = (value: string) => (value === '' ? undefined : value);
const money = (m: ProtoMoney | null) => (m ? { amountMinor: Number(m.amount_minor), currency: m.currency } : undefined);

/** Checked against the event's schema before anything is written: a bad field is named, nothing changes. */
function parse<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new InvalidArgumentError(
      'invalid request',
      parsed.error.issues.map((i) => ({
        field: [prefix, ...i.path.map((p) => String(p).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))].join('.'),
        description: i.message,
      })),
    );
  // Fields not given leave no key behind: the log stores JSON, where undefined has no place.
  return JSON.parse(JSON.stringify(parsed.data)) as z.output<S>;
}

/**
 * Customer context from the brand's systems over gRPC: a profile and orders for
 * the customer an identity of theirs names (registered when new). The same
 * commands as the `parley.customer.context` topic issues (CustomerContextTopicController).
 */
export class CustomerContextGrpc {
  constructor(
    private readonly context: CustomerContext,
    private readonly edge: GrpcEdge,
    private readonly toProto: (customerId: string, loaded: { state: CustomerState }) => unknown,
  ) {}

  handlers(): GrpcHandlers {
    const e = this.edge;
    return {
      UpdateCustomerProfile: e.unary(
        'UpdateCustomerProfile',
        BRAND_SYSTEMS,
        async (req: { identity: Record<string, string> | null; profile: ProtoProfile | null }, caller) => {
          const identity = this.identity(req.identity);
          const p = req.profile;
          const profile = parse(
            ProfileFields,
            {
              name: given(p?.name ?? ''),
              email: given(p?.email ?? ''),
              locale: given(p?.locale ?? ''),
              tier: given(p?.tier ?? ''),
              ...(p?.attributes ? { attributes: fromStruct(p.attributes) } : {}),
            },
            'profile',
          );
          const { customerId, created, result } = await this.context.apply(caller, identity, (at) => ({ type: 'UpdateProfile', profile, source: 'api', at }));
          return { customer: this.toProto(customerId, result), created, changed: result.events.length > 0 };
        },
      ),
      RecordCustomerOrder: e.unary(
        'RecordCustomerOrder',
        BRAND_SYSTEMS,
        async (req: { identity: Record<string, string> | null; order: ProtoOrder | null }, caller) => {
          const identity = this.identity(req.identity);
          const o = req.order;
          const status = (o?.status ?? '').replace(/^ORDER_STATUS_/, '').toLowerCase();
          const order = parse(
            OrderFields,
            {
              orderId: o?.order_id ?? '',
              placedAt: fromTimestamp(o?.placed_at),
              status: status === 'unspecified' ? undefined : status,
              items: (o?.items ?? []).map((i) => ({ sku: given(i.sku), name: i.name, quantity: i.quantity, unitPrice: money(i.unit_price) })),
              total: money(o?.total ?? null),
              url: given(o?.url ?? ''),
            },
            'order',
          );
          const { customerId, created, result } = await this.context.apply(caller, identity, (at) => ({ type: 'RecordOrder', order, source: 'api', at }));
          return { customer_id: customerId, created, changed: result.events.length > 0 };
        },
      ),
    };
  }

  private identity(raw: Record<string, string> | null): Identity {
    const parsed = IdentitySchema.safeParse({ kind: raw?.['kind'], id: raw?.['id'] });
    if (!parsed.success || !BRAND_IDENTITY_KINDS.has(parsed.data.kind))
      throw new InvalidArgumentError('invalid identity', [
        { field: 'identity', description: 'an identity the brand knows: kind external, email or sms (E.164), with its id' },
      ]);
    return parsed.data;
  }
}
