import type { Decider, DeciderFacts } from '@parley/decider';
import type { CustomerEvent } from '@parley/contracts';
import { decide, type CustomerCommand } from './customer.decide';
import { evolve, initialState, orderFactKey, takeOrderFacts, withOrderFacts, type CustomerState } from './customer.state';

export * from './customer.errors';
export * from './customer.state';
export * from './customer.decide';

/** An order's last status is looked up only when a command names an order the state has not seen since its last snapshot. */
export const customerFacts: DeciderFacts<CustomerCommand, CustomerState> = {
  needs: (command, state) => (command.type === 'RecordOrder' && state.orders[command.order.orderId] === undefined ? [orderFactKey(command.order.orderId)] : []),
  with: withOrderFacts,
  take: takeOrderFacts,
};

export const customerDecider: Decider<CustomerCommand, CustomerEvent, CustomerState> = { decide, evolve, initialState, facts: customerFacts };
export * from './identity-claim';
