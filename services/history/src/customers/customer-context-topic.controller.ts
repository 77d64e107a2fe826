import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { CUSTOMER_CONTEXT_TOPICS, CustomerOrderChanged, CustomerProfileChanged, type EventContract } from '@parley/contracts';
import { isParleyError, ParleyError, describeIssues } from '@parley/errors';
import { BusTransport, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';
import type { z } from 'zod';
import type { CustomerContext } from './customer-context';

/** A message on parley.customer.context that can never be recorded as sent: set aside in the dead letters at once, with the reason. */
export class CustomerContextRefusedError extends ParleyError {
  readonly code: string;
  readonly category = 'invalid_argument' as const;
  readonly retryable = false;
  constructor(message: string, code = 'CUSTOMER_CONTEXT_MALFORMED') {
    super(message.slice(0, 500));
    this.code = code;
  }
}

export const CUSTOMER_CONTEXT_TRANSPORT = Symbol('parley.customer.context');
export const CUSTOMER_CONTEXT_GROUP = 'parley-history-customer-context';
export const CUSTOMER_CONTEXT = Symbol('CUSTOMER_CONTEXT');

/** The topic the brand's systems write to, made if missing, with its dead letters. */
export async function ensureCustomerContextTopic(bus: MessageBus): Promise<void> {
  await bus.ensureTopics([
    { name: CUSTOMER_CONTEXT_TOPICS.context, partitions: 12 },
    { name: `${CUSTOMER_CONTEXT_TOPICS.context}.dead-letter`, partitions: 1 },
  ]);
}

/** The history replicas share the topic's partitions; the log unreachable for a while is retried for minutes before a message is set aside. */
export function customerContextTransport(bus: MessageBus, progress?: LoopProgress): BusTransport {
  return new BusTransport({
    bus,
    ...(progress ? { progress } : {}),
    transportId: CUSTOMER_CONTEXT_TRANSPORT,
    groupId: CUSTOMER_CONTEXT_GROUP,
    retry: { maxAttempts: 30, initialBackoffMs: 200, maxBackoffMs: 30_000 },
    decode: (message) => message,
  });
}

/** Refusals that no retry changes: the input, or the customer (erased) as it stands. */
const FINAL = new Set(['invalid_argument', 'failed_precondition', 'not_found']);

/**
 * Profiles and orders from the brand's systems over Kafka, as CloudEvents in
 * binary mode: the same commands as CustomerService's UpdateCustomerProfile and
 * RecordCustomerOrder, with source `kafka`. Redelivery is harmless (only what
 * differs is recorded; an order once per id and status).
 */
@Controller()
export class CustomerContextTopicController {
  constructor(@Inject(CUSTOMER_CONTEXT) private readonly context: CustomerContext) {}

  @EventPattern(CUSTOMER_CONTEXT_TOPICS.context, CUSTOMER_CONTEXT_TRANSPORT)
  async changed(@Payload() message: IncomingMessage): Promise<void> {
    const type = message.headers['ce_type'];
    if (message.headers['ce_specversion'] !== '1.0')
      throw new CustomerContextRefusedError(`ce_specversion must be 1.0, not ${JSON.stringify(message.headers['ce_specversion'] ?? null).slice(0, 20)}`);
    let data: unknown;
    try {
      data = JSON.parse(message.value?.toString('utf8') ?? 'null');
    } catch {
      throw new CustomerContextRefusedError('the value is not JSON');
    }
    try {
      if (type === CustomerProfileChanged.type) {
        const d = parse(CustomerProfileChanged, message, data);
        await this.context.apply(actorOf(d.tenantId, message), d.identity, (at) => ({ type: 'UpdateProfile', profile: d.profile, source: 'kafka', at }));
      } else if (type === CustomerOrderChanged.type) {
        const d = parse(CustomerOrderChanged, message, data);
        await this.context.apply(actorOf(d.tenantId, message), d.identity, (at) => ({ type: 'RecordOrder', order: d.order, source: 'kafka', at }));
      } else throw new CustomerContextRefusedError(`unknown ce_type ${JSON.stringify(type ?? null).slice(0, 80)}`);
    } catch (error) {
      // A refusal of the customer as it stands (erased, a profile past its limits) is final: retrying changes nothing.
      if (isParleyError(error) && !(error instanceof CustomerContextRefusedError) && FINAL.has(error.category))
        throw new CustomerContextRefusedError(`${error.code}: ${error.message}`, error.code);
      throw error;
    }
  }
}

function parse<S extends z.ZodType>(contract: EventContract<string, S>, message: IncomingMessage, data: unknown): z.output<S> {
  const version = message.headers['ce_schemaversion'];
  // A version this Parley does not know may mean something else: refused rather than guessed at.
  if (version !== undefined && version !== String(contract.version))
    throw new CustomerContextRefusedError(`${contract.type}: schema version ${version.slice(0, 10)} is not supported (${contract.version} is)`);
  const parsed = contract.schema.safeParse(data);
  if (!parsed.success) throw new CustomerContextRefusedError(`${contract.type}: ${describeIssues(parsed.error.issues)}`);
  // The header and the data name one tenant, or the record is not trusted to mean either.
  const tenant = message.headers['ce_tenantid'];
  if (tenant !== undefined && tenant !== (parsed.data as { tenantId: string }).tenantId)
    throw new CustomerContextRefusedError(`${contract.type}: ce_tenantid and the data's tenantId differ`);
  return parsed.data;
}

/** The brand's system as the CloudEvent names it (its ce_source), for the events' metadata. */
function actorOf(tenantId: string, message: IncomingMessage) {
  const source = (message.headers['ce_source'] ?? 'kafka').slice(0, 200);
  return { tenantId, subject: `kafka:${source}`, role: 'integration' };
}
