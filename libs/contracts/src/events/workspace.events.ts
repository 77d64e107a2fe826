import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * A tenant's workspace: what its agents share, such as canned responses. One
 * stream per tenant (`workspace-<tenant>`); the brand's own words, no customer's
 * personal data.
 */

/** What agents type after `/` to find it, e.g. `refund-policy`. */
export const CannedResponseShortcut = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lowercase letters, digits and dashes, 1 to 32');
export const CANNED_RESPONSE_LIMITS = { perTenant: 500, text: 4096, title: 100 } as const;

/** A canned response saved, new or changed: its text may name variables such as {{customer.name}}. */
export const CannedResponseSaved = contract(
  'workspace.canned-response-saved',
  1,
  z.object({
    responseId: Id,
    shortcut: CannedResponseShortcut,
    title: z.string().trim().min(1).max(CANNED_RESPONSE_LIMITS.title),
    text: z.string().trim().min(1).max(CANNED_RESPONSE_LIMITS.text),
    at: Instant,
  }),
);
export const CannedResponseDeleted = contract('workspace.canned-response-deleted', 1, z.object({ responseId: Id, at: Instant }));

export const WORKSPACE_EVENTS = [CannedResponseSaved, CannedResponseDeleted] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type WorkspaceEvent = DataOf<(typeof WORKSPACE_EVENTS)[number]>;
