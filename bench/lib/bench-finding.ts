import type { Finding } from '../../core/contracts/finding.js';

/**
 * An illegal-parking finding as the dispatcher benchmarks submit it: even sites on cam-a in its
 * no-parking zone, odd ones on cam-loc (no zone, routed by location), seen for the last 30 s.
 */
export function benchFinding(o: { id: string; site: number; track: string; placeKey: string }): Finding {
  const t = Date.now();
  return {
    id: o.id,
    cameraId: o.site % 2 === 0 ? 'cam-a' : 'cam-loc',
    type: 'illegal_parking',
    zoneId: o.site % 2 === 0 ? 'z-noparking' : null,
    score: 0.8,
    trackIds: [o.track],
    boxes: [{ x1: 0.1, y1: 0.2, x2: 0.3, y2: 0.4, label: 'car', score: 0.8, trackId: o.track }],
    firstSeen: t - 30_000,
    lastSeen: t,
    placeKey: o.placeKey,
    evidence: { first: '2026-11-27/bench_1.jpg', latest: '2026-11-27/bench_2.jpg' },
    detector: { plugin: 'bench', version: '1.0.0' },
  };
}
