import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AVAILABILITY_MODEL_TYPES, AvailabilityModel, InvitationWriter, followAvailability } from '@parley/availability-model';
import { CustomerDirectory } from '@parley/customer-directory';
import { deriveKey, sharedTailEventLog, unionOfTypes } from '@parley/event-log';
import { ServiceApplication } from '@parley/grpc-edge';
import { HealthRegistry, collectProcessMetrics, createLogger, defaultRegistry, type Registry } from '@parley/observability';
import { BusProjectionFeed, ProjectionRunner } from '@parley/read-model';
import { eventsTopic } from '@parley/contracts';
import { openStorage, type Storage } from '@parley/storage';
import { secretsByTenant, type IngressConfig } from './config/ingress.config';
import { LIVE_VISITORS, LiveController } from './http/live.controller';
import { WIDGET_OFFERS, WidgetController, type WidgetOffers } from './http/widget.controller';
import { AttachmentsController, VISITOR_ATTACHMENTS } from './http/attachments.controller';
import { LiveChatGateway } from './live/live-chat.gateway';
import { LIVE_FEED_TYPES, LiveFeed } from './live/live.feed';
import { SharedLiveConnections } from './live/shared-live.connections';
import { VisitorTokens } from './live/visitor.tokens';
import { IngressWebhooks } from './http/ingress.webhooks';
import { INGRESS_WEBHOOKS, WebhooksController } from './http/webhooks.controller';
import { InboundRecorder } from './inbound/inbound.recorder';
import { ChannelMedia } from './inbound/channel.media';
import { KafkaIntake, RecordingIntake } from './inbound/inbound.intake';
import { INBOUND_RECORDER, InboundTopicController, ensureInboundTopic, inboundTopicTransport } from './inbound/inbound-topic.controller';
import { MessengerConnector } from './outbound/messenger.connector';
import { AppleConnector } from './outbound/apple.connector';
import { KafkaChannelConnector } from './outbound/kafka-channel.connector';
import { CHANNEL_LOGGER, CHANNEL_RECORDER, ChannelTopicsController, channelTopicsTransport, ensureChannelTopics } from './channels/channel-topics.controller';
import { BusErrorFilter, KafkaBus, type MessageBus } from '@parley/message-bus';
import { DISPATCHED_TYPES, outboundDispatcher } from './outbound/outbound.dispatcher';
import { metaChannelOf, refuseOversizedBeforeContinue } from './http/meta-webhook.route';
import { WidgetOrigins } from './http/widget.origins';
import { RateLimiter } from './outbound/rate.limiter';
import { WhatsAppConnector } from './outbound/whatsapp.connector';
import { warmUpWebhooks } from './warmup/webhook.warmup';

/** Bodies the Nest routes take (Apple's webhook, the widget's requests). */
const BODY_LIMIT_BYTES = 2 * 1024 * 1024;
/** `application/json`, or a `+json` type, as body-parser's default takes it. */
const isJson = (req: IncomingMessage) => /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
export interface RunningIngress {
  readonly httpPort: number;
  readonly recorder: InboundRecorder;
  /** Stops taking webhooks, finishes those in flight, stops delivering, closes the stores. */
  close(): Promise<void>;
}

