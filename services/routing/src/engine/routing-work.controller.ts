import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { fromCloudEventMessage } from '@parley/event-log';
import { BUS_TRANSPORT, type IncomingMessage } from '@parley/message-bus';
import { RoutingWork, WORK_TOPIC, type Work } from './routing.work';

/** The routing service's Kafka consumers, served by RoutingWork's BusTransport (one group per topic). */
@Controller()
export class RoutingWorkController {
  constructor(@Inject(RoutingWork) private readonly routing: RoutingWork) {}

  @EventPattern(WORK_TOPIC, BUS_TRANSPORT)
  work(@Payload() message: IncomingMessage): Promise<void> {
    return this.routing.work(JSON.parse(message.value?.toString() ?? '{}') as Work);
  }

  @EventPattern('parley.conversation.events', BUS_TRANSPORT)
  intake(@Payload() message: IncomingMessage): Promise<void> {
    return this.routing.intake(fromCloudEventMessage(message));
  }

  @EventPattern('parley.agent.events', BUS_TRANSPORT)
  agents(@Payload() message: IncomingMessage): Promise<void> {
    return this.routing.agents(fromCloudEventMessage(message));
  }
}
