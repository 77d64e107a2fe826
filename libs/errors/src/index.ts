export * from './parley.error';
