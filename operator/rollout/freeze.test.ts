// Freeze windows: which instants are frozen, until when, in which zone — across DST changes.
import { describe, expect, test } from '@jest/globals';
import { activeFreeze, describeFreeze } from './freeze.ts';
import type { FreezeWindow } from './freeze.ts';

const at = (iso: string): number => Date.parse(iso);

const blackFriday: FreezeWindow = { name: 'black-friday', start: '2026-11-20T00:00:00Z', end: '2026-11-27T00:00:00Z' };
const christmas: FreezeWindow = { name: 'christmas', start: '2026-12-24T00:00:00+01:00', end: '2026-12-27T00:00:00+01:00' };
const weekdayNights: FreezeWindow = { name: 'nights', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], from: '22:00', to: '06:00' };
const weekend: FreezeWindow = { name: 'weekend', days: ['Sat', 'Sun'], from: '00:00', to: '24:00' };
const fridayEvening: FreezeWindow = { name: 'friday-evening', days: ['Fri'], from: '18:00', to: '24:00' };
const wednesdayNoonToNoon: FreezeWindow = { name: 'noon-to-noon', days: ['Wed'], from: '12:00', to: '12:00' };
const always: FreezeWindow = { name: 'always', days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], from: '00:00', to: '24:00' };

const berlin = (w: Omit<FreezeWindow, 'name' | 'timeZone'>): FreezeWindow => ({ name: 'berlin', timeZone: 'Europe/Berlin', ...w });
const newYork = (w: Omit<FreezeWindow, 'name' | 'timeZone'>): FreezeWindow => ({ name: 'new-york', timeZone: 'America/New_York', ...w });

