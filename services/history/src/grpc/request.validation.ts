import { InvalidArgumentError } from '@parley/errors';

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** Ids from requests become parts of stream names: plain characters only, or INVALID_ARGUMENT. */
export function requireId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value))
    throw new InvalidArgumentError('invalid request', [{ field, description: 'letters, digits and . _ : @ -, at most 128' }]);
  return value;
}
