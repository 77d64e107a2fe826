export * from './availability.model';
export * from './invitation.writer';
