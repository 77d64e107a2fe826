export * from './read-model.port';
export * from './sqlite/sqlite.read-model';
export * from './mongo/mongo.read-model';
export * from './projection.runner';
export * from './bus.projection-feed';
export * from './stream-order';
export * from './bus.follower';
export * from './projection.parked';
