import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

/** What is kept beside the bytes: whose they are, and what they are. */
export interface BlobMeta {
  readonly tenantId: string;
  /** The customer the attachment belongs to: erasing the customer deletes it. */
  readonly ownerId: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
  readonly name?: string;
}

export interface StoredBlob {
  /** Unguessable (128 random bits): an attachment's reference is `blob:<id>`. */
  readonly id: string;
  readonly meta: BlobMeta;
}

/**
 * Where attachments' bytes live (the log holds references only). Reads are by
 * tenant: another tenant's id is not found, exactly as an id that does not exist.
 */
export interface BlobStore {
  /**
   * Stores the bytes under a new id, or under `id` when given (derived from what
   * they are, e.g. a channel's media id): putting the same id again stores nothing new.
   */
  put(meta: Omit<BlobMeta, 'sizeBytes'>, bytes: Buffer, id?: string): Promise<StoredBlob>;
  get(tenantId: string, id: string): Promise<{ readonly meta: BlobMeta; readonly stream: Readable } | null>;
  /** What a blob is, without opening its bytes; null as get would be. */
  stat(tenantId: string, id: string): Promise<BlobMeta | null>;
  /** Erasure: every blob of the customer goes; returns how many. */
  deleteOwnedBy(tenantId: string, ownerId: string): Promise<number>;
  close(): Promise<void>;
}

export const newBlobId = () => randomBytes(16).toString('base64url');
export const BLOB_REF_PREFIX = 'blob:';
export const blobRef = (id: string) => `${BLOB_REF_PREFIX}${id}`;
/** The blob id of an attachment reference, or null for a reference of another kind (a URL, a channel's media id). */
export const blobIdOf = (ref: string): string | null => (ref.startsWith(BLOB_REF_PREFIX) && /^[A-Za-z0-9_-]{22}$/.test(ref.slice(5)) ? ref.slice(5) : null);
