import { z } from 'zod';
import { Instant } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * A lease taken or renewed: `holder` does the lease's work until `until`, unless it
 * renews. Stream `parley-lease-<name>`, internal to the log (never published):
 * the next version of the stream is the only way to take or renew the lease, so
 * two candidates can never both hold it from the same state.
 */
export const LeaseHeld = contract(
  'lease.held',
  1,
  z.object({ name: z.string().min(1).max(64), holder: z.string().min(1).max(200), until: Instant, at: Instant }),
);

export const LEASE_EVENTS = [LeaseHeld] as const;
