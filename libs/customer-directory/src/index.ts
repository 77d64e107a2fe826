export * from './customer.directory';
