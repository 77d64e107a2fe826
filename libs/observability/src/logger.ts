import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { activeLogFields } from './tracing';

export type { Logger } from 'pino';

/**
 * Paths that may hold personal data if someone logs a whole object by mistake.
 * Logs must never carry message text, names, phone numbers or e-mail addresses;
 * redaction is the safety net, not the rule.
 */
const PERSONAL_PATHS = [
  'text',
  'body',
  'name',
  'email',
  'phone',
  'data',
  '*.text',
  '*.body',
  '*.name',
  '*.email',
  '*.phone',
  '*.data',
  'headers.authorization',
  'req.headers.authorization',
];

export function createLogger(service: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: process.env['PARLEY_LOG_LEVEL'] ?? (process.env['NODE_ENV'] === 'test' ? 'warn' : 'info'),
    base: { service },
    redact: { paths: PERSONAL_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Inside a traced call or message: trace_id, span_id, tenant_id, correlation_id.
    mixin: activeLogFields,
    ...options,
  };
  return destination ? pino(settings, destination) : pino(settings);
}
