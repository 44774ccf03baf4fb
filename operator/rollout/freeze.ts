// Freeze windows: is a rollout step allowed to advance right now, and if not, until when?
// Pure: the clock is an argument. Weekly windows are wall-clock times in an IANA zone, so
// their instants come from Intl (the only zone database Node ships), correct across DST.
import type { ModelDeploymentSpec } from '../api/schema.ts';

type FreezeWindowSpec = NonNullable<ModelDeploymentSpec['rollout']['freezeWindows']>[number];

/** One entry of spec.rollout.freezeWindows; timeZone may be left out (UTC), as in the API. */
export type FreezeWindow = Omit<FreezeWindowSpec, 'timeZone'> & { timeZone?: string };

/** The freeze in effect: the window that holds now, and when the (merged) freeze ends. */
export interface ActiveFreeze {
  name: string;
  /** Ms since epoch at which no window holds any more. */
  until: number;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
/**
 * Back-to-back windows merge into one freeze, but only this far ahead: a window list that
 * freezes every day forever still yields a finite answer, and the caller simply asks again.
 */
const HORIZON = 8 * DAY;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

interface Interval {
  name: string;
  start: number;
  end: number;
}

/**
 * The freeze that holds at `now`, or undefined. Absolute windows are [start, end); a weekly
 * window runs from `from` to `to` local time on each listed day, wrapping past midnight when
 * `to` <= `from` (the listed day is the day it starts). `until` runs through every window
 * that starts at or before the current end, so a caller never sees a freeze lift for 0 ms.
 * Throws RangeError on a window the API server should have rejected, or an unknown zone.
 */
export function activeFreeze(windows: readonly FreezeWindow[] | undefined, now: number): ActiveFreeze | undefined {
  if (windows === undefined || windows.length === 0) return undefined;
  // An occurrence lasts at most 25 h (a 24 h wrap over a DST fall-back), so only the
  // occurrences starting on the local yesterday or today can hold now: the cheap check
  // every reconcile makes. The days ahead are needed only to merge an active freeze.
  const current = windows.flatMap((w) => intervals(w, now, -1, 0)).filter((i) => i.start <= now && now < i.end);
  const first = current[0];
  if (first === undefined) return undefined;
  const all = windows.flatMap((w) => intervals(w, now, -1, Math.ceil(HORIZON / DAY) + 1));
  const limit = now + HORIZON;
  let until = Math.max(...current.map((i) => i.end));
  for (let extended = true; extended && until < limit; ) {
    extended = false;
    for (const i of all) {
      if (i.start <= until && i.end > until) {
        until = i.end;
        extended = true;
        if (until >= limit) break;
      }
    }
  }
  return { name: first.name, until };
}

/** A condition message: `freeze window "black-friday" is active until 2026-11-27T00:00:00Z`. */
export function describeFreeze(f: ActiveFreeze, timeZone?: string): string {
  return `freeze window "${f.name}" is active until ${formatInstant(f.until, timeZone)}`;
}

/** RFC 3339 without milliseconds; in a zone, with its offset and name so people read local time. */
function formatInstant(t: number, timeZone: string | undefined): string {
  if (timeZone === undefined || timeZone === 'UTC') return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const offset = offsetMs(t, timeZone);
  const local = new Date(t + offset).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / MINUTE;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm} (${timeZone})`;
}

/** The window's occurrences; for a weekly one, those starting on local days now+fromDay … now+toDay. */
function intervals(w: FreezeWindow, now: number, fromDay: number, toDay: number): Interval[] {
  if (w.start !== undefined && w.end !== undefined) {
    const start = Date.parse(w.start);
    const end = Date.parse(w.end);
    if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError(`freeze window "${w.name}": start and end must be RFC 3339 times`);
    return end > start ? [{ name: w.name, start, end }] : [];
  }
  if (w.days === undefined || w.from === undefined || w.to === undefined) {
    throw new RangeError(`freeze window "${w.name}" is neither absolute (start and end) nor weekly (days, from and to)`);
  }
  const timeZone = w.timeZone ?? 'UTC';
  const from = minutesOf(w.name, 'from', w.from);
  const to = minutesOf(w.name, 'to', w.to);
  if (from >= 24 * 60) throw new RangeError(`freeze window "${w.name}": from must be before 24:00, got "${w.from}"`);
  let today: number;
  try {
    today = civilDay(now, timeZone);
  } catch {
    throw new RangeError(`freeze window "${w.name}": unknown time zone "${timeZone}"`);
  }
  const days = new Set<string>(w.days);
  const out: Interval[] = [];
  for (let k = fromDay; k <= toDay; k++) {
    const day = today + k * DAY;
    if (!days.has(WEEKDAYS[new Date(day).getUTCDay()]!)) continue;
    const endDay = to <= from ? day + DAY : day;
    out.push({ name: w.name, start: zonedToUtc(day + from * MINUTE, timeZone), end: zonedToUtc(endDay + to * MINUTE, timeZone) });
  }
  return out;
}

function minutesOf(name: string, field: string, hhmm: string): number {
  const m = /^(\d\d):([0-5]\d)$/.exec(hhmm);
  const minutes = m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2]);
  // NaN fails this too. The API's pattern lets "24:30" through; it is not a time of day.
  if (!(minutes <= 24 * 60)) {
    throw new RangeError(`freeze window "${name}": ${field} must be HH:MM between 00:00 and 24:00, got "${hhmm}"`);
  }
  return minutes;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall clock of an instant in a zone, encoded as if it were UTC; formatters are cached because building one is slow. */
function wallClock(t: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  const p = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of f.formatToParts(t)) if (part.type in p) p[part.type as keyof typeof p] = Number(part.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** The zone's offset from UTC at an instant (local wall clock minus UTC), in ms. */
function offsetMs(t: number, timeZone: string): number {
  const whole = Math.floor(t / 1000) * 1000;
  return wallClock(whole, timeZone) - whole;
}

/** The local calendar day of an instant, as the UTC midnight of that date (for calendar maths). */
function civilDay(t: number, timeZone: string): number {
  return Math.floor((t + offsetMs(t, timeZone)) / DAY) * DAY;
}

/**
 * The instant a local wall-clock time (encoded as if it were UTC) happens in a zone. A time
 * that happens twice (DST fall-back) maps to its first occurrence; a time the clocks skip
 * (spring-forward) maps to the moment of the jump — the first instant whose wall clock is
 * past it — so a window is exactly the instants whose local time lies in [from, to).
 */
function zonedToUtc(wall: number, timeZone: string): number {
  // No zone changes its offset twice within two days, so these are the only candidates.
  const before = offsetMs(wall - DAY, timeZone);
  const after = offsetMs(wall + DAY, timeZone);
  if (before === after) return wall - before;
  const valid = [wall - before, wall - after].filter((t) => offsetMs(t, timeZone) === wall - t);
  if (valid.length > 0) return Math.min(...valid);
  // In a gap: the jump lies between the two candidates; find it to the second.
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetMs(mid, timeZone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}
