import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { BusinessHours } from './business-hours';
import { offerFor, type AgentAvailability, type QueueAvailability } from './offer';
import { invitationFor, ruleMatches, type PageView, type TargetingRule } from './targeting';

const hours: BusinessHours = { timeZone: 'Europe/Berlin', weekly: { mon: [{ from: '09:00', to: '17:00' }] }, exceptions: {} };
const queue: QueueAvailability = { queueId: 'support', hours, skills: ['billing'], languages: ['de', 'en'], typicalResponseSeconds: 300 };
const agent = (over: Partial<AgentAvailability> = {}): AgentAvailability => ({
  agentId: 'a1',
  presence: 'online',
  liveChats: { max: 2, current: 0 },
  messaging: { max: 10, current: 0 },
  skills: ['billing'],
  languages: ['de'],
  ...over,
});
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
    assert.deepEqual(offerFor(queue, [agent({ liveChats: { max: 2, current: 2 } })], mondayNoon), {
      kind: 'messaging',
      queueId: 'support',
      expectedAnswerSeconds: 300,
      opensAt: null,
      reason: 'no-agent-free',
    });
  });
  it('messaging with the time to the next opening when closed, however many agents are online', () => {
    assert.deepEqual(offerFor(queue, [agent()], sundayNoon), {
      kind: 'messaging',
      queueId: 'support',
      expectedAnswerSeconds: 21 * 3600 + 300,
      opensAt: '2026-06-01T07:00:00.000Z',
      reason: 'closed',
    });
  });
});

describe('when an answer can be expected, counted from now (a fake clock over days, holidays and daylight-saving changes)', () => {
  const weekdays = {
    mon: [{ from: '09:00', to: '17:00' }],
    tue: [{ from: '09:00', to: '17:00' }],
    wed: [{ from: '09:00', to: '17:00' }],
    thu: [{ from: '09:00', to: '17:00' }],
    fri: [{ from: '09:00', to: '17:00' }],
  };
  const office: QueueAvailability = { ...queue, hours: { timeZone: 'Europe/Berlin', weekly: weekdays, exceptions: {} } };
  const away = [agent({ presence: 'away' }), agent({ agentId: 'a2', presence: 'offline' })];
  const expect = (q: QueueAvailability, agents: readonly AgentAvailability[], at: string) => {
    const offer = offerFor(q, agents, at);
    assert.equal(offer.kind, 'messaging');
    return offer.kind === 'messaging' ? { seconds: offer.expectedAnswerSeconds, opensAt: offer.opensAt, reason: offer.reason } : null;
  };
  const hours = (h: number) => h * 3600 + 300;

  it("everybody away at noon: the next morning's opening from now, not from closing time", () => {
    // Wednesday 3 June 2026, 12:00 in Berlin (CEST): Thursday 09:00 is 21 hours away.
    assert.deepEqual(expect(office, away, '2026-06-03T10:00:00Z'), { seconds: hours(21), opensAt: '2026-06-04T07:00:00.000Z', reason: 'no-agent-free' });
    // Nobody has ever been online (a new tenant): the same.
    assert.deepEqual(expect(office, [], '2026-06-03T10:00:00Z'), { seconds: hours(21), opensAt: '2026-06-04T07:00:00.000Z', reason: 'no-agent-free' });
    // A minute before closing: 16 hours and 1 minute.
    assert.equal(expect(office, away, '2026-06-03T14:59:00Z')!.seconds, hours(16) + 60);
  });
  it('over the weekend and over holidays', () => {
    // Friday noon: Monday 09:00, 69 hours.
    assert.equal(expect(office, away, '2026-06-05T10:00:00Z')!.seconds, hours(69));
    // Wednesday 23 December, noon CET; closed on the 24th and 25th, then the weekend: Monday 28th 09:00.
    const christmas: QueueAvailability = { ...office, hours: { ...office.hours, exceptions: { '2026-12-24': [], '2026-12-25': [] } } };
    assert.deepEqual(expect(christmas, away, '2026-12-23T11:00:00Z'), { seconds: hours(117), opensAt: '2026-12-28T08:00:00.000Z', reason: 'no-agent-free' });
    // Closed on the holiday itself: the time to the next opening, from now.
    assert.deepEqual(expect(christmas, [agent()], '2026-12-24T11:00:00Z'), { seconds: hours(93), opensAt: '2026-12-28T08:00:00.000Z', reason: 'closed' });
  });
  it('across both daylight-saving changes', () => {
    // Friday 27 March 2026 noon CET to Monday 30 March 09:00 CEST: 68 real hours, not 69.
    assert.equal(expect(office, away, '2026-03-27T11:00:00Z')!.seconds, hours(68));
    // Friday 23 October 2026 noon CEST to Monday 26 October 09:00 CET: 70 real hours.
    assert.equal(expect(office, away, '2026-10-23T10:00:00Z')!.seconds, hours(70));
  });
  it('busy agents online: the typical response time; never closing and nobody online: unknown', () => {
    assert.deepEqual(expect(office, [agent({ liveChats: { max: 1, current: 1 } })], '2026-06-03T10:00:00Z'), {
      seconds: 300,
      opensAt: null,
      reason: 'no-agent-free',
    });
    const allDay = [
      { from: '00:00', to: '12:00' },
      { from: '12:00', to: '00:00' },
    ];
    const always: QueueAvailability = {
      ...office,
      hours: {
        timeZone: 'Europe/Berlin',
        weekly: { mon: allDay, tue: allDay, wed: allDay, thu: allDay, fri: allDay, sat: allDay, sun: allDay },
        exceptions: {},
      },
    };
    assert.deepEqual(expect(always, away, '2026-06-03T10:00:00Z'), { seconds: null, opensAt: null, reason: 'no-agent-free' });
  });
});

describe('proactive invitations', () => {
  const view: PageView = {
    url: 'https://shop.example/checkout/step-2',
    timeOnPageSeconds: 40,
    pagesViewed: 5,
    returningVisitor: true,
    attributes: { plan: 'pro', cart: 120 },
  };
  const rule: TargetingRule = {
    ruleId: 'checkout-help',
    urlPattern: 'https://shop.example/checkout*',
    minTimeOnPageSeconds: 30,
    minPagesViewed: 3,
    returningVisitor: true,
    attributes: { plan: 'pro' },
    message: 'Need a hand with your order?',
  };

  it('matches each condition', () => {
    assert.equal(ruleMatches(rule, view), true);
    assert.equal(ruleMatches(rule, { ...view, url: 'https://shop.example/blog' }), false, 'URL pattern');
    assert.equal(ruleMatches(rule, { ...view, timeOnPageSeconds: 10 }), false, 'time on page');
    assert.equal(ruleMatches(rule, { ...view, pagesViewed: 1 }), false, 'pages viewed');
    assert.equal(ruleMatches(rule, { ...view, returningVisitor: false }), false, 'returning visitor');
    assert.equal(ruleMatches(rule, { ...view, attributes: { plan: 'free' } }), false, 'custom attribute');
    assert.equal(
      ruleMatches({ ruleId: 'x', urlPattern: 'https://shop.example/a.b', message: 'm' }, { ...view, url: 'https://shop.example/aXb' }),
      false,
      'dots are not wildcards',
    );
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
