/**
 * Walks the personal paths of an event's data ("text", "attachments[].ref",
 * "template.parameters[]") and replaces each value found with `change(value)`.
 * Returns a new object; the input is not modified. Only the objects on a
 * changed path are copied: the rest is shared, as event data is never mutated
 * (a deep clone per event was a tenth of the ingress's CPU at 1,000 messages/s).
 */
export function mapPaths(data: unknown, paths: readonly string[], change: (value: unknown) => unknown): unknown {
  let result = data;
  for (const path of paths) result = mapPath(result, path.split('.'), change);
  return result;
}

function mapPath(node: unknown, segments: readonly string[], change: (value: unknown) => unknown): unknown {
  if (segments.length === 0) return node === undefined ? node : change(node);
  if (node === null || typeof node !== 'object') return node;
  const [head, ...rest] = segments as [string, ...string[]];
  const each = head.endsWith('[]');
  const key = each ? head.slice(0, -2) : head;
  const record = node as Record<string, unknown>;
  if (!(key in record)) return node;
  const value = record[key];
  if (each) {
    if (!Array.isArray(value)) return node;
    return { ...record, [key]: value.map((item) => mapPath(item, rest, change)) };
  }
  return { ...record, [key]: mapPath(value, rest, change) };
}
