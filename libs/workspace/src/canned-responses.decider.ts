import { CANNED_RESPONSE_LIMITS, CannedResponseShortcut, type WorkspaceEvent } from '@parley/contracts';
import type { Decider } from '@parley/decider';
import { InvalidArgumentError, ParleyError } from '@parley/errors';
import { checkTemplate } from './canned-response.template';

export interface CannedResponse {
  readonly shortcut: string;
  readonly title: string;
  readonly text: string;
}

/** The tenant's canned responses by id; bounded (CANNED_RESPONSE_LIMITS.perTenant), so the state stays small. */
export interface WorkspaceState {
  readonly responses: Readonly<Record<string, CannedResponse>>;
}

export type WorkspaceCommand =
  | { type: 'SaveCannedResponse'; responseId: string; shortcut: string; title: string; text: string; at: string }
  | { type: 'DeleteCannedResponse'; responseId: string; at: string };

export class ShortcutTakenError extends ParleyError {
  readonly code = 'SHORTCUT_TAKEN';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly shortcut: string,
    readonly responseId: string,
  ) {
    super(`the shortcut ${shortcut} is taken by another canned response`);
  }
  override details() {
    return { shortcut: this.shortcut, responseId: this.responseId };
  }
}

export const initialState = (): WorkspaceState => ({ responses: {} });

export function decide(command: WorkspaceCommand, state: WorkspaceState): WorkspaceEvent[] {
  switch (command.type) {
    case 'SaveCannedResponse': {
      if (!CannedResponseShortcut.safeParse(command.shortcut).success)
        throw new InvalidArgumentError('invalid canned response', [{ field: 'shortcut', description: 'lowercase letters, digits and dashes, 1 to 32' }]);
      const title = command.title.trim();
      const text = command.text.trim();
      if (title.length === 0 || title.length > CANNED_RESPONSE_LIMITS.title)
        throw new InvalidArgumentError('invalid canned response', [{ field: 'title', description: `1 to ${CANNED_RESPONSE_LIMITS.title} characters` }]);
      if (text.length === 0 || text.length > CANNED_RESPONSE_LIMITS.text)
        throw new InvalidArgumentError('invalid canned response', [{ field: 'text', description: `1 to ${CANNED_RESPONSE_LIMITS.text} characters` }]);
      checkTemplate(text);
      const holder = Object.entries(state.responses).find(([id, r]) => r.shortcut === command.shortcut && id !== command.responseId);
      if (holder) throw new ShortcutTakenError(command.shortcut, holder[0]);
      const current = state.responses[command.responseId];
      if (!current && Object.keys(state.responses).length >= CANNED_RESPONSE_LIMITS.perTenant)
        throw new InvalidArgumentError('too many canned responses', [
          { field: 'response_id', description: `at most ${CANNED_RESPONSE_LIMITS.perTenant} per tenant; delete one first` },
        ]);
      if (current && current.shortcut === command.shortcut && current.title === title && current.text === text) return [];
      return [{ type: 'workspace.canned-response-saved', data: { responseId: command.responseId, shortcut: command.shortcut, title, text, at: command.at } }];
    }
    case 'DeleteCannedResponse':
      return state.responses[command.responseId]
        ? [{ type: 'workspace.canned-response-deleted', data: { responseId: command.responseId, at: command.at } }]
        : [];
  }
}

export function evolve(state: WorkspaceState, event: WorkspaceEvent): WorkspaceState {
  switch (event.type) {
    case 'workspace.canned-response-saved': {
      const { responseId, shortcut, title, text } = event.data;
      return { responses: { ...state.responses, [responseId]: { shortcut, title, text } } };
    }
    case 'workspace.canned-response-deleted': {
      const { [event.data.responseId]: _gone, ...rest } = state.responses;
      return { responses: rest };
    }
  }
}

export const workspaceDecider: Decider<WorkspaceCommand, WorkspaceEvent, WorkspaceState> = { decide, evolve, initialState };
/** Bumped with the state's shape. */
export const WORKSPACE_SNAPSHOT_SCHEMA_VERSION = 1;
