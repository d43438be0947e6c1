import { describe, expect, it } from 'vitest';
import { isStale } from '../../core/contracts/fence.js';
import { FindingSchema } from '../../core/contracts/finding.js';
import { ClusterConfigSchema } from '../../features/cluster/cluster-config.js';
import { balance, placeCameras, rankNodes, type PlacementNode } from '../../features/cluster/placement.js';

const cams = (n: number) => Array.from({ length: n }, (_, i) => `cam-${String(i).padStart(5, '0')}`);
const nodes = (n: number, capacity = 10_000): PlacementNode[] =>
  Array.from({ length: n }, (_, i) => ({ id: `node-${i + 1}`, capacity }));
const moved = (a: Map<string, string | null>, b: Map<string, string | null>) =>
  [...a].filter(([c, o]) => b.get(c) !== o).length;

describe('weighted rendezvous placement', () => {
  it('balances 2,000 cameras over 4 equal nodes within max/mean 1.2', () => {
    const p = placeCameras(cams(2000), nodes(4));
    const b = balance(
      p,
      nodes(4).map((n) => n.id),
    );
    expect(b.unowned).toBe(0);
    expect(b.maxOverMean).toBeLessThanOrEqual(1.2);
  });

  it('moves about 1/N of the cameras when a fifth node joins, all of them to the new node', () => {
    const before = placeCameras(cams(2000), nodes(4));
    const after = placeCameras(cams(2000), nodes(5));
    const m = moved(before, after);
    expect(m).toBeLessThanOrEqual((1.5 / 5) * 2000);
    expect(m).toBeGreaterThanOrEqual((0.5 / 5) * 2000);
    for (const [c, o] of after) if (before.get(c) !== o) expect(o).toBe('node-5');
  });

  it('moves only the cameras of a node that leaves', () => {
    const before = placeCameras(cams(2000), nodes(4));
    const after = placeCameras(
      cams(2000),
      nodes(4).filter((n) => n.id !== 'node-2'),
    );
    for (const [c, o] of before) if (o !== 'node-2') expect(after.get(c)).toBe(o);
    expect([...after.values()]).not.toContain('node-2');
  });

  it('gives shares proportional to capacity', () => {
    const ns = [
      { id: 'big', capacity: 2000 },
      { id: 'small', capacity: 1000 },
    ];
    const b = balance(placeCameras(cams(2000), ns), ['big', 'small']);
    expect(b.perNode.big! / b.perNode.small!).toBeGreaterThan(1.7);
    expect(b.perNode.big! / b.perNode.small!).toBeLessThan(2.3);
  });

  it('never places more than a node holds; what fits nowhere is unowned', () => {
    const p = placeCameras(cams(500), nodes(3, 100));
    const b = balance(
      p,
      nodes(3).map((n) => n.id),
    );
    for (const n of Object.values(b.perNode)) expect(n).toBe(100);
    expect(b.unowned).toBe(200);
  });

  it('is the same whatever order the nodes and cameras are listed in', () => {
    const a = placeCameras(cams(300), nodes(4));
    const b = placeCameras(cams(300).reverse(), nodes(4).reverse());
    expect([...b].sort()).toEqual([...a].sort());
  });

  it('skips nodes of capacity 0 (draining)', () => {
    expect(
      rankNodes('cam-1', [
        { id: 'a', capacity: 0 },
        { id: 'b', capacity: 5 },
      ]).map((n) => n.id),
    ).toEqual(['b']);
  });
});

describe('fencing check', () => {
  const f = { fence: { token: 4, nodeId: 'node-1' } };
  it('drops a finding from an older lease only', () => {
    expect(isStale(f, 5)).toBe(true);
    expect(isStale(f, 4)).toBe(false);
    expect(isStale(f, 3)).toBe(false);
  });
  it('keeps unfenced findings and unknown current tokens', () => {
    expect(isStale({}, 9)).toBe(false);
    expect(isStale(f, null)).toBe(false);
  });
  it('is part of the Finding contract, strict', () => {
    const base = {
      id: 'cam-1:illegal_parking:z1:1',
      cameraId: 'cam-1',
      type: 'illegal_parking',
      zoneId: 'z1',
      score: 0.5,
      trackIds: [],
      boxes: [],
      firstSeen: 1,
      lastSeen: 2,
      evidence: { first: null, latest: null },
      detector: { plugin: 'p', version: '1' },
    };
    expect(FindingSchema.parse({ ...base, fence: f.fence }).fence).toEqual(f.fence);
    expect(FindingSchema.safeParse({ ...base, fence: { token: -1, nodeId: 'n' } }).success).toBe(false);
    expect(FindingSchema.safeParse({ ...base, fence: { token: 1 } }).success).toBe(false);
  });
});

describe('cluster config', () => {
  it('defaults to disabled and rejects a lease shorter than two heartbeats', () => {
    expect(ClusterConfigSchema.parse({}).enabled).toBe(false);
    const r = ClusterConfigSchema.safeParse({ heartbeatMs: 1000, leaseTtlMs: 1500 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['leaseTtlMs']);
  });
});
