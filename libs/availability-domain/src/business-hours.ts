import { DateTime, IANAZone } from 'luxon';
import { InvalidArgumentError } from '@parley/errors';

/** `HH:mm` local time. A slot whose end is not after its start runs past midnight into the next day. */
export interface Slot {
  readonly from: string;
  readonly to: string;
}

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export interface BusinessHours {
  /** IANA time zone, e.g. Europe/Berlin. */
  readonly timeZone: string;
  readonly weekly: Readonly<Partial<Record<Weekday, readonly Slot[]>>>;
  /** By local date `yyyy-MM-dd`: closed all day (no slots) or special opening hours. */
  readonly exceptions: Readonly<Record<string, readonly Slot[]>>;
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Checks a schedule; throws with every problem named. */
export function validateBusinessHours(hours: BusinessHours): BusinessHours {
  const violations: { field: string; description: string }[] = [];
  if (!IANAZone.isValidZone(hours.timeZone)) violations.push({ field: 'time_zone', description: `unknown IANA time zone ${hours.timeZone}` });
  const checkSlots = (field: string, slots: readonly Slot[]) =>
    slots.forEach((s, i) => {
      if (!TIME.test(s.from) || !TIME.test(s.to)) violations.push({ field: `${field}[${i}]`, description: 'from and to are HH:mm' });
      else if (s.from === s.to) violations.push({ field: `${field}[${i}]`, description: 'a slot needs a length' });
    });
  for (const [day, slots] of Object.entries(hours.weekly)) {
    if (!WEEKDAYS.includes(day as Weekday)) violations.push({ field: `weekly.${day}`, description: 'mon to sun' });
    checkSlots(`weekly.${day}`, slots ?? []);
  }
  for (const [date, slots] of Object.entries(hours.exceptions)) {
    if (!DateTime.fromISO(date, { zone: 'utc' }).isValid || !/^\d{4}-\d{2}-\d{2}$/.test(date))
      violations.push({ field: `exceptions.${date}`, description: 'dates are yyyy-MM-dd' });
    checkSlots(`exceptions.${date}`, slots);
  }
  if (violations.length) throw new InvalidArgumentError('invalid business hours', violations);
  return hours;
}

interface Interval {
  readonly start: DateTime;
  readonly end: DateTime;
}

/** The opening intervals that begin on one local date: its exception if it has one, else its weekday's slots. */
function intervalsOfDay(hours: BusinessHours, day: DateTime): Interval[] {
  const date = day.toISODate()!;
  const slots = hours.exceptions[date] ?? hours.weekly[WEEKDAYS[day.weekday - 1]!] ?? [];
  return slots.map((slot) => {
    const [fh, fm] = slot.from.split(':').map(Number) as [number, number];
    const [th, tm] = slot.to.split(':').map(Number) as [number, number];
    // Wall-clock times in the zone: luxon resolves daylight-saving gaps and overlaps.
    const start = day.set({ hour: fh, minute: fm, second: 0, millisecond: 0 });
    let end = day.set({ hour: th, minute: tm, second: 0, millisecond: 0 });
    if (end <= start) end = day.plus({ days: 1 }).set({ hour: th, minute: tm, second: 0, millisecond: 0 });
    return { start, end };
  });
}

function intervalsAround(hours: BusinessHours, at: DateTime, daysAhead: number): Interval[] {
  const local = at.setZone(hours.timeZone).startOf('day');
  const all: Interval[] = [];
  // The day before too: its slot may run past midnight into today.
  for (let d = -1; d <= daysAhead; d++) all.push(...intervalsOfDay(hours, local.plus({ days: d })));
  return all.sort((a, b) => a.start.toMillis() - b.start.toMillis());
}

export function isOpen(hours: BusinessHours, at: string): boolean {
  const t = DateTime.fromISO(at, { zone: 'utc' });
  return intervalsAround(hours, t, 0).some((i) => i.start <= t && t < i.end);
}

/** When it opens next (now, if open), looking up to 60 days ahead; null if never. */
export function nextOpening(hours: BusinessHours, at: string): string | null {
  const t = DateTime.fromISO(at, { zone: 'utc' });
  const interval = intervalsAround(hours, t, 60).find((i) => i.end > t);
  if (!interval) return null;
  return (interval.start > t ? interval.start : t).toUTC().toISO();
}

/**
 * When the current opening ends, if open now: slots that touch (12:00-12:00, a night
 * slot running into the next morning's) are one opening. Null when closed, or open
 * for the whole 60 days looked at.
 */
export function closesAt(hours: BusinessHours, at: string): string | null {
  const t = DateTime.fromISO(at, { zone: 'utc' });
  const intervals = intervalsAround(hours, t, 60);
  let end: DateTime | null = null;
  for (const i of intervals) {
    if (end === null) {
      if (i.start <= t && t < i.end) end = i.end;
    } else if (i.start <= end) {
      if (i.end > end) end = i.end;
    } else return end.toUTC().toISO();
  }
  return null;
}

/**
 * How long from `now` until an answer is likely: until the queue next opens at or
 * after `from` (when an agent can next be there), plus its typical response time.
 * Null when the queue never opens again.
 */
export function expectedAnswerSeconds(hours: BusinessHours, from: string, typicalResponseSeconds: number, now: string = from): number | null {
  const opening = nextOpening(hours, from);
  if (opening === null) return null;
  return Math.round((Date.parse(opening) - Date.parse(now)) / 1000) + typicalResponseSeconds;
}
