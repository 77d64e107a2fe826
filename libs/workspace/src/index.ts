export * from './canned-responses.decider';
export * from './canned-response.template';
