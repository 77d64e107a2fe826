import type { IncomingMessage } from '../message-bus.port';

/** Tenant and correlation of a CloudEvent message, for its handler's logs (ids, never personal data). */
export function logFieldsOf(message: IncomingMessage): Record<string, string> {
  const fields: Record<string, string> = {};
  if (message.headers['ce_tenantid']) fields['tenant_id'] = message.headers['ce_tenantid'];
  if (message.headers['ce_correlationid']) fields['correlation_id'] = message.headers['ce_correlationid'];
  return fields;
}
