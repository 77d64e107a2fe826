import type { ServerWritableStream } from '@grpc/grpc-js';
import { InvalidArgumentError } from '@parley/errors';
import { EventLoopTurns, type EventLog } from '@parley/event-log';
import type { GrpcEdge, GrpcHandlers, Role } from '@parley/grpc-edge';
import { timestamp } from '../conversations/conversation.mapper';

const SUBSCRIBERS: readonly Role[] = ['integration', 'supervisor', 'admin'];

interface SubscribeRequest {
  after_position: number;
  types: string[];
}

/**
 * The tenant's whole feed, from a position, then live. Positions only grow, so a
 * client that stores the last position it handled resumes after a disconnect
 * with nothing lost and nothing repeated.
 */
export class EventsGrpc {
  constructor(
    private readonly log: EventLog,
    private readonly edge: GrpcEdge,
    private readonly pollMs = 200,
  ) {}

  handlers(): GrpcHandlers {
    return {
      Subscribe: this.edge.serverStream(
        'Subscribe',
        SUBSCRIBERS,
        async (req: SubscribeRequest, caller, call: ServerWritableStream<SubscribeRequest, unknown>) => {
          if (!Number.isSafeInteger(req.after_position) || req.after_position < 0)
            throw new InvalidArgumentError('invalid request', [{ field: 'after_position', description: 'a position from 0 up' }]);
          const types = new Set(req.types);
          let checkpoint = req.after_position;
          let open = true;
          const turns = new EventLoopTurns();
          call.on('cancelled', () => (open = false));
          call.on('close', () => (open = false));
          while (open) {
            const page = await this.log.readAll({ after: checkpoint, limit: 500 });
            await turns.pause();
            for (const e of page.events) {
              if (e.tenantId !== caller.tenantId || (types.size > 0 && !types.has(e.type))) continue;
              const flushed = call.write({
                position: e.position,
                id: e.id,
                type: e.type,
                schema_version: e.schemaVersion,
                stream_id: e.streamId,
                stream_version: e.streamVersion,
                occurred_at: timestamp(e.occurredAt),
                data_json: JSON.stringify(e.data),
                correlation_id: e.correlationId,
              });
              // Back-pressure: wait for a slow client instead of buffering without bound.
              if (!flushed) await new Promise((resolve) => call.once('drain', resolve));
            }
            checkpoint = page.checkpoint;
            if (page.events.length === 0) await new Promise((resolve) => setTimeout(resolve, this.pollMs));
          }
        },
      ),
    };
  }
}
