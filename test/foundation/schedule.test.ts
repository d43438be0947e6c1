import { describe, expect, it } from 'vitest';
import { isScheduleActive } from '../../core/config/schedule.js';

// 2026-11-27 is a Friday (ISO weekday 5).
const at = (hhmm: string, day = '27') => Date.parse(`2026-11-${day}T${hhmm}:00+08:00`);
const TZ = 'Asia/Shanghai';

describe('schedule windows', () => {
  it('no windows means always active', () => {
    expect(isScheduleActive([], at('03:00'), TZ)).toBe(true);
  });
  it('a day window includes its start and excludes its end', () => {
    const w = [{ days: [5], start: '07:00', end: '20:00' }];
    expect(isScheduleActive(w, at('06:59'), TZ)).toBe(false);
    expect(isScheduleActive(w, at('07:00'), TZ)).toBe(true);
    expect(isScheduleActive(w, at('19:59'), TZ)).toBe(true);
    expect(isScheduleActive(w, at('20:00'), TZ)).toBe(false);
    expect(isScheduleActive(w, at('12:00', '28'), TZ)).toBe(false);
  });
  it('a window past midnight belongs to the day it started', () => {
    const w = [{ days: [5], start: '22:00', end: '06:00' }];
    expect(isScheduleActive(w, at('23:00'), TZ)).toBe(true);
    expect(isScheduleActive(w, at('05:00', '28'), TZ)).toBe(true);
    expect(isScheduleActive(w, at('05:00'), TZ)).toBe(false);
  });
  it('uses the configured zone, not the machine’s', () => {
    const w = [{ days: [5], start: '07:00', end: '08:00' }];
    const utc7 = Date.parse('2026-11-27T07:30:00Z');
    expect(isScheduleActive(w, utc7, 'UTC')).toBe(true);
    expect(isScheduleActive(w, utc7, TZ)).toBe(false);
  });
});
