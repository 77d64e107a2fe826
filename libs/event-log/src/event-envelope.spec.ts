import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { version } from 'uuid';
import { timeOrderedId } from './event-envelope';

describe('time-ordered ids', () => {
  it('are UUID v7, unique, and in the order they were made, many to a millisecond', () => {
    const started = Date.now();
    const ids = Array.from({ length: 50_000 }, () => timeOrderedId());
    assert.ok(ids.every((id) => version(id) === 7));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    // The first 48 bits are the millisecond it was made in.
    const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(msOf(ids[0]!) >= started && msOf(ids.at(-1)!) <= Date.now() + 1);
    assert.ok(ids.some((id, i) => i > 0 && msOf(id) === msOf(ids[i - 1]!)), 'some ids share a millisecond, and still sort in order');
  });
});