describe('activeFreeze', () => {
  test.each<[string, FreezeWindow[] | undefined, string, { name: string; until: string } | undefined]>([
    // what, windows, now → the freeze (name, until) or none
    ['no windows', undefined, '2026-06-01T12:00:00Z', undefined],
    ['an empty list', [], '2026-06-01T12:00:00Z', undefined],

    ['absolute: just before start', [blackFriday], '2026-11-19T23:59:59Z', undefined],
    ['absolute: start is inside', [blackFriday], '2026-11-20T00:00:00Z', { name: 'black-friday', until: '2026-11-27T00:00:00Z' }],
    ['absolute: the last millisecond is inside', [blackFriday], '2026-11-26T23:59:59.999Z', { name: 'black-friday', until: '2026-11-27T00:00:00Z' }],
    ['absolute: end is outside', [blackFriday], '2026-11-27T00:00:00Z', undefined],
    ['absolute: offsets in the timestamps count', [christmas], '2026-12-23T23:00:00Z', { name: 'christmas', until: '2026-12-26T23:00:00Z' }],
    ['absolute: before the offset start', [christmas], '2026-12-23T22:59:59Z', undefined],

    ['weekly: before from on a listed day', [weekdayNights], '2026-06-01T21:59:59Z', undefined],
    ['weekly: from on a listed day (Mon)', [weekdayNights], '2026-06-01T22:00:00Z', { name: 'nights', until: '2026-06-02T06:00:00Z' }],
    ['weekly: a wrap belongs to the day it starts (Fri night into Sat)', [weekdayNights], '2026-06-06T03:00:00Z', { name: 'nights', until: '2026-06-06T06:00:00Z' }],
    ['weekly: an unlisted day (Sat) does not start one', [weekdayNights], '2026-06-06T22:00:00Z', undefined],
    ['weekly: an unlisted day (Sun) does not wrap into Mon', [weekdayNights], '2026-06-01T03:00:00Z', undefined],
    ['weekly: to equal to from is a full day', [wednesdayNoonToNoon], '2026-06-04T11:59:00Z', { name: 'noon-to-noon', until: '2026-06-04T12:00:00Z' }],
    ['weekly: to 24:00 ends at midnight', [fridayEvening], '2026-06-05T23:59:00Z', { name: 'friday-evening', until: '2026-06-06T00:00:00Z' }],
    ['weekly: days are days in the window\'s zone', [{ name: 'nz-monday', timeZone: 'Pacific/Auckland', days: ['Mon'], from: '00:00', to: '24:00' }], '2026-05-31T13:00:00Z', { name: 'nz-monday', until: '2026-06-01T12:00:00Z' }],

    ['merge: Sat and Sun make one freeze until Monday', [weekend], '2026-06-06T12:00:00Z', { name: 'weekend', until: '2026-06-08T00:00:00Z' }],
    [
      'merge: a chain of adjacent windows, named after the one holding now',
      [fridayEvening, weekend, { name: 'release', start: '2026-06-05T09:00:00Z', end: '2026-06-05T18:00:00Z' }],
      '2026-06-05T10:00:00Z',
      { name: 'release', until: '2026-06-08T00:00:00Z' },
    ],
    [
      'merge: a one-minute gap is not merged',
      [fridayEvening, { name: 'release', start: '2026-06-05T09:00:00Z', end: '2026-06-05T17:59:00Z' }],
      '2026-06-05T10:00:00Z',
      { name: 'release', until: '2026-06-05T17:59:00Z' },
    ],
    [
      'overlap: the first listed window holding now names it, the latest end wins',
      [weekend, { name: 'launch', start: '2026-06-06T06:00:00Z', end: '2026-06-09T12:00:00Z' }],
      '2026-06-06T12:00:00Z',
      { name: 'weekend', until: '2026-06-09T12:00:00Z' },
    ],
    [
      'overlap: a later window can hold now, and runs on into the Thursday night it overlaps',
      [weekdayNights, blackFriday],
      '2026-11-21T12:00:00Z',
      { name: 'black-friday', until: '2026-11-27T06:00:00Z' },
    ],

    // Europe/Berlin: CET (+01) → CEST (+02) at 2026-03-29T01:00Z, back at 2026-10-25T01:00Z.
    ['Berlin: an ordinary Sunday, 02:30–04:00 CEST', [berlin({ days: ['Sun'], from: '02:30', to: '04:00' })], '2026-04-05T00:30:00Z', { name: 'berlin', until: '2026-04-05T02:00:00Z' }],
    ['Berlin: an ordinary Sunday, before 02:30 CEST', [berlin({ days: ['Sun'], from: '02:30', to: '04:00' })], '2026-04-05T00:29:59Z', undefined],
    ['Berlin spring-forward: 02:30 is skipped, the window starts at the jump', [berlin({ days: ['Sun'], from: '02:30', to: '04:00' })], '2026-03-29T01:00:00Z', { name: 'berlin', until: '2026-03-29T02:00:00Z' }],
    ['Berlin spring-forward: not before the jump', [berlin({ days: ['Sun'], from: '02:30', to: '04:00' })], '2026-03-29T00:59:59Z', undefined],
    ['Berlin spring-forward: 00:00–06:00 lasts five hours', [berlin({ days: ['Sun'], from: '00:00', to: '06:00' })], '2026-03-28T23:00:00Z', { name: 'berlin', until: '2026-03-29T04:00:00Z' }],
    ['Berlin spring-forward: before local midnight', [berlin({ days: ['Sun'], from: '00:00', to: '06:00' })], '2026-03-28T22:59:59Z', undefined],
    ['Berlin fall-back: Sat 22:00 CEST to Sun 06:00 CET', [berlin({ days: ['Sat'], from: '22:00', to: '06:00' })], '2026-10-24T20:00:00Z', { name: 'berlin', until: '2026-10-25T05:00:00Z' }],
    ['Berlin fall-back: still frozen at 05:59 CET', [berlin({ days: ['Sat'], from: '22:00', to: '06:00' })], '2026-10-25T04:59:00Z', { name: 'berlin', until: '2026-10-25T05:00:00Z' }],
    ['Berlin fall-back: 02:30 twice, the window starts at the first', [berlin({ days: ['Sun'], from: '02:30', to: '03:00' })], '2026-10-25T00:30:00Z', { name: 'berlin', until: '2026-10-25T02:00:00Z' }],
    ['Berlin fall-back: the repeated hour stays inside', [berlin({ days: ['Sun'], from: '02:30', to: '03:00' })], '2026-10-25T01:30:00Z', { name: 'berlin', until: '2026-10-25T02:00:00Z' }],

    // America/New_York: EST (-05) → EDT (-04) at 2026-03-08T07:00Z, back at 2026-11-01T06:00Z.
    ['New York spring-forward: 01:00–04:00 lasts two hours', [newYork({ days: ['Sun'], from: '01:00', to: '04:00' })], '2026-03-08T07:59:00Z', { name: 'new-york', until: '2026-03-08T08:00:00Z' }],
    ['New York spring-forward: starts at 01:00 EST', [newYork({ days: ['Sun'], from: '01:00', to: '04:00' })], '2026-03-08T05:59:59Z', undefined],
    ['New York: a weekend over the fall-back ends at Monday 00:00 EST', [newYork({ days: ['Sat', 'Sun'], from: '00:00', to: '24:00' })], '2026-10-31T16:00:00Z', { name: 'new-york', until: '2026-11-02T05:00:00Z' }],
    ['New York: that weekend starts at Saturday 00:00 EDT', [newYork({ days: ['Sat', 'Sun'], from: '00:00', to: '24:00' })], '2026-10-31T03:59:59Z', undefined],
    ['New York: an ordinary winter weekend', [newYork({ days: ['Sat', 'Sun'], from: '00:00', to: '24:00' })], '2026-11-07T17:00:00Z', { name: 'new-york', until: '2026-11-09T05:00:00Z' }],
  ])('%s', (_what, windows, now, expected) => {
    const got = activeFreeze(windows, at(now));
    expect(got).toEqual(expected === undefined ? undefined : { name: expected.name, until: at(expected.until) });
  });

  test('a freeze that never lifts is merged only as far as the horizon (8 days), then asked again', () => {
    const now = at('2026-06-03T10:00:00Z');
    const got = activeFreeze([always], now);
    expect(got?.name).toBe('always');
    expect(got!.until - now).toBeGreaterThanOrEqual(8 * 86_400_000);
    expect(got!.until - now).toBeLessThanOrEqual(9 * 86_400_000);
  });

  test.each<[string, FreezeWindow, RegExp]>([
    ['an unknown time zone', { name: 'mars', timeZone: 'Mars/Olympus_Mons', days: ['Mon'], from: '00:00', to: '01:00' }, /freeze window "mars": unknown time zone "Mars\/Olympus_Mons"/],
    ['neither absolute nor weekly', { name: 'half', days: ['Mon'], from: '00:00' }, /freeze window "half" is neither absolute/],
    ['a time past 24:00', { name: 'late', days: ['Mon'], from: '22:00', to: '24:30' }, /freeze window "late": to must be HH:MM between 00:00 and 24:00, got "24:30"/],
    ['an unparsable start', { name: 'bad', start: 'yesterday', end: '2026-06-01T00:00:00Z' }, /freeze window "bad": start and end must be RFC 3339/],
  ])('rejects %s with a RangeError naming the window', (_what, window, message) => {
    expect(() => activeFreeze([window], at('2026-06-01T12:00:00Z'))).toThrow(RangeError);
    expect(() => activeFreeze([window], at('2026-06-01T12:00:00Z'))).toThrow(message);
  });
});

describe('describeFreeze', () => {
  test.each<[string, string | undefined, string]>([
    // until, time zone → message
    ['2026-11-27T00:00:00Z', undefined, 'freeze window "black-friday" is active until 2026-11-27T00:00:00Z'],
    ['2026-11-27T00:00:00Z', 'UTC', 'freeze window "black-friday" is active until 2026-11-27T00:00:00Z'],
    ['2026-11-27T00:00:00Z', 'Europe/Berlin', 'freeze window "black-friday" is active until 2026-11-27T01:00:00+01:00 (Europe/Berlin)'],
    ['2026-06-08T04:00:00Z', 'America/New_York', 'freeze window "black-friday" is active until 2026-06-08T00:00:00-04:00 (America/New_York)'],
    ['2026-06-08T04:00:00.250Z', undefined, 'freeze window "black-friday" is active until 2026-06-08T04:00:00Z'],
  ])('until %s in %s', (until, timeZone, message) => {
    expect(describeFreeze({ name: 'black-friday', until: at(until) }, timeZone)).toBe(message);
  });
});
