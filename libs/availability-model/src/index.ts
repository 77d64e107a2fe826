export * from './availability.model';
