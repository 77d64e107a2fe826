export * from './dashboards';
export * from './kubernetes.schemas';
export * from './rules';
