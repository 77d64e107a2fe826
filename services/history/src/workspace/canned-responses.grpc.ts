import { EVENT_CONTRACTS, streams, type WorkspaceEvent } from '@parley/contracts';
import type { ConversationCommand, ConversationState } from '@parley/conversation';
import type { CustomerProfile } from '@parley/customer';
import { ParleyError } from '@parley/errors';
import { DeciderStore, type EventLog } from '@parley/event-log';
import type { GrpcEdge, GrpcHandlers, Role } from '@parley/grpc-edge';
import {
  WORKSPACE_SNAPSHOT_SCHEMA_VERSION,
  firstNameOf,
  render,
  workspaceDecider,
  type CannedResponse,
  type WorkspaceCommand,
  type WorkspaceState,
} from '@parley/workspace';
import type { ConversationEvent } from '@parley/contracts';
import { ConversationNotFoundError, conversationStream } from '../conversations/conversations.grpc';
import { requireId } from '../grpc/request.validation';

export class CannedResponseNotFoundError extends ParleyError {
  readonly code = 'CANNED_RESPONSE_NOT_FOUND';
  readonly category = 'not_found' as const;
  constructor(readonly responseId: string) {
    super(`canned response ${responseId} not found`);
  }
  override details() {
    return { responseId: this.responseId };
  }
}

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];
const SUPERVISORS: readonly Role[] = ['supervisor', 'admin'];

interface ProtoResponse {
  readonly response_id: string;
  readonly shortcut: string;
  readonly title: string;
  readonly text: string;
}
const toProto = (responseId: string, r: CannedResponse): ProtoResponse => ({ response_id: responseId, shortcut: r.shortcut, title: r.title, text: r.text });

/** What the variables are filled in from: the conversation's customer, as the customer service knows them. */
export type CustomerContextOf = (
  tenantId: string,
  customerId: string,
) => Promise<{ profile: CustomerProfile; latestOrder: { id: string; status: string } | null }>;

/** CannedResponseService: the tenant's canned responses on its workspace stream, filled in per conversation. */
export class CannedResponsesGrpc {
  private readonly workspaces: DeciderStore<WorkspaceCommand, WorkspaceEvent, WorkspaceState>;

  constructor(
    log: EventLog,
    private readonly conversations: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>,
    private readonly customerContext: CustomerContextOf,
    private readonly edge: GrpcEdge,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    this.workspaces = new DeciderStore({
      log,
      decider: workspaceDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: WORKSPACE_SNAPSHOT_SCHEMA_VERSION,
      snapshotEvery: 200,
      cacheSize: 1_000,
    });
  }

  handlers(): GrpcHandlers {
    const e = this.edge;
    return {
      ListCannedResponses: e.unary('ListCannedResponses', AGENTS, async (_req: object, caller) => {
        const { state } = await this.workspaces.load(streams.workspace(caller.tenantId));
        return {
          responses: Object.entries(state.responses)
            .map(([id, r]) => toProto(id, r))
            .sort((a, b) => a.shortcut.localeCompare(b.shortcut)),
        };
      }),
      SaveCannedResponse: e.unary('SaveCannedResponse', SUPERVISORS, async (req: { response: ProtoResponse | null }, caller) => {
        const r = req.response;
        const responseId = requireId('response.response_id', r?.response_id ?? '');
        const { state } = await this.workspaces.handle(
          streams.workspace(caller.tenantId),
          { type: 'SaveCannedResponse', responseId, shortcut: r?.shortcut ?? '', title: r?.title ?? '', text: r?.text ?? '', at: this.now() },
          { tenantId: caller.tenantId, metadata: { actor: caller.subject, role: caller.role } },
        );
        return { response: toProto(responseId, state.responses[responseId]!) };
      }),
      DeleteCannedResponse: e.unary('DeleteCannedResponse', SUPERVISORS, async (req: { response_id: string }, caller) => {
        await this.workspaces.handle(
          streams.workspace(caller.tenantId),
          { type: 'DeleteCannedResponse', responseId: requireId('response_id', req.response_id), at: this.now() },
          { tenantId: caller.tenantId, metadata: { actor: caller.subject, role: caller.role } },
        );
        return {};
      }),
      RenderCannedResponse: e.unary('RenderCannedResponse', AGENTS, async (req: { conversation_id: string; response_id: string }, caller) => {
        const { state } = await this.workspaces.load(streams.workspace(caller.tenantId));
        const response = state.responses[requireId('response_id', req.response_id)];
        if (!response) throw new CannedResponseNotFoundError(req.response_id);
        const conversation = await this.conversations.load(conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id)));
        if (conversation.version === 0 || !conversation.state.customerId) throw new ConversationNotFoundError(req.conversation_id);
        const { profile, latestOrder } = await this.customerContext(caller.tenantId, conversation.state.customerId);
        return {
          text: render(response.text, {
            ...(profile.name ? { 'customer.name': profile.name, 'customer.first_name': firstNameOf(profile.name) } : {}),
            ...(profile.email ? { 'customer.email': profile.email } : {}),
            ...(profile.tier ? { 'customer.tier': profile.tier } : {}),
            'agent.id': caller.subject,
            ...(latestOrder ? { 'order.id': latestOrder.id, 'order.status': latestOrder.status } : {}),
          }),
        };
      }),
    };
  }
}
