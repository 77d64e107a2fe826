import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BusinessHours } from './business-hours';
import { offerFor, type AgentAvailability, type QueueAvailability } from './offer';
import { invitationFor, ruleMatches, type PageView, type TargetingRule } from './targeting';

const hours: BusinessHours = { timeZone: 'Europe/Berlin', weekly: { mon: [{ from: '09:00', to: '17:00' }] }, exceptions: {} };
const queue: QueueAvailability = { queueId: 'support', hours, skills: ['billing'], languages: ['de', 'en'], typicalResponseSeconds: 300 };
const agent = (over: Partial<AgentAvailability> = {}): AgentAvailability => ({ agentId: 'a1', presence: 'online', liveChats: { max: 2, current: 0 }, messaging: { max: 10, current: 0 }, skills: ['billing'], languages: ['de'], ...over });
const mondayNoon = '2026-06-01T10:00:00Z';
const sundayNoon = '2026-05-31T10:00:00Z';

describe('what a visitor is offered', () => {
  it('live chat when open and an agent with the skills has a live chat free', () => {
    assert.deepEqual(offerFor(queue, [agent()], mondayNoon), { kind: 'live-chat', queueId: 'support', agentsFree: 1, until: '2026-06-01T15:00:00.000Z' });
  });
  it('messaging when every agent is full, away, lacks a skill or the language', () => {
    for (const a of [agent({ liveChats: { max: 2, current: 2 } }), agent({ presence: 'away' }), agent({ skills: [] }), agent({ languages: ['fr'] })]) {
      const offer = offerFor(queue, [a], mondayNoon);
      assert.equal(offer.kind, 'messaging');
    }
    assert.deepEqual(offerFor(queue, [agent({ liveChats: { max: 2, current: 2 } })], mondayNoon), { kind: 'messaging', queueId: 'support', expectedAnswerSeconds: 300, opensAt: null, reason: 'no-agent-free' });
  });
  it('messaging with the time to the next opening when closed, however many agents are online', () => {
    assert.deepEqual(offerFor(queue, [agent()], sundayNoon), { kind: 'messaging', queueId: 'support', expectedAnswerSeconds: 21 * 3600 + 300, opensAt: '2026-06-01T07:00:00.000Z', reason: 'closed' });
  });
});

describe('proactive invitations', () => {
  const view: PageView = { url: 'https://shop.example/checkout/step-2', timeOnPageSeconds: 40, pagesViewed: 5, returningVisitor: true, attributes: { plan: 'pro', cart: 120 } };
  const rule: TargetingRule = { ruleId: 'checkout-help', urlPattern: 'https://shop.example/checkout*', minTimeOnPageSeconds: 30, minPagesViewed: 3, returningVisitor: true, attributes: { plan: 'pro' }, message: 'Need a hand with your order?' };

  it('matches each condition', () => {
    assert.equal(ruleMatches(rule, view), true);
    assert.equal(ruleMatches(rule, { ...view, url: 'https://shop.example/blog' }), false, 'URL pattern');
    assert.equal(ruleMatches(rule, { ...view, timeOnPageSeconds: 10 }), false, 'time on page');
    assert.equal(ruleMatches(rule, { ...view, pagesViewed: 1 }), false, 'pages viewed');
    assert.equal(ruleMatches(rule, { ...view, returningVisitor: false }), false, 'returning visitor');
    assert.equal(ruleMatches(rule, { ...view, attributes: { plan: 'free' } }), false, 'custom attribute');
    assert.equal(ruleMatches({ ruleId: 'x', urlPattern: 'https://shop.example/a.b', message: 'm' }, { ...view, url: 'https://shop.example/aXb' }), false, 'dots are not wildcards');
  });
  it('is shown only when live chat can be taken', () => {
    const live = offerFor(queue, [agent()], mondayNoon);
    const closed = offerFor(queue, [agent()], sundayNoon);
    assert.equal(invitationFor([rule], view, live, null, 3600, mondayNoon)?.ruleId, 'checkout-help');
    assert.equal(invitationFor([rule], view, closed, null, 3600, sundayNoon), null);
  });
  it('at most once per visitor per period', () => {
    const live = offerFor(queue, [agent()], mondayNoon);
    assert.equal(invitationFor([rule], view, live, '2026-06-01T09:30:00Z', 3600, mondayNoon), null, 'shown 30 minutes ago');
    assert.equal(invitationFor([rule], view, live, '2026-06-01T08:59:00Z', 3600, mondayNoon)?.ruleId, 'checkout-help', 'shown over an hour ago');
  });
});
