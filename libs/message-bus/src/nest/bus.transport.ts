import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom, throwError, type Observable } from 'rxjs';
import type { LoopProgress } from '@parley/observability';
import type { DeliveryContext, IncomingMessage, MessageBus, RetryPolicy, Subscription, TopicOffsets } from '../message-bus.port';

/** The bus's default transport id. Name it (`@EventPattern(topic, BUS_TRANSPORT)`): Nest gives a pattern that names no transport to every transport of the application. */
export const BUS_TRANSPORT = Symbol('parley.bus');

/** What a handler gets with `@Ctx()`: the raw message and its delivery attempt. */
export class BusContext extends BaseRpcContext<[IncomingMessage, DeliveryContext]> {
  getMessage(): IncomingMessage {
    return this.args[0];
  }
  getTopic(): string {
    return this.args[0].topic;
  }
  getAttempt(): number {
    return this.args[1].attempt;
  }
}

export interface BusTransportOptions {
  readonly bus: MessageBus;
  /**
   * Several bus transports in one application each need an id of their own, and
   * each `@EventPattern(topic, id)` names the one it is served by (Nest gives a
   * pattern naming no transport to every transport). Default BUS_TRANSPORT.
   */
  readonly transportId?: symbol;
  /** The consumer group of this service: instances of one service share the work. */
  readonly groupId: string;
  /** The group is this instance's own (see SubscribeOptions.perInstance): spread `instanceGroup(...)` for both. */
  readonly perInstance?: { readonly label: string };
  /**
   * Where each partition begins, taken when the transport starts listening; a
   * follower takes the topics' end here and rebuilds from the log before it returns.
   */
  readonly startAt?: () => Promise<TopicOffsets>;
  /** Liveness: beaten every second while the consumer runs, idle or not. */
  readonly progress?: LoopProgress;
  /** Topics consumed in a group of their own (each group keeps its own offsets and partitions). */
  readonly groupOf?: Readonly<Record<string, string>>;
  readonly retry?: Partial<RetryPolicy>;
  readonly fromBeginning?: boolean;
  /** Turns a message into the handler's payload; default: the value parsed as JSON. */
  readonly decode?: (message: IncomingMessage) => unknown;
}

/**
 * Lets NestJS services consume the bus with `@EventPattern('<topic>')`.
 * Only events: Parley never does request/reply over the bus (gRPC does that).
 *
 * Handlers are called directly rather than through Server.handleEvent, because
 * that one does not surface a handler's error; here an error must reach the
 * bus so it retries and, in the end, dead-letters the message.
 */
export class BusTransport extends Server implements CustomTransportStrategy {
  /** Its own transport id: beside Nest's gRPC transport in one application, neither takes the other's handlers. */
  override readonly transportId: symbol;
  private subscriptions: Subscription[] = [];
  private watch: NodeJS.Timeout | undefined;

  constructor(private readonly options: BusTransportOptions) {
    super();
    this.transportId = options.transportId ?? BUS_TRANSPORT;
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      for (const [pattern, handler] of this.messageHandlers) {
        if (!handler.isEventHandler)
          throw new Error(`@MessagePattern('${pattern}') is not supported on the bus: use @EventPattern, and gRPC for request/reply`);
      }
      const byGroup = new Map<string, string[]>();
      for (const topic of this.messageHandlers.keys()) {
        const group = this.options.groupOf?.[topic] ?? this.options.groupId;
        byGroup.set(group, [...(byGroup.get(group) ?? []), topic]);
      }
      const { retry, fromBeginning, perInstance, progress } = this.options;
      const startAt = await this.options.startAt?.();
      for (const [groupId, topics] of byGroup)
        this.subscriptions.push(
          await this.options.bus.subscribe({
            groupId,
            topics,
            ...(retry ? { retry } : {}),
            ...(fromBeginning !== undefined ? { fromBeginning } : {}),
            ...(perInstance ? { perInstance } : {}),
            ...(startAt ? { startAt } : {}),
            handler: (message, delivery) => this.dispatch(message, delivery),
          }),
        );
      if (progress) {
        this.watch = setInterval(() => this.running() && progress.beat(), 1000);
        this.watch.unref();
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Whether the consumer takes messages now (readiness). */
  running(): boolean {
    return this.subscriptions.length > 0 && this.subscriptions.every((s) => s.running());
  }

  /** Lets the message in hand finish, commits, and leaves the group. */
  async close(): Promise<void> {
    clearInterval(this.watch);
    for (const s of this.subscriptions.splice(0)) await s.close();
  }

  on(): never {
    throw new Error('BusTransport has no status events; watch the bus metrics instead');
  }

  unwrap<T>(): T {
    return this.options.bus as T;
  }

  private async dispatch(message: IncomingMessage, delivery: DeliveryContext): Promise<void> {
    const handler = this.getHandlerByPattern(message.topic);
    if (!handler) throw new Error(`no handler for topic ${message.topic}`);
    const payload = this.options.decode ? this.options.decode(message) : message.value ? JSON.parse(message.value.toString('utf8')) : null;
    const result = await handler(payload, new BusContext([message, delivery]));
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }
}

/**
 * Hands a handler's error to the bus as thrown. Nest's default filter would turn it
 * into "Internal server error", and the bus could then neither tell a message that
 * can never succeed (dead-lettered at once) nor say why in the dead letter.
 * Use it on the application the BusTransport serves (`useGlobalFilters`).
 */
@Catch()
export class BusErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
