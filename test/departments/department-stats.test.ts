import { describe, expect, it } from 'vitest';
import { aggregateDeptStats, deptStatsRange } from '../../features/departments/department-stats.js';
import type { Call, Whistle } from '../../features/departments/departments-config.js';

/** The figures of department statistics on whistles made by hand: median, nearest-rank P90, counts. */
const MIN = 60_000;
const call = (code: string, took: number | null, over: Partial<Call> = {}): Call => ({
  code,
  name: code === 'a' ? '甲局' : '乙局',
  level: 1,
  calledAt: 1_000,
  dueAt: 1_000 + 30 * MIN,
  reportedAt: took === null ? null : 1_000 + took * MIN,
  reportedBy: took === null ? null : 'u1',
  overdueAt: null,
  via: 'operators',
  ...over,
});
const whistle = (i: number, calls: Call[]): Whistle => ({
  alertId: `A${i}`,
  at: 1_000,
  by: 'op',
  note: null,
  alert: {
    type: 't_a',
    typeZh: '甲',
    gridCode: 'g',
    gridName: 'g',
    rootCode: 'r',
    place: 'p',
    path: ['r', 'g'],
  },
  calls,
});

describe('aggregateDeptStats', () => {
  it('median is the mean of the two middle times; P90 the nearest rank; misses and failed notices counted', () => {
    // Department a reported in after 1..10 minutes (given out of order), b never and late once.
    const ws = [3, 9, 1, 10, 5, 2, 8, 4, 7, 6].map((m, i) => whistle(i, [call('a', m)]));
    ws.push(whistle(10, [call('b', null, { overdueAt: 2_000 })]));
    ws.push(
      whistle(11, [
        call('b', 45, {
          overdueAt: 2_000,
          via: 'forward',
          notice: { status: 'failed', attempts: 3, lastError: null, sentAt: null },
        }),
      ]),
    );
    const s = aggregateDeptStats(ws, [
      { code: 'a', name: '甲局（新名）' } as never,
      // b is no longer in the file: it keeps the name it was called by.
    ]);
    expect(s.whistles).toBe(12);
    expect(s.departments).toEqual([
      {
        code: 'a',
        name: '甲局（新名）',
        called: 10,
        reported: 10,
        reportedLate: 0,
        missed: 0,
        medianReportInMs: 5.5 * MIN,
        p90ReportInMs: 9 * MIN,
        noticeFailed: 0,
      },
      {
        code: 'b',
        name: '乙局',
        called: 2,
        reported: 1,
        reportedLate: 1,
        missed: 2,
        medianReportInMs: 45 * MIN,
        p90ReportInMs: 45 * MIN,
        noticeFailed: 1,
      },
    ]);
    expect(s.totals).toMatchObject({
      called: 12,
      reported: 11,
      missed: 2,
      noticeFailed: 1,
      medianReportInMs: 6 * MIN,
    });
    // 11 times: rank ceil(0.9 * 11) = 10 → the 10th smallest, 10 minutes.
    expect(s.totals.p90ReportInMs).toBe(10 * MIN);
  });

  it('a range is checked: to after from, at most 367 days; defaults to the 7 days up to now', () => {
    expect(deptStatsRange({}, 8 * 86_400_000)).toEqual({ ok: true, from: 86_400_000, to: 8 * 86_400_000 });
    expect(deptStatsRange({ from: 5, to: 5 }, 0)).toMatchObject({ ok: false, field: 'to' });
    expect(deptStatsRange({ from: 0, to: 368 * 86_400_000 }, 0)).toMatchObject({ ok: false, field: 'to' });
  });
});
