import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { describeIssues, fieldViolations } from './issues';

describe('schema issues at the edge', () => {
  const issues = [
    { path: ['order', 'total', 'currency'], message: 'an ISO 4217 code' },
    { path: ['items', 0, 'name'], message: 'required' },
  ];
  it('become field violations, under a prefix when given', () => {
    assert.deepEqual(fieldViolations(issues, 'request'), [
      { field: 'request.order.total.currency', description: 'an ISO 4217 code' },
      { field: 'request.items.0.name', description: 'required' },
    ]);
    assert.equal(fieldViolations([{ path: [], message: 'an object' }])[0]!.field, '');
  });
  it('become one line, cut at a limit', () => {
    assert.equal(describeIssues(issues), 'order.total.currency: an ISO 4217 code; items.0.name: required');
    assert.equal(describeIssues(issues, 10), 'order.tota');
  });
});
