export * from './business-hours';
export * from './offer';
export * from './targeting';
export * from './availability.deciders';
