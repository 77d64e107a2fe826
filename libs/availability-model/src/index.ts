export * from './availability.model';
export * from './invitation.writer';
export * from './availability.follower';
