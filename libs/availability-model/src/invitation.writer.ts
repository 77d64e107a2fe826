import { streams } from '@parley/contracts';
import type { PageView, TargetingRule } from '@parley/availability-domain';
import type { EventLog } from '@parley/event-log';
import { counter, defaultRegistry, type Registry } from '@parley/observability';
import type { AvailabilityModel } from './availability.model';

/**
 * The one writer of proactive invitations on a visitor's stream, whoever asks
 * (the widget through the ingress, a site through AvailabilityService): the model
 * decides whether this page view gets one (targeting, once per period), and what
 * is shown and answered is appended and counted here, where it is written.
 */
export class InvitationWriter {
  private readonly shown;
  private readonly answered;

  constructor(
    private readonly log: EventLog,
    private readonly model: AvailabilityModel,
    registry: Registry = defaultRegistry(),
  ) {
    this.shown = counter(registry, { name: 'parley_invitations_shown_total', help: 'Proactive chat invitations shown to visitors.' });
    this.answered = counter(registry, {
      name: 'parley_invitations_answered_total',
      help: 'Proactive chat invitations answered by visitors, accepted or declined.',
      labelNames: ['answer'] as const,
    });
  }

  /** The invitation this page view gets, if any, recorded as shown; the model has seen it when this returns. */
  async evaluate(input: { tenantId: string; queueId: string; visitorId: string; view: PageView; at: string; actor: string }): Promise<TargetingRule | null> {
    const { tenantId, visitorId, at } = input;
    const rule = this.model.invitation(tenantId, input.queueId, visitorId, input.view, at);
    if (rule) {
      const result = await this.log.append(
        streams.visitor(tenantId, visitorId),
        [{ type: 'invitation.shown', tenantId, data: { visitorId, ruleId: rule.ruleId, at }, metadata: { actor: input.actor } }],
        'any',
      );
      if (!result.alreadyStored) this.shown.inc();
      await this.model.catchUp();
    }
    return rule;
  }

  async answer(input: { tenantId: string; visitorId: string; ruleId: string; accepted: boolean; at: string; actor: string }): Promise<void> {
    const { tenantId, visitorId } = input;
    const result = await this.log.append(
      streams.visitor(tenantId, visitorId),
      [
        {
          type: 'invitation.answered',
          tenantId,
          data: { visitorId, ruleId: input.ruleId, accepted: input.accepted, at: input.at },
          metadata: { actor: input.actor },
        },
      ],
      'any',
    );
    if (!result.alreadyStored) this.answered.inc({ answer: input.accepted ? 'accepted' : 'declined' });
    await this.model.catchUp();
  }
}
