import gcoordModule from 'gcoord';
import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import type { Crs } from '../../core/contracts/common-schema.js';

// gcoord is CommonJS typed as an ES default export: under NodeNext the runtime default is
// module.exports itself, while the types put it under `.default`.
type Gcoord = typeof gcoordModule.default;
const gcoord: Gcoord =
  (gcoordModule as unknown as { default?: Gcoord }).default ?? (gcoordModule as unknown as Gcoord);

/** The case a grid platform receives. Documented field by field in docs/integration.md. */
export const CasePayloadSchema = z
  .strictObject({
    schema: z.literal('gridwatch.case/1'),
    kind: z.enum(['case.create', 'case.reopen']),
    idempotencyKey: z.string().describe('Same value as the Idempotency-Key header'),
    alertId: z.string(),
    seq: z.number().int().min(1),
    type: z.strictObject({ code: z.string(), zh: z.string(), en: z.string() }),
    grid: z.strictObject({
      code: z.string(),
      path: z.array(z.strictObject({ code: z.string(), name: z.string(), level: z.string() })),
    }),
    location: z.strictObject({ lon: z.number(), lat: z.number(), crs: z.enum(['WGS84', 'GCJ02', 'BD09']) }),
    camera: z.strictObject({ id: z.string(), name: z.string(), deviceId: z.string().nullable() }),
    zone: z.strictObject({ id: z.string(), name: z.string().nullable() }).nullable(),
    times: z.strictObject({
      firstSeen: z.string().describe('ISO 8601 with +08:00 offset'),
      lastSeen: z.string(),
      confirmedAt: z.string(),
    }),
    confirmedBy: z.strictObject({ username: z.string(), displayName: z.string() }).nullable(),
    count: z.number().int(),
    score: z.number(),
    evidence: z.array(z.strictObject({ role: z.enum(['first', 'latest']), url: z.string() })),
    note: z.string().nullable(),
  })
  .describe('A case sent to the grid platform');
export type CasePayload = z.infer<typeof CasePayloadSchema>;

/** ISO 8601 in China Standard Time: platforms there read local times, and UTC+8 has no DST. */
export function isoCst(ms: number): string {
  return `${new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19)}+08:00`;
}

export function toCrs(lon: number, lat: number, crs: Crs): { lon: number; lat: number } {
  if (crs === 'WGS84') return { lon, lat };
  const [x, y] = gcoord.transform([lon, lat], gcoord.WGS84, crs === 'GCJ02' ? gcoord.GCJ02 : gcoord.BD09);
  return { lon: Math.round(x * 1e7) / 1e7, lat: Math.round(y * 1e7) / 1e7 };
}

export function buildCase(
  a: Alert,
  opts: {
    kind: CasePayload['kind'];
    seq: number;
    idempotencyKey: string;
    crs: Crs;
    /** Signed URL the platform can fetch an evidence image from (see evidence-links.ts). */
    evidenceUrl: (relPath: string) => string;
    note: string | null;
  },
): CasePayload {
  const evidence: CasePayload['evidence'] = [];
  if (a.evidence.first) evidence.push({ role: 'first', url: opts.evidenceUrl(a.evidence.first) });
  if (a.evidence.latest && a.evidence.latest !== a.evidence.first)
    evidence.push({ role: 'latest', url: opts.evidenceUrl(a.evidence.latest) });
  return {
    schema: 'gridwatch.case/1',
    kind: opts.kind,
    idempotencyKey: opts.idempotencyKey,
    alertId: a.id,
    seq: opts.seq,
    type: { code: a.type, zh: a.typeLabel.zh, en: a.typeLabel.en },
    grid: { code: a.gridCode, path: a.gridPath.map((g) => ({ code: g.code, name: g.name, level: g.level })) },
    location: { ...toCrs(a.location.lon, a.location.lat, opts.crs), crs: opts.crs },
    camera: { id: a.cameraId, name: a.cameraName, deviceId: a.deviceId ?? null },
    zone: a.zoneId === null ? null : { id: a.zoneId, name: a.zoneName },
    times: {
      firstSeen: isoCst(a.firstSeen),
      lastSeen: isoCst(a.lastSeen),
      confirmedAt: isoCst(a.decidedBy?.at ?? a.updatedAt),
    },
    confirmedBy: a.decidedBy
      ? { username: a.decidedBy.username, displayName: a.decidedBy.displayName }
      : null,
    count: a.count,
    score: Math.round(a.score * 1_000) / 1_000,
    evidence,
    note: opts.note,
  };
}
