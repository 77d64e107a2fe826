import type { Decider } from '@parley/decider';
import type { CustomerEvent } from '@parley/contracts';
import { decide, type CustomerCommand } from './customer.decide';
import { evolve, initialState, type CustomerState } from './customer.state';

export * from './customer.errors';
export * from './customer.state';
export * from './customer.decide';

export const customerDecider: Decider<CustomerCommand, CustomerEvent, CustomerState> = { decide, evolve, initialState };
export * from './identity-claim';
