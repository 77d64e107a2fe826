export * from './events/common.schemas';
export * from './events/event-schema.registry';
export * from './events/conversation.events';
export * from './events/customer.events';
export * from './events/identity.events';
export * from './events/event-contracts';
export * from './streams';
export * from './events/channel.messages';
