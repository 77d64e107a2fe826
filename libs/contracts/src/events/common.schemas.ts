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
