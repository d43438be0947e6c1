import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { drawEvidence, overlaySvg, placeLabels } from '../../../features/detectors/evidence/draw-evidence.js';

type R = { x: number; y: number; w: number; h: number };
const labelRects = (svg: string): R[] =>
  [
    ...svg.matchAll(
      /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="[^"]+" fill-opacity="0.7"\/>/g,
    ),
  ].map((m) => ({ x: +m[1]!, y: +m[2]!, w: +m[3]!, h: +m[4]! }));
const overlap = (a: R, b: R) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('evidence labels', () => {
  // The van on vtest.avi: its box starts at the zone's corner, where the zone's name was drawn.
  const zone = {
    name: '禁停区 东侧',
    polygon: [
      [0.6, 0.1],
      [0.95, 0.1],
      [0.95, 0.4],
      [0.6, 0.4],
    ] as Array<[number, number]>,
  };
  const boxes = [
    { x1: 0.6, y1: 0.1, x2: 0.8, y2: 0.3, label: 'truck', score: 0.41, trackId: 't12' },
    { x1: 0.62, y1: 0.12, x2: 0.82, y2: 0.32, label: 'car', score: 0.38, trackId: 't13' },
  ];

  it('names the zone and draws no two labels over each other, nor over the caption', () => {
    const svg = overlaySvg(768, 576, {
      zones: [zone],
      boxes,
      caption: 'illegal_parking · 东门 · 2026-12-01',
    });
    expect(svg).toContain('区域 禁停区 东侧');
    const rects = labelRects(svg);
    expect(rects).toHaveLength(3);
    const caption = { x: 0, y: 0, w: 768, h: Math.max(12, Math.round(768 / 55)) + 8 };
    for (let i = 0; i < rects.length; i++) {
      expect(overlap(rects[i]!, caption), `label ${i} over the caption`).toBe(false);
      for (let j = i + 1; j < rects.length; j++)
        expect(overlap(rects[i]!, rects[j]!), `labels ${i}, ${j}`).toBe(false);
      expect(rects[i]!.x + rects[i]!.w).toBeLessThanOrEqual(768);
    }
  });

  it('stacks labels that have no free candidate', () => {
    const same = { w: 50, h: 20, candidates: [{ x: 10, y: 10 }] };
    const out = placeLabels(200, 200, [same, same, same]);
    expect(out.map((r) => r.y)).toEqual([10, 31, 52]);
  });

  it('draws onto a real JPEG', async () => {
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#446' } })
      .jpeg()
      .toBuffer();
    const out = await drawEvidence(jpeg, 320, 240, { zones: [zone], boxes });
    const { width, height, format } = await sharp(out).metadata();
    expect([width, height, format]).toEqual([320, 240, 'jpeg']);
    expect(out.equals(jpeg)).toBe(false);
  });
});
