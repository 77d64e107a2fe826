import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { CustomerLanes } from './customer.lanes';

const tick = () => new Promise((r) => setImmediate(r));

describe('customer lanes', () => {
  it("runs one customer's work in arrival order, one at a time, and other customers beside it", async () => {
    const lanes = new CustomerLanes();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job = (name: string) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      await tick();
      await tick();
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([lanes.run('a', job('a1')), lanes.run('a', job('a2')), lanes.run('b', job('b1')), lanes.run('a', job('a3'))]);
    assert.deepEqual(results, ['a1', 'a2', 'b1', 'a3']);
    const ofA = log.filter((l) => l.endsWith('a1') || l.endsWith('a2') || l.endsWith('a3'));
    assert.deepEqual(ofA, ['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    assert.equal(most, 2, 'b ran beside a');
    await tick();
    assert.equal(lanes.size, 0, 'idle lanes are gone');
  });

  it('goes on after a failure, which reaches only its own caller', async () => {
    const lanes = new CustomerLanes();
    const failed = lanes.run('a', async () => {
      throw new Error('boom');
    });
    const next = lanes.run('a', async () => 'after');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'after');
  });
});
