import type { z } from 'zod';
import type { TimeWindowSchema } from '../contracts/camera-schema.js';

export type TimeWindow = z.infer<typeof TimeWindowSchema>;

/** Local weekday (1 = Monday) and minute of day of `at` in `timeZone`. */
export function localClock(at: number, timeZone: string): { weekday: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(get('weekday')) + 1;
  return { weekday, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

function toMinute(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/**
 * Whether a rule is active at `at`. No windows = always active. A window whose end is before
 * its start runs past midnight; its after-midnight part belongs to the day it started on.
 */
export function isScheduleActive(
  windows: readonly TimeWindow[] | undefined,
  at: number,
  timeZone: string,
): boolean {
  if (!windows || windows.length === 0) return true;
  const { weekday, minute } = localClock(at, timeZone);
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return windows.some((w) => {
    const s = toMinute(w.start);
    const e = toMinute(w.end);
    if (s === e) return w.days.includes(weekday);
    if (s < e) return w.days.includes(weekday) && minute >= s && minute < e;
    return (w.days.includes(weekday) && minute >= s) || (w.days.includes(yesterday) && minute < e);
  });
}
