export * from './conversation.commands';
export * from './conversation.state';
export * from './conversation.decide';
export * from './conversation.decider';
export * from './conversation.errors';
export * from './channel-rules';
export * from './conversation.timings';
export * from './conversation.timeline';
