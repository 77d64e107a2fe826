import type { Readable } from 'node:stream';
import { ATTACHMENT_LIMITS, type ConversationEvent } from '@parley/contracts';
import { blobIdOf, blobRef, type BlobStore } from '@parley/blob-store';
import type { ConversationCommand, ConversationState } from '@parley/conversation';
import { InvalidArgumentError, ParleyError } from '@parley/errors';
import type { DeciderStore } from '@parley/event-log';
import type { GrpcEdge, GrpcHandlers, Role } from '@parley/grpc-edge';
import { requireId } from '../grpc/request.validation';
import { ConversationNotFoundError, conversationStream } from './conversations.grpc';

export class AttachmentNotFoundError extends ParleyError {
  readonly code = 'ATTACHMENT_NOT_FOUND';
  readonly category = 'not_found' as const;
}

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];

const toProto = (ref: string, meta: { mimeType: string; sizeBytes: number; name?: string }) => ({
  ref,
  mime_type: meta.mimeType,
  size_bytes: meta.sizeBytes,
  name: meta.name ?? '',
});

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Agents' attachments: stored for the conversation's customer (erased with them), read back by tenant. */
export class AttachmentsGrpc {
  constructor(
    private readonly blobs: BlobStore,
    private readonly conversations: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>,
    private readonly edge: GrpcEdge,
  ) {}

  handlers(): GrpcHandlers {
    const e = this.edge;
    return {
      UploadAttachment: e.unary(
        'UploadAttachment',
        AGENTS,
        async (req: { conversation_id: string; name: string; mime_type: string; data: Buffer | null }, caller) => {
          const data = req.data ?? Buffer.alloc(0);
          const violations = [
            ...(data.length === 0 || data.length > ATTACHMENT_LIMITS.maxBytes
              ? [{ field: 'data', description: `1 byte to ${ATTACHMENT_LIMITS.maxBytes / 1024 / 1024} MiB; this one has ${data.length}` }]
              : []),
            ...(!(ATTACHMENT_LIMITS.mimeTypes as readonly string[]).includes(req.mime_type)
              ? [{ field: 'mime_type', description: `one of ${ATTACHMENT_LIMITS.mimeTypes.join(', ')}` }]
              : []),
            ...(req.name.length > 255 ? [{ field: 'name', description: 'at most 255 characters' }] : []),
          ];
          if (violations.length > 0) throw new InvalidArgumentError('invalid attachment', violations);
          const { state, version } = await this.conversations.load(conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id)));
          if (version === 0 || !state.customerId) throw new ConversationNotFoundError(req.conversation_id);
          const stored = await this.blobs.put(
            { tenantId: caller.tenantId, ownerId: state.customerId, mimeType: req.mime_type, ...(req.name ? { name: req.name } : {}) },
            data,
          );
          return { attachment: toProto(blobRef(stored.id), stored.meta) };
        },
      ),
      GetAttachment: e.unary('GetAttachment', AGENTS, async (req: { ref: string }, caller) => {
        const id = blobIdOf(req.ref);
        if (!id) throw new InvalidArgumentError('invalid attachment ref', [{ field: 'ref', description: 'an attachment stored by Parley: blob:<id>' }]);
        const found = await this.blobs.get(caller.tenantId, id);
        if (!found) throw new AttachmentNotFoundError('no such attachment');
        return { attachment: toProto(req.ref, found.meta), data: await bytesOf(found.stream) };
      }),
    };
  }
}
