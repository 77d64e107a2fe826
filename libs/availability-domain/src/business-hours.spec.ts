import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { InvalidArgumentError } from '@parley/errors';
import { closesAt, expectedAnswerSeconds, isOpen, nextOpening, validateBusinessHours, type BusinessHours } from './business-hours';

const weekdays = {
  mon: [{ from: '09:00', to: '17:00' }],
  tue: [{ from: '09:00', to: '17:00' }],
  wed: [{ from: '09:00', to: '17:00' }],
  thu: [{ from: '09:00', to: '17:00' }],
  fri: [
    { from: '09:00', to: '12:00' },
    { from: '13:00', to: '17:00' },
  ],
};
const berlin: BusinessHours = { timeZone: 'Europe/Berlin', weekly: weekdays, exceptions: {} };

describe('business hours', () => {
  it('opens at 09:00 local time on both sides of the spring daylight-saving change', () => {
    // Friday 27 March 2026 is CET (UTC+1); Monday 30 March is CEST (UTC+2).
    assert.equal(isOpen(berlin, '2026-03-27T07:30:00Z'), false, '08:30 in Berlin');
    assert.equal(isOpen(berlin, '2026-03-27T08:30:00Z'), true, '09:30 in Berlin');
    assert.equal(isOpen(berlin, '2026-03-30T07:30:00Z'), true, '09:30 in Berlin, now summer time');
    assert.equal(isOpen(berlin, '2026-03-30T06:30:00Z'), false, '08:30 in Berlin');
    assert.equal(nextOpening(berlin, '2026-03-28T12:00:00Z'), '2026-03-30T07:00:00.000Z', 'Monday 09:00 CEST');
  });

  it('and on both sides of the autumn change', () => {
    assert.equal(nextOpening(berlin, '2026-10-24T12:00:00Z'), '2026-10-26T08:00:00.000Z', 'Monday 09:00 CET after the clocks went back');
    assert.equal(closesAt(berlin, '2026-10-26T10:00:00Z'), '2026-10-26T16:00:00.000Z');
  });

  it('keeps several slots a day apart', () => {
    assert.equal(isOpen(berlin, '2026-03-27T11:30:00Z'), false, 'Friday lunch, 12:30 in Berlin');
    assert.equal(nextOpening(berlin, '2026-03-27T11:30:00Z'), '2026-03-27T12:00:00.000Z');
  });

  it('closes all day on a holiday, and opens special hours on a dated exception', () => {
    const holidays: BusinessHours = { ...berlin, exceptions: { '2026-12-25': [], '2026-12-24': [{ from: '09:00', to: '12:00' }] } };
    assert.equal(isOpen(holidays, '2026-12-25T10:00:00Z'), false, 'Christmas Day, a Friday');
    assert.equal(isOpen(holidays, '2026-12-24T10:00:00Z'), true, 'Christmas Eve morning, 11:00 in Berlin');
    assert.equal(isOpen(holidays, '2026-12-24T12:00:00Z'), false, 'Christmas Eve afternoon');
    assert.equal(nextOpening(holidays, '2026-12-24T12:00:00Z'), '2026-12-28T08:00:00.000Z', 'Monday after');
  });

  it('runs a slot that ends before it starts past midnight, including over a daylight-saving night', () => {
    const nights: BusinessHours = {
      timeZone: 'Europe/Berlin',
      weekly: { sat: [{ from: '22:00', to: '02:00' }], sun: [{ from: '01:00', to: '04:00' }] },
      exceptions: {},
    };
    const saturdayOnly: BusinessHours = { ...nights, weekly: { sat: [{ from: '22:00', to: '02:00' }] } };
    assert.equal(isOpen(saturdayOnly, '2026-06-06T20:30:00Z'), true, 'Saturday 22:30 CEST');
    assert.equal(isOpen(saturdayOnly, '2026-06-06T23:30:00Z'), true, "Sunday 01:30 CEST, still Saturday's slot");
    assert.equal(isOpen(saturdayOnly, '2026-06-07T00:30:00Z'), false, 'Sunday 02:30 CEST: it ended at 02:00');
    // 29 March 2026: 02:00 CET becomes 03:00 CEST. 01:00 CET to 04:00 CEST is two real hours.
    assert.equal(isOpen(nights, '2026-03-29T01:30:00Z'), true, '03:30 CEST');
    assert.equal(isOpen(nights, '2026-03-29T02:00:00Z'), false, '04:00 CEST');
    assert.equal(closesAt(nights, '2026-03-29T01:30:00Z'), '2026-03-29T02:00:00.000Z');
  });

  it('closes at the end of touching slots, not between them', () => {
    const split: BusinessHours = {
      timeZone: 'Europe/Berlin',
      weekly: {
        mon: [
          { from: '09:00', to: '12:00' },
          { from: '12:00', to: '17:00' },
        ],
        tue: [{ from: '22:00', to: '00:00' }],
        wed: [{ from: '00:00', to: '06:00' }],
      },
      exceptions: {},
    };
    assert.equal(closesAt(split, '2026-06-01T08:00:00Z'), '2026-06-01T15:00:00.000Z', 'Monday 10:00 CEST: 17:00, past the 12:00 seam');
    assert.equal(closesAt(split, '2026-06-02T21:00:00Z'), '2026-06-03T04:00:00.000Z', 'Tuesday 23:00 CEST: Wednesday 06:00, past midnight');
    assert.equal(closesAt(split, '2026-06-01T16:00:00Z'), null, 'closed');
  });

  it('expects an answer after the next opening plus the typical response time', () => {
    assert.equal(expectedAnswerSeconds(berlin, '2026-03-30T08:00:00Z', 120), 120, 'open: the typical time');
    assert.equal(expectedAnswerSeconds(berlin, '2026-03-28T12:00:00Z', 120), 43 * 3600 + 120, 'Saturday noon UTC to Monday 07:00 UTC, plus two minutes');
    assert.equal(expectedAnswerSeconds({ ...berlin, weekly: {} }, '2026-03-28T12:00:00Z', 120), null, 'never opens');
  });

  it('refuses an unknown time zone and malformed slots, naming each', () => {
    assert.throws(
      () => validateBusinessHours({ timeZone: 'Mars/Olympus', weekly: { mon: [{ from: '9am', to: '17:00' }] }, exceptions: { '2026-13-01': [] } }),
      (e: InvalidArgumentError) => {
        assert.deepEqual(e.violations.map((v) => v.field).sort(), ['exceptions.2026-13-01', 'time_zone', 'weekly.mon[0]']);
        return true;
      },
    );
  });
});
