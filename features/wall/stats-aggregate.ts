import type { AlertTimeline } from '../../core/contracts/alert-service.js';
import type { AlertState } from '../../core/contracts/alert.js';
import type { GridIndex } from '../../core/contracts/grid-index.js';

export const STATS_GROUPS = ['county', 'grid', 'type', 'operator', 'camera', 'day'] as const;
export type StatsGroup = (typeof STATS_GROUPS)[number];

/** One row of the 考核 table: a county, grid, type, operator, camera or day. */
export interface StatsRow {
  key: string;
  name: string;
  raised: number;
  claimed: number;
  confirmed: number;
  rejected: number;
  /** Rejected with reason false_detection (误报). */
  falseDetections: number;
  /** rejected / (confirmed + rejected); null before any decision. */
  rejectRate: number | null;
  closed: number;
  medianClaimMs: number | null;
  medianConfirmMs: number | null;
  medianCloseMs: number | null;
  /** Still open and older than the SLA at `now` (逾期未结). */
  overdue: number;
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Local calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function dayIn(timeZone: string): (at: number) => string {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  return (at) => f.format(at);
}

interface Acc {
  key: string;
  name: string;
  raised: number;
  claimed: number;
  confirmed: number;
  rejected: number;
  falseDetections: number;
  closed: number;
  claimMs: number[];
  confirmMs: number[];
  closeMs: number[];
  overdue: number;
}

function finish(a: Acc): StatsRow {
  const decided = a.confirmed + a.rejected;
  return {
    key: a.key,
    name: a.name,
    raised: a.raised,
    claimed: a.claimed,
    confirmed: a.confirmed,
    rejected: a.rejected,
    falseDetections: a.falseDetections,
    rejectRate: decided ? a.rejected / decided : null,
    closed: a.closed,
    medianClaimMs: median(a.claimMs),
    medianConfirmMs: median(a.confirmMs),
    medianCloseMs: median(a.closeMs),
    overdue: a.overdue,
  };
}

/**
 * The 考核 figures of a set of alerts, per group and in total. Times run from the alert's
 * creation to the first claim, confirmation and closing in its audit. An alert counts as
 * confirmed when its audit has a decision and it is not rejected now (a confirmed alert moves on
 * to forwarded … closed); "overdue" is an open alert older than `slaMs` at `now`.
 */
export function aggregateStats(
  items: readonly AlertTimeline[],
  o: {
    groupBy: StatsGroup;
    now: number;
    slaMs: number;
    openStates: readonly AlertState[];
    grids: GridIndex;
    timeZone: string;
    /** groupBy 'day': every day of the range gets a row, zero when nothing was raised. */
    days?: readonly string[];
  },
): { rows: StatsRow[]; totals: StatsRow } {
  const open = new Set<string>(o.openStates);
  const day = dayIn(o.timeZone);
  const groups = new Map<string, Acc>();
  const acc = (key: string, name: string): Acc => {
    let a = groups.get(key);
    if (!a) {
      a = {
        key,
        name,
        raised: 0,
        claimed: 0,
        confirmed: 0,
        rejected: 0,
        falseDetections: 0,
        closed: 0,
        claimMs: [],
        confirmMs: [],
        closeMs: [],
        overdue: 0,
      };
      groups.set(key, a);
    }
    return a;
  };
  const total = acc('\u0000total', '');
  groups.delete('\u0000total');
  const keyOf = (t: AlertTimeline): [string, string] => {
    const a = t.alert;
    switch (o.groupBy) {
      case 'county': {
        const c =
          a.gridPath.find((g) => g.level === 'county') ??
          o.grids.path(a.gridCode).find((g) => g.level === 'county');
        return c ? [c.code, c.name] : ['', ''];
      }
      case 'grid': {
        const g = a.gridPath[a.gridPath.length - 1];
        return [a.gridCode, g?.code === a.gridCode ? g.name : (o.grids.get(a.gridCode)?.name ?? a.gridCode)];
      }
      case 'type':
        return [a.type, a.typeLabel.zh];
      case 'operator':
        return a.decidedBy ? [a.decidedBy.username, a.decidedBy.displayName] : ['', ''];
      case 'camera':
        return [a.cameraId, a.cameraName];
      case 'day': {
        const d = day(a.createdAt);
        return [d, d];
      }
    }
  };
  if (o.groupBy === 'day') for (const d of o.days ?? []) acc(d, d);
  for (const t of items) {
    const a = t.alert;
    const [k, n] = keyOf(t);
    for (const g of [acc(k, n), total]) {
      g.raised++;
      if (t.claimedAt !== null) {
        g.claimed++;
        g.claimMs.push(t.claimedAt - a.createdAt);
      }
      if (a.state === 'rejected') {
        g.rejected++;
        if (a.rejectReason === 'false_detection') g.falseDetections++;
      } else if (t.decidedAt !== null) {
        g.confirmed++;
        g.confirmMs.push(t.decidedAt - a.createdAt);
      }
      if (t.closedAt !== null) {
        g.closed++;
        g.closeMs.push(t.closedAt - a.createdAt);
      }
      if (open.has(a.state) && o.now - a.createdAt > o.slaMs) g.overdue++;
    }
  }
  const rows = [...groups.values()].map(finish);
  rows.sort((x, y) =>
    o.groupBy === 'day' ? (x.key < y.key ? -1 : 1) : y.raised - x.raised || (x.key < y.key ? -1 : 1),
  );
  return { rows, totals: finish({ ...total, key: '', name: '' }) };
}

/** zh-CN column headers of the CSV export, in order, with the row field each shows. */
export const CSV_COLUMNS: ReadonlyArray<[string, (r: StatsRow) => string]> = [
  ['编码', (r) => r.key],
  ['名称', (r) => r.name],
  ['告警数', (r) => String(r.raised)],
  ['认领数', (r) => String(r.claimed)],
  ['确认数', (r) => String(r.confirmed)],
  ['驳回数', (r) => String(r.rejected)],
  ['误报数', (r) => String(r.falseDetections)],
  ['驳回率(%)', (r) => (r.rejectRate === null ? '' : (r.rejectRate * 100).toFixed(1))],
  ['结案数', (r) => String(r.closed)],
  ['认领用时中位数(分钟)', (r) => minutes(r.medianClaimMs)],
  ['确认用时中位数(分钟)', (r) => minutes(r.medianConfirmMs)],
  ['结案用时中位数(分钟)', (r) => minutes(r.medianCloseMs)],
  ['逾期未结', (r) => String(r.overdue)],
];

function minutes(ms: number | null): string {
  return ms === null ? '' : (ms / 60_000).toFixed(1);
}

/**
 * One CSV field: quoted when it holds a separator, quote or line break; a leading = + - @ tab
 * or CR is prefixed with ' so a spreadsheet never runs a grid or camera name as a formula.
 */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** UTF-8 CSV with a byte-order mark (Excel opens it as UTF-8), CRLF line ends, zh-CN headers. */
export function statsCsv(rows: readonly StatsRow[], totals: StatsRow): string {
  const lines = [CSV_COLUMNS.map(([h]) => h)];
  for (const r of rows) lines.push(CSV_COLUMNS.map(([, f]) => f(r)));
  lines.push(CSV_COLUMNS.map(([, f], i) => (i === 0 ? '合计' : i === 1 ? '' : f(totals))));
  return `\uFEFF${lines.map((l) => l.map(csvField).join(',')).join('\r\n')}\r\n`;
}
