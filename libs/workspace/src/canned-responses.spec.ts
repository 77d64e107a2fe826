import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { WorkspaceEvent } from '@parley/contracts';
import { specFor } from '@parley/decider/testing';
import { InvalidArgumentError } from '@parley/errors';
import { render, unknownVariables } from './canned-response.template';
import { ShortcutTakenError, workspaceDecider } from './canned-responses.decider';

const spec = specFor(workspaceDecider);
const at = '2026-12-07T10:00:00.000Z';
const save = (responseId: string, shortcut: string, text = 'Hi {{customer.first_name | "there"}}, your refund is on its way.') => ({
  type: 'SaveCannedResponse' as const,
  responseId,
  shortcut,
  title: 'Refund sent',
  text,
  at,
});
const saved = (responseId: string, shortcut: string, text = 'Hi {{customer.first_name | "there"}}, your refund is on its way.'): WorkspaceEvent => ({
  type: 'workspace.canned-response-saved',
  data: { responseId, shortcut, title: 'Refund sent', text, at },
});

describe('workspace: canned responses', () => {
  it('saves a canned response, and the same one again changes nothing', () => {
    spec
      .given([])
      .when(save('r1', 'refund'))
      .then([saved('r1', 'refund')]);
    spec
      .given([saved('r1', 'refund')])
      .when(save('r1', 'refund'))
      .thenNothing();
    spec
      .given([saved('r1', 'refund')])
      .when(save('r1', 'refund', 'Done.'))
      .then([saved('r1', 'refund', 'Done.')]);
  });

  it('keeps shortcuts unique, and refuses a variable it does not know or a broken one', () => {
    spec
      .given([saved('r1', 'refund')])
      .when(save('r2', 'refund'))
      .thenThrows(ShortcutTakenError, { responseId: 'r1' });
    spec
      .given([])
      .when(save('r1', 'refund', 'Hi {{customer.nmae}}'))
      .thenThrows(InvalidArgumentError);
    spec
      .given([])
      .when(save('r1', 'refund', 'Hi {{customer.name'))
      .thenThrows(InvalidArgumentError);
    spec
      .given([])
      .when(save('r1', 'refund', '   '))
      .thenThrows(InvalidArgumentError);
    spec.given([]).when(save('r1', 'Refund Policy')).thenThrows(InvalidArgumentError);
  });

  it('deletes one, and deleting it again changes nothing', () => {
    spec
      .given([saved('r1', 'refund')])
      .when({ type: 'DeleteCannedResponse', responseId: 'r1', at })
      .then([{ type: 'workspace.canned-response-deleted', data: { responseId: 'r1', at } }]);
    spec.given([]).when({ type: 'DeleteCannedResponse', responseId: 'r1', at }).thenNothing();
    // Its shortcut is free again.
    spec
      .given([saved('r1', 'refund'), { type: 'workspace.canned-response-deleted', data: { responseId: 'r1', at } }])
      .when(save('r2', 'refund'))
      .then([saved('r2', 'refund')]);
  });

  it('refuses a 501st canned response', () => {
    const many = Array.from({ length: 500 }, (_, i) => saved(`r${i}`, `s${i}`));
    spec.given(many).when(save('r-new', 'new')).thenThrows(InvalidArgumentError);
    spec
      .given(many)
      .when(save('r1', 's1', 'changed'))
      .then([saved('r1', 's1', 'changed')]);
  });
});

describe('workspace: filling in a canned response', () => {
  it('fills in known values, falls back when one is missing, and names unknown variables', () => {
    const text = 'Hi {{customer.first_name | "there"}}, order {{ order.id }} is {{order.status}}. {{agent.id}}';
    assert.equal(
      render(text, { 'customer.first_name': 'Dana', 'order.id': 'SO-7', 'order.status': 'shipped', 'agent.id': 'Kim' }),
      'Hi Dana, order SO-7 is shipped. Kim',
    );
    assert.equal(render(text, {}), 'Hi there, order  is . ');
    assert.deepEqual(unknownVariables('{{customer.name}} {{customer.nmae}} {{shop.url}}'), ['customer.nmae', 'shop.url']);
  });
});
