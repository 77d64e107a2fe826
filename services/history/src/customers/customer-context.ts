import { streams, type Identity } from '@parley/contracts';
import type { CustomerCommand } from '@parley/customer';
import type { CustomerDirectory } from '@parley/customer-directory';
import { timeOrderedId } from '@parley/event-log';

/** Who changes the customer's context: the brand's system as its token (gRPC) or its topic (Kafka) names it. */
export interface ContextActor {
  readonly tenantId: string;
  readonly subject: string;
  readonly role: string;
}

/**
 * Customer context from the brand's systems, whichever way it comes (gRPC or
 * the `parley.customer.context` topic): the command runs on the customer the
 * identity names, registered when nobody holds it — the brand's own systems
 * vouch for their identities (proof `brand-api`).
 */
export class CustomerContext {
  constructor(
    private readonly directory: CustomerDirectory,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  async apply(actor: ContextActor, identity: Identity, command: (at: string) => CustomerCommand) {
    const at = this.now();
    const { customerId, created } = await this.directory.resolve({ tenantId: actor.tenantId, actor: actor.subject }, identity, 'brand-api', timeOrderedId, at);
    const result = await this.directory.customers.handle(streams.customer(actor.tenantId, customerId), command(at), {
      tenantId: actor.tenantId,
      metadata: { subjectId: customerId, actor: actor.subject, role: actor.role },
    });
    return { customerId, created, result };
  }
}
