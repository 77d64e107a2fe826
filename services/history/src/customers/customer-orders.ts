import { streams, type OrderFields } from '@parley/contracts';
import type { CustomerState } from '@parley/customer';
import type { EncryptingEventLog } from '@parley/event-log';
import { encodePageToken, type ProjectionRunner, type ReadModelStore } from '@parley/read-model';
import { timestamp } from '../conversations/conversation.mapper';
import { CUSTOMER_ORDERS_TABLE, type CustomerOrderRow, type OrderEntry } from '../projections/customer-orders.projection';

const STATUS_TO_PROTO = (status: string) => `ORDER_STATUS_${status.toUpperCase()}`;
const money = (m: { amountMinor: number; currency: string } | undefined) => (m ? { amount_minor: m.amountMinor, currency: m.currency } : null);

export function recordedOrderToProto(customerId: string, entry: OrderEntry) {
  const o = entry.order;
  return {
    order: {
      order_id: o.orderId,
      placed_at: timestamp(o.placedAt),
      status: STATUS_TO_PROTO(o.status),
      items: o.items.map((i) => ({ sku: i.sku ?? '', name: i.name, quantity: i.quantity, unit_price: money(i.unitPrice) })),
      total: money(o.total),
      url: o.url ?? '',
    },
    status_at: timestamp(entry.statusAt),
    customer_id: customerId,
  };
}

/**
 * A customer's orders as agents see them: their own and those of every
 * customer merged into them, from the read model (newest placed first, in
 * pages), or every status from the log for an export.
 */
export class CustomerOrders {
  constructor(
    private readonly log: EncryptingEventLog,
    private readonly store: ReadModelStore,
    private readonly runner: ProjectionRunner,
  ) {}

  /**
   * One page across the customer and those merged into them: each is asked for a
   * page after the same cursor (placedAt, then id), and the pages are merged in
   * that order, so a page token serves every one of them.
   */
  async page(tenantId: string, customerId: string, state: CustomerState, size: number, pageToken: string) {
    if (state.erased) return { orders: [], next: '' };
    const table = await this.runner.table(CUSTOMER_ORDERS_TABLE);
    const owners = [customerId, ...Object.keys(state.merged)];
    const pages = await Promise.all(
      owners.map((owner) =>
        this.store.find<CustomerOrderRow>(table, {
          where: { tenantId, customerId: owner },
          orderBy: { field: 'placedAt', direction: 'desc' },
          limit: size,
          ...(pageToken ? { pageToken } : {}),
        }),
      ),
    );
    const rows = pages.flatMap((p) => p.documents).sort((a, b) => (a.placedAt === b.placedAt ? (a.id < b.id ? -1 : 1) : a.placedAt > b.placedAt ? -1 : 1));
    const shown = rows.slice(0, size);
    const more = rows.length > size || pages.some((p) => p.nextPageToken !== '');
    const orders = [];
    for (const row of shown) {
      // An erased customer's rows no longer open: left out.
      const entry = (await this.log.openFor(row.customerId, row.sealed)) as OrderEntry | null;
      if (entry) orders.push(recordedOrderToProto(row.customerId, entry));
    }
    return { orders, next: more && shown.length > 0 ? encodePageToken(shown.at(-1)!, 'placedAt') : '' };
  }

  /** Every status of every order, as recorded, oldest first: what a data-subject export holds. */
  async everyStatus(tenantId: string, customerId: string, state: CustomerState) {
    const orders = [];
    for (const owner of [customerId, ...Object.keys(state.merged)]) {
      for (const e of await this.log.readStream(streams.customer(tenantId, owner))) {
        if (e.type !== 'customer.order-recorded') continue;
        const { source: _source, at, ...order } = e.data as OrderFields & { source: string; at: string };
        orders.push({ at, proto: recordedOrderToProto(owner, { order, statusAt: at }) });
      }
    }
    return orders.sort((a, b) => a.at.localeCompare(b.at)).map((o) => o.proto);
  }
}
