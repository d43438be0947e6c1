/**
 * Synthetic RGB frames for the pixel rules' unit tests. Real footage of fire and of road
 * obstructions is not available here (none of ../shared/media shows either), so positives are
 * drawn; the false-positive side is measured on the real clips (fire-smoke-fpr.test.ts).
 */
import { mulberry32 } from '../../../core/util/seeded-random.js';

/** Frames are 512×384 (rules see 512-wide frames live); drawing coordinates are in a 256×192 design space. */
export const W = 256;
export const H = 192;
const K = 2;
const PW = W * K;
const PH = H * K;

/** Deterministic PRNG, so a failing test fails the same way every run. */
export const rng = mulberry32;

/** A textured street-like scene (asphalt grain, paving lines), the same every call for one seed. */
export function background(seed = 1): Uint8Array {
  const r = rng(seed);
  const px = new Uint8Array(PW * PH * 3);
  for (let y = 0; y < PH; y++) {
    for (let x = 0; x < PW; x++) {
      const line = x % 64 < 4 || y % 48 < 4 ? 60 : 0;
      const v = 70 + Math.floor(r() * 50) + line + (y > PH / 2 ? 20 : 0);
      const o = (y * PW + x) * 3;
      px[o] = v;
      px[o + 1] = v + 4;
      px[o + 2] = v + 10;
    }
  }
  return px;
}

/** A copy of `base` with per-pixel sensor noise (±amp) and an optional gain. */
export function noisy(base: Uint8Array, seed: number, amp = 4, gain = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = clamp(base[i]! * gain + (r() * 2 - 1) * amp);
  return out;
}

/** Frame size handed to the rules. */
export const FRAME = { width: PW, height: PH };

export function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

export function fillRect(
  px: Uint8Array,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  rgb: [number, number, number],
): void {
  for (let y = Math.max(0, y1 * K); y < Math.min(PH, y2 * K); y++) {
    for (let x = Math.max(0, x1 * K); x < Math.min(PW, x2 * K); x++) {
      const o = (y * PW + x) * 3;
      px[o] = rgb[0];
      px[o + 1] = rgb[1];
      px[o + 2] = rgb[2];
    }
  }
}

/**
 * Flames: a few tongues of red-orange-yellow pixels whose heights change from sample to sample
 * (flames seconds apart have a different shape each time), with speckle inside.
 */
export function drawFlames(
  px: Uint8Array,
  cx: number,
  baseY: number,
  width: number,
  height: number,
  seed: number,
): void {
  const r = rng(seed);
  const tongues = 4;
  const heights = Array.from({ length: tongues }, () => height * K * (0.2 + 0.8 * r()));
  for (let x = (cx - width / 2) * K; x < (cx + width / 2) * K; x++) {
    const t = Math.min(tongues - 1, Math.floor(((x / K - (cx - width / 2)) / width) * tongues));
    const h = heights[t]!;
    for (let y = baseY * K - h; y < baseY * K; y++) {
      if (r() < 0.2) continue;
      const o = (Math.floor(y) * PW + Math.floor(x)) * 3;
      px[o] = 230 + Math.floor(r() * 25);
      px[o + 1] = 130 + Math.floor(r() * 90);
      px[o + 2] = 10 + Math.floor(r() * 40);
    }
  }
}

/** Smoke: a grey, texture-flattening disc of the given radius, blended over the scene. */
export function drawSmoke(px: Uint8Array, cx: number, cy: number, radius: number, seed: number): void {
  const r = rng(seed);
  [cx, cy, radius] = [cx * K, cy * K, radius * K];
  for (let y = Math.floor(cy - radius); y < cy + radius; y++) {
    for (let x = Math.floor(cx - radius); x < cx + radius; x++) {
      if (x < 0 || y < 0 || x >= PW || y >= PH) continue;
      if ((x - cx) ** 2 + (y - cy) ** 2 > radius ** 2) continue;
      const o = (y * PW + x) * 3;
      const grey = 175 + r() * 4;
      for (let k = 0; k < 3; k++) px[o + k] = clamp(px[o + k]! * 0.15 + grey * 0.85);
    }
  }
}
