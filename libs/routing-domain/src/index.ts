export * from './routing.state';
export * from './routing.decide';
export * from './routing.errors';
export * from './routing.rules';
