export * from './parley.error';
export * from './issues';
