export * from './business-hours';
export * from './offer';
export * from './targeting';
