import { describe, expect, it } from 'vitest';
import {
  downscaleGray,
  GRID_H,
  GRID_W,
  measureMotion,
  zoneMask,
} from '../../../features/detectors/motion/motion.js';
import { mediaPath } from '../../helpers/media.js';
import { decodeFrames } from './helpers.js';

// Zones looked up on the frames themselves: the parked van (top right) and the walking path.
const VAN = [
  [0.82, 0.05],
  [0.945, 0.05],
  [0.945, 0.21],
  [0.82, 0.21],
] as Array<[number, number]>;
const PATH = [
  [0.0, 0.3],
  [0.6, 0.33],
  [0.95, 0.45],
  [0.95, 0.75],
  [0.45, 0.6],
  [0.0, 0.45],
] as Array<[number, number]>;

describe('motion gate pixel work on real footage', () => {
  const [a, b, c] = decodeFrames(mediaPath('vtest.avi'), [30, 31, 32], 512, 512);
  const ga = downscaleGray(a!, 512, 512);
  const gb = downscaleGray(b!, 512, 512);
  const gc = downscaleGray(c!, 512, 512);

  it('masks only the zone (plus a one-cell margin)', () => {
    const m = zoneMask([VAN], 0);
    const cells = m.reduce((s, v) => s + v, 0);
    const expected = (0.945 - 0.82) * GRID_W * (0.21 - 0.05) * GRID_H;
    expect(Math.abs(cells - expected) / expected).toBeLessThan(0.25);
    expect(zoneMask([VAN], 1).reduce((s, v) => s + v, 0)).toBeGreaterThan(cells);
    expect(zoneMask([]).reduce((s, v) => s + v, 0)).toBe(GRID_W * GRID_H);
  });

  it('sees people walking on the path between samples one second apart', () => {
    const m = measureMotion(ga, gb, zoneMask([PATH]), 16);
    expect(m.changed).toBeGreaterThanOrEqual(5);
  });

  it('sees nothing change around the parked van', () => {
    const mask = zoneMask([VAN], 0);
    expect(measureMotion(ga, gb, mask, 16).changed).toBe(0);
    expect(measureMotion(ga, gc, mask, 16).changed).toBe(0);
  });

  it('is zero for the same frame and counts every cell for an inverted one', () => {
    const full = zoneMask([]);
    expect(measureMotion(ga, ga, full, 16).changed).toBe(0);
    const inv = ga.map((v) => 255 - v);
    const m = measureMotion(ga, inv, full, 16);
    expect(m.area).toBe(GRID_W * GRID_H);
    expect(m.changed).toBeGreaterThan(0.8 * m.area);
  });
});
