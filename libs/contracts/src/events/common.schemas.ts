import { z } from 'zod';

export const Instant = z.iso.datetime({ offset: true });
export const Id = z.string().min(1).max(200);

/** Channels a customer can reach a brand on. */
export const Channel = z.enum(['web', 'whatsapp', 'messenger', 'apple', 'email', 'sms', 'custom']);
export type Channel = z.infer<typeof Channel>;

/** An attachment is a reference (media id or URL) with its type and size, never the bytes. */
export const Attachment = z.object({
  ref: z.string().min(1).max(2048),
  mimeType: z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/i),
  sizeBytes: z.number().int().min(0),
  name: z.string().max(255).optional(),
});
export type Attachment = z.infer<typeof Attachment>;

export const Author = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('agent'), agentId: Id }),
  z.object({ kind: z.literal('bot'), botId: Id }),
  z.object({ kind: z.literal('system') }),
]);
export type Author = z.infer<typeof Author>;

export const Template = z.object({
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(15),
  parameters: z.array(z.string().max(1024)).max(50),
});
export type Template = z.infer<typeof Template>;

/**
 * What the brand's website says of the visitor on the page it shows (cart value,
 * plan...): snake_case keys, scalar values, at most 20. Unsigned, it only steers
 * the site's own invitations and is shown to agents as unverified; signed by the
 * brand (HS256 with its identity secret) it is trusted: it becomes the customer's attributes.
 */
export const PAGE_ATTRIBUTE_LIMIT = 20;
export const PageAttributes = z
  .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, 1 to 64 characters'), z.union([z.string().max(256), z.number().finite(), z.boolean()]))
  .refine((a) => Object.keys(a).length <= PAGE_ATTRIBUTE_LIMIT, `at most ${PAGE_ATTRIBUTE_LIMIT} attributes`);
export type PageAttributes = z.infer<typeof PageAttributes>;

/** What agents and widget visitors may upload as attachments (channels' own media is kept as they send it, up to 25 MiB). */
export const ATTACHMENT_LIMITS = {
  maxBytes: 10 * 1024 * 1024,
  mimeTypes: ['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'application/pdf', 'text/plain'],
} as const;
