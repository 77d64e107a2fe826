import type { OrderFields } from '@parley/contracts';
import type { EncryptingEventLog } from '@parley/event-log';
import type { Projection, ReadDocument } from '@parley/read-model';

/**
 * One row per order of a customer, its latest status: what GetCustomer and
 * ListCustomerOrders page through, newest first. The order itself (items,
 * back-office link) is sealed with the customer's key, so an erasure shreds
 * it as it does the log; the columns used to find and sort rows hold no personal data.
 */
export interface CustomerOrderRow extends ReadDocument {
  readonly tenantId: string;
  /** The customer on whose stream the order was recorded (a merged customer's orders stay theirs). */
  readonly customerId: string;
  readonly placedAt: string;
  /** The customer stream's version of the latest event applied: an older or repeated one changes nothing. */
  readonly version: number;
  /** `{ order, statusAt }`, sealed. */
  readonly sealed: string;
}

/** What a row holds once opened. */
export interface OrderEntry {
  readonly order: OrderFields;
  /** When its current status was recorded. */
  readonly statusAt: string;
}

export const CUSTOMER_ORDERS_TABLE = 'customer_orders';
export const orderRowId = (tenantId: string, customerId: string, orderId: string) => `${tenantId}:${customerId}:${orderId}`;

export function customerOrdersProjection(log: EncryptingEventLog): Projection {
  return {
    name: 'customer-orders',
    tables: [CUSTOMER_ORDERS_TABLE],
    types: ['customer.order-recorded'],
    async handle(event, store, tables) {
      if (event.type !== 'customer.order-recorded') return;
      const customerId = event.metadata['subjectId'];
      if (typeof customerId !== 'string') return;
      const { source: _source, at, ...order } = event.data as OrderFields & { source: string; at: string };
      const table = tables.table(CUSTOMER_ORDERS_TABLE);
      const id = orderRowId(event.tenantId, customerId, order.orderId);
      const row = await store.get<CustomerOrderRow>(table, id);
      if (row && row.version >= event.streamVersion) return;
      await store.upsert(table, {
        id,
        tenantId: event.tenantId,
        customerId,
        placedAt: order.placedAt,
        version: event.streamVersion,
        sealed: await log.sealFor(customerId, { order, statusAt: at } satisfies OrderEntry),
      } satisfies CustomerOrderRow);
    },
  };
}