/** The ingress service: channel webhooks in over HTTP, replies out through each channel's API. */
export async function startIngress(
  config: IngressConfig,
  options: { registry?: Registry; health?: HealthRegistry; bus?: MessageBus; storage?: Storage } = {},
): Promise<RunningIngress> {
  const logger = createLogger('ingress');
  const registry = options.registry ?? defaultRegistry();
  if (!options.registry) collectProcessMetrics(registry);
  // Composed in one process (npm start), every service reports to the process's one registry.
  const health = options.health ?? new HealthRegistry();
  // Channels over Kafka: the bus given (npm start passes the in-process one), or Kafka when configured.
  const ownBus =
    !options.bus && config.PARLEY_KAFKA_BROKERS
      ? new KafkaBus({
          brokers: config.PARLEY_KAFKA_BROKERS.split(',').map((b) => b.trim()),
          clientId: 'parley-ingress',
          namespace: config.PARLEY_KAFKA_NAMESPACE,
          registry,
          logger,
        })
      : null;
  const bus = options.bus ?? ownBus;
  // Shared when several services run in one process (npm start): one SQLite connection.
  // Alone, the service publishes the messages it records as soon as they are appended.
  const storage =
    options.storage ?? (await openStorage(config, registry, bus ? { publish: { bus, logger, loop: (name) => health.loop(`ingress:${name}`) } } : {}));
  const directory = new CustomerDirectory(storage.log, deriveKey(storage.masterKey, 'identity-claims'));
  const accounts = config.PARLEY_CHANNELS;
  const media = new ChannelMedia(storage.blobs, accounts, config.PARLEY_GRAPH_BASE_URL, deriveKey(storage.masterKey, 'blob-ids'), logger);
  const recorder = new InboundRecorder(storage.log, directory, logger, registry, media);
  if (bus) await ensureChannelTopics(bus);
  // The dispatcher, the live feed and the availability model follow the log as
  // stored; they share one read of each new page instead of three, of the types
  // they follow only (not the identity and customer events of a first contact).
  const tail = sharedTailEventLog(storage.raw, undefined, unionOfTypes([DISPATCHED_TYPES, LIVE_FEED_TYPES, AVAILABILITY_MODEL_TYPES]));
  const policy = { attempts: config.PARLEY_OUTBOUND_ATTEMPTS, backoffMs: config.PARLEY_OUTBOUND_BACKOFF_MS };
  const dispatchLoop = config.PARLEY_INGRESS_OUTBOUND ? health.loop('ingress:projection:outbound-dispatch') : undefined;
  const dispatch = outboundDispatcher({
    connectors: [
      new WhatsAppConnector(accounts.whatsapp, config.PARLEY_GRAPH_BASE_URL, policy, storage.blobs),
      new MessengerConnector(accounts.messenger, config.PARLEY_GRAPH_BASE_URL, policy),
      new AppleConnector(accounts.apple, config.PARLEY_APPLE_GATEWAY_URL, policy),
      ...(bus ? (['sms', 'email', 'custom'] as const).map((c) => new KafkaChannelConnector(c, bus)) : []),
    ],
    directory,
    recorder,
    open: (event) => storage.log.openEvent(event),
    perAccount: new RateLimiter(config.PARLEY_OUTBOUND_RATE_PER_NUMBER, config.PARLEY_OUTBOUND_RATE_PER_NUMBER),
    perRecipient: new RateLimiter(config.PARLEY_OUTBOUND_RATE_PER_RECIPIENT, 5),
    maxAgeMs: config.PARLEY_OUTBOUND_MAX_AGE_MS,
    logger,
    registry,
  });
  const dispatcher = new ProjectionRunner({
    // Read as stored: most events are not replies, and need not be decrypted.
    log: tail,
    store: storage.readModels,
    logger,
    registry,
    batchSize: 100,
    projection: dispatch,
    // Fed by the bus: a conversation's replies go out in its order even when two writers
    // published them out of it (the missing one is read from the stream and sent first).
    inStreamOrder: bus !== null && config.PARLEY_INGRESS_OUTBOUND,
    newStreamsAsDelivered: true,
    ...(bus || !dispatchLoop ? {} : { progress: dispatchLoop }),
  });
  // With a bus, replies are sent by the replica that owns the conversation's partition
  // of parley.conversation.events (one consumer group for all replicas); without one
  // (a lone instance on SQLite), by following the log.
  const dispatchFeed =
    bus && config.PARLEY_INGRESS_OUTBOUND
      ? new BusProjectionFeed({
          bus,
          runner: dispatcher,
          projection: dispatch,
          groupId: 'parley-ingress-outbound',
          topics: [eventsTopic('conversation')],
          ...(dispatchLoop ? { progress: dispatchLoop } : {}),
        })
      : null;
  if (!dispatchFeed && config.PARLEY_INGRESS_OUTBOUND) dispatcher.start();
  // With its own Kafka, a webhook is answered once its events are on Kafka; the replica that
  // owns the customer's partition records them. Alone, or in one process with the others: recorded first.
  if (ownBus) await ensureInboundTopic(ownBus);
  const webhooks = new IngressWebhooks(accounts, ownBus ? new KafkaIntake(ownBus) : new RecordingIntake(recorder), logger, registry);
  const tokens = new VisitorTokens(deriveKey(storage.masterKey, 'visitor-tokens'), secretsByTenant(config.PARLEY_IDENTITY_SECRETS));
  const feed = new LiveFeed(tail, (event) => storage.log.openEvent(event), logger);
  // With its own Kafka, the live feed and the availability model follow the bus, in groups of
  // this replica's own (each needs every conversation); in one process with the others, the log.
  const instance = randomUUID();
  const feedConsumer = ownBus ? feed.onBus(ownBus, { label: 'parley-ingress-live', instance }, health.loop('ingress:live-feed')) : null;
  if (!feedConsumer) await feed.start(health.loop('ingress:live-feed'));
  const origins = new WidgetOrigins(config.PARLEY_WIDGET_ORIGINS);
  // With Kafka, a visitor's tabs on different replicas are one session (see SharedLiveConnections).
  const sharedLive = ownBus
    ? new SharedLiveConnections(
        ownBus,
        instance,
        logger,
        registry,
        (stream, owner) =>
          void live
            .endAbandoned(stream, owner)
            .catch((error: unknown) => logger.error({ err: (error as Error)?.message }, 'could not end an abandoned live-chat session')),
      )
    : undefined;
  await sharedLive?.start();
  const live = new LiveChatGateway(
    tokens,
    directory,
    recorder,
    feed,
    (stream, options) => storage.log.readStream(stream, options),
    config.PARLEY_LIVE_SESSION_GRACE_MS,
    logger,
    registry,
    origins,
    sharedLive,
  );
  health.addReadinessCheck('event-log', async () => ({ ok: (await storage.raw.streamVersion('parley-health')) >= 0 }));
  if (dispatchFeed) health.addReadinessCheck('outbound-dispatch', async () => ({ ok: dispatchFeed.running() }));
  health.addReadinessCheck('live-feed', async () => ({ ok: feed.running() }));
  // The widget's offer, from availability's own events in the log: a read model of
  // this service's, so a page view costs no call to another service.
  const availability = new AvailabilityModel(tail, logger);
  const following = await followAvailability(availability, {
    bus: ownBus,
    log: storage.raw,
    group: { label: 'parley-ingress-availability-model', instance },
    progress: health.loop('ingress:availability-model'),
  });
  health.addReadinessCheck('availability-model', async () => ({ ok: following.running() }));
  const invitations = new InvitationWriter(following.writers(storage.log), availability, registry);
  const liveTenants = new Set(
    config.PARLEY_LIVE_TENANTS.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
  const offers: WidgetOffers = {
    origins,
    visitorOf: (token) => tokens.verify(token),
    verifiedAttributes: (tenantId, token) => tokens.attributes(tenantId, token),
    offer: (tenant, queue) => availability.offer(tenant, queue, new Date().toISOString()),
    onChange: (listener) => availability.onChange(listener),
    tenants: liveTenants,
    // The visitor's own stream: what was shown and answered decides the next page view (once per period).
    invite: ({ tenantId, visitorId }, queueId, view) =>
      invitations.evaluate({ tenantId, queueId, visitorId, view, at: new Date().toISOString(), actor: 'channel:web' }),
    answer: ({ tenantId, visitorId }, ruleId, accepted) =>
      invitations.answer({ tenantId, visitorId, ruleId, accepted, at: new Date().toISOString(), actor: 'channel:web' }),
  };

  // Before listening: the first requests a new instance gets meet compiled code.
  await warmUpWebhooks(config.PARLEY_INGRESS_WARMUP_MESSAGES, logger, registry);
  // The followers' consumers: each a bus transport of its own with the controller of its @EventPattern handlers.
  const followers = [dispatchFeed?.consumer, feedConsumer, following.consumer, sharedLive?.consumer].filter((c) => c !== undefined && c !== null);
  const service = await ServiceApplication.create({
    logger,
    registry,
    health,
    // Meta's webhooks read their body themselves (the raw bytes for the signature, a size
    // limit while it streams): the JSON parser below passes over them.
    bodyParser: false,
    controllers: [
      WebhooksController,
      LiveController,
      WidgetController,
      AttachmentsController,
      ...(bus ? [ChannelTopicsController] : []),
      ...(ownBus ? [InboundTopicController] : []),
      ...followers.map((c) => c.controller),
    ],
    providers: [
      { provide: INGRESS_WEBHOOKS, useValue: webhooks },
      { provide: LIVE_VISITORS, useValue: { tokens, tenants: liveTenants, origins } },
      { provide: WIDGET_OFFERS, useValue: offers },
      {
        provide: VISITOR_ATTACHMENTS,
        useValue: { blobs: storage.blobs, origins, customerOf: (token: string, identity: string | null) => live.visitorCustomer(token, identity) },
      },
      { provide: CHANNEL_RECORDER, useValue: recorder },
      { provide: INBOUND_RECORDER, useValue: recorder },
      { provide: CHANNEL_LOGGER, useValue: logger },
    ],
    // Visitors' sockets first: their sessions stay open for a tab that reconnects elsewhere.
    beforePortsClose: async () => {
      await live.close();
      sharedLive?.stop();
    },
    afterPortsClose: async () => {
      await feed.stop();
      await following.stop();
      await dispatcher.stop();
      if (!options.storage) await storage.close();
      await ownBus?.close();
    },
  });
  const http = service.app as NestExpressApplication;
  http.useBodyParser('json', { limit: BODY_LIMIT_BYTES, type: (req: IncomingMessage) => metaChannelOf(req) === null && isJson(req) });
  live.attach(http.getHttpServer());
  refuseOversizedBeforeContinue(http.getHttpServer() as Server, webhooks, BODY_LIMIT_BYTES);
  // Before the webhooks and the widget are served: the availability model rebuilt, the live feed and the dispatcher on the bus.
  for (const consumer of followers) await service.connect(consumer.transport, { filters: [new BusErrorFilter()] });
  if (bus) {
    // Channel integrations' messages, and with its own Kafka the webhooks' accepted events,
    // through bus transports' @EventPattern handlers.
    // A consumer down for longer than the loops may be stuck (crashing again and again): its loop fails liveness too.
    const consumers = [
      { name: 'channel-topics', transport: channelTopicsTransport(bus, health.loop('ingress:channel-topics')) },
      ...(ownBus ? [{ name: 'inbound', transport: inboundTopicTransport(ownBus, health.loop('ingress:inbound')) }] : []),
    ];
    for (const { name, transport } of consumers) {
      await service.connect(transport, { filters: [new BusErrorFilter()] });
      health.addReadinessCheck(name, async () => ({ ok: transport.running() }));
    }
  }
  const httpPort = await service.listen(config.PARLEY_INGRESS_HTTP_PORT, config.PARLEY_INGRESS_HTTP_HOST);
  logger.info({ httpPort }, 'ingress service running');

  return { httpPort, recorder, close: () => service.close() };
}
