/**
 * The labelled set that measures the 二次识别 re-check on grid workers' disposal photos
 * (app/photo-recheck.ts, `npm run eval:photo-recheck`), built from the shared real footage at run
 * time (nothing is committed). Each case is an alert box (what the camera's model saw when the
 * alert was raised) and a photo a worker might send, labelled with the truth at the spot:
 * `present` (the problem is still there: the re-check must fail and reopen) or `gone` (it must
 * pass and close).
 *
 * Where the labels come from (hand-labelled from a 4 s contact sheet of each clip, 2026-12-01):
 * - illegal_parking: vtest.avi's white van (x 652-722, y 44-100 of 768×576) and the small car
 *   cut by the right edge are parked for the whole clip, so "present" is any frame. The clip has
 *   no frame without them, so "gone" is made three ways: the bay cloned over with road from just
 *   below it (real pixels), the bay painted road grey (the older test's way), and, honestly
 *   absent, alerts whose box lies on road or parking spaces of the same view where no vehicle
 *   stands (as if the vehicle there had left).
 * - loitering (person dwell): one-by-one-person-detection.mp4, one person at a time standing at
 *   a table; six stays, and the frames between them with nobody in the room (real "gone").
 * Hard cases applied to every base photo: lower JPEG quality, phone-like resizing (up to
 *   1920 px and down to 320 px), a different framing (cropped, so the object moves in the
 *   picture), a close-up of the spot, and, labelled `present`, a photo of a different view
 *   while the object is still there (what docs/workers.md warns about).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Box } from '../core/contracts/finding.js';

export type Truth = 'present' | 'gone';
export type RecheckType = 'illegal_parking' | 'loitering';

export interface RecheckCase {
  id: string;
  type: RecheckType;
  /** The alert's box, in the camera frame's 0-1 coordinates. */
  box: Box;
  truth: Truth;
  /** How the photo was made: camera, q20, phone, phone-small, reframed, close-up, other-view. */
  variant: string;
  /** How "gone" was made, or "real" / "still there". */
  base: string;
  photo: Buffer;
  /** The alert's latest camera evidence (what the photo is compared with), JPEG. */
  camera: Buffer;
}

type Px = { x1: number; y1: number; x2: number; y2: number };

/** One frame of a clip as PNG (lossless: the variants decide the JPEG quality). */
export function grab(mediaDir: string, clip: string, sec: number): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      '-loglevel',
      'error',
      '-ss',
      String(sec),
      '-i',
      join(mediaDir, clip),
      '-frames:v',
      '1',
      '-f',
      'image2pipe',
      '-vcodec',
      'png',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
}

const norm = (p: Px, w: number, h: number, label: string): Box => ({
  x1: p.x1 / w,
  y1: p.y1 / h,
  x2: p.x2 / w,
  y2: p.y2 / h,
  label,
  score: 0.5,
});

/** The photo variants of one base image; `box` (0-1) says where the spot is for the crops. */
export async function variants(png: Buffer, box: Box): Promise<Array<{ variant: string; photo: Buffer }>> {
  const meta = await sharp(png).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  const cx = ((box.x1 + box.x2) / 2) * w;
  const cy = ((box.y1 + box.y2) / 2) * h;
  // Reframed: 20 % of the width and 15 % of the height cut from the sides away from the spot,
  // so the spot stays in the picture but moves in it.
  const cutW = Math.round(w * 0.2);
  const cutH = Math.round(h * 0.15);
  const reframe = {
    left: cx > w / 2 ? cutW : 0,
    top: cy > h / 2 ? cutH : 0,
    width: w - cutW,
    height: h - cutH,
  };
  // Close-up: the spot with one box size of margin on each side (at least 160 px), as a worker
  // standing near it would take it.
  const bw = Math.max(160, (box.x2 - box.x1) * w * 3);
  const bh = Math.max(160, (box.y2 - box.y1) * h * 3);
  const l = Math.max(0, Math.round(cx - bw / 2));
  const t = Math.max(0, Math.round(cy - bh / 2));
  const close = {
    left: l,
    top: t,
    width: Math.min(w - l, Math.round(bw)),
    height: Math.min(h - t, Math.round(bh)),
  };
  return [
    { variant: 'camera', photo: await sharp(png).jpeg({ quality: 90 }).toBuffer() },
    { variant: 'q20', photo: await sharp(png).jpeg({ quality: 20 }).toBuffer() },
    {
      variant: 'phone',
      photo: await sharp(png)
        .resize({ width: 1920 })
        .modulate({ brightness: 1.08 })
        .jpeg({ quality: 80 })
        .toBuffer(),
    },
    {
      variant: 'phone-small',
      photo: await sharp(png).resize({ width: 320 }).jpeg({ quality: 60 }).toBuffer(),
    },
    { variant: 'reframed', photo: await sharp(png).extract(reframe).jpeg({ quality: 85 }).toBuffer() },
    {
      variant: 'close-up',
      photo: await sharp(png).extract(close).resize({ width: 1280 }).jpeg({ quality: 85 }).toBuffer(),
    },
  ];
}

/** A patch of `from` copied over `to` (same size), or painted `grey` when `from` is null. */
async function cover(png: Buffer, to: Px, from: Px | null): Promise<Buffer> {
  const width = to.x2 - to.x1;
  const height = to.y2 - to.y1;
  const patch = from
    ? await sharp(png).extract({ left: from.x1, top: from.y1, width, height }).png().toBuffer()
    : await sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 124 } } })
        .png()
        .toBuffer();
  return sharp(png)
    .composite([{ input: patch, left: to.x1, top: to.y1 }])
    .png()
    .toBuffer();
}

const VT_W = 768;
const VT_H = 576;
/** The parked vehicles of vtest.avi, a little wider than they are (as a tracked box jitters). */
const VAN: Px = { x1: 646, y1: 38, x2: 728, y2: 104 };
const CAR: Px = { x1: 732, y1: 46, x2: 768, y2: 96 };
/** Spots of the same view with no vehicle in any frame (road and parking bays). */
const EMPTY_SPOTS: Px[] = [
  { x1: 620, y1: 112, x2: 720, y2: 170 },
  { x1: 60, y1: 140, x2: 200, y2: 200 },
  { x1: 520, y1: 280, x2: 660, y2: 340 },
  { x1: 0, y1: 190, x2: 120, y2: 240 },
];
const VT_TIMES = [5, 15, 25, 35, 45, 55, 65, 75];

/** Stays at the table in one-by-one-person-detection.mp4: the first second is the alert's frame. */
export const PERSON_STAYS: number[][] = [
  [8, 12, 16],
  [24, 30, 36, 40],
  [52, 58, 64],
  [76, 80],
  [96, 100, 106, 112],
  [124, 128, 132],
];
/** Seconds with nobody in the room. */
export const PERSON_ABSENT = [0, 4, 20, 44, 48, 72, 88, 120, 136];
export const OBO = 'one-by-one-person-detection.mp4';

export interface SetOptions {
  mediaDir: string;
  /** Where the camera's model saw a person in this frame (the alert's box), or null. */
  personBox(png: Buffer): Promise<Box | null>;
}

export async function buildRecheckSet(o: SetOptions): Promise<{ cases: RecheckCase[]; notes: string[] }> {
  const cases: RecheckCase[] = [];
  const notes: string[] = [];
  const add = async (
    id: string,
    type: RecheckType,
    box: Box,
    truth: Truth,
    base: string,
    png: Buffer,
    camera: Buffer,
  ): Promise<void> => {
    for (const v of await variants(png, box))
      cases.push({ id: `${id}/${v.variant}`, type, box, truth, base, camera, ...v });
  };
  const jpeg = (png: Buffer): Promise<Buffer> => sharp(png).jpeg({ quality: 90 }).toBuffer();
  // The alert's evidence frame: vtest.avi at 10 s (the older test's frame), none of the photos.
  const vtCamera = await jpeg(grab(o.mediaDir, 'vtest.avi', 10));
  const otherViews = [
    { clip: 'highway-traffic.avi', sec: 10 },
    { clip: 'car-detection.mp4', sec: 5 },
    { clip: OBO, sec: 30 },
  ].map((v) => ({ ...v, png: grab(o.mediaDir, v.clip, v.sec) }));

  // illegal_parking on vtest.avi.
  const vehicles = [
    { name: 'van', px: VAN, label: 'truck' },
    { name: 'car', px: CAR, label: 'car' },
  ];
  for (const sec of VT_TIMES) {
    const png = grab(o.mediaDir, 'vtest.avi', sec);
    for (const v of vehicles) {
      const box = norm(v.px, VT_W, VT_H, v.label);
      await add(
        `vtest@${sec}/${v.name}/there`,
        'illegal_parking',
        box,
        'present',
        'still there',
        png,
        vtCamera,
      );
      // Road from just below the bay (the same size, real pixels).
      const h = v.px.y2 - v.px.y1;
      const from = { x1: v.px.x1, y1: v.px.y2 + 8, x2: v.px.x2, y2: v.px.y2 + 8 + h };
      let gone = await cover(png, v.px, from);
      // Both vehicles left: the other bay is covered as well, so nothing parked is in the photo.
      const other = vehicles.find((x) => x !== v)!.px;
      const oh = other.y2 - other.y1;
      gone = await cover(gone, other, {
        x1: other.x1,
        y1: other.y2 + 8,
        x2: other.x2,
        y2: other.y2 + 8 + oh,
      });
      await add(
        `vtest@${sec}/${v.name}/cloned`,
        'illegal_parking',
        box,
        'gone',
        'cloned road',
        gone,
        vtCamera,
      );
      if (sec === VT_TIMES[0] || sec === VT_TIMES[4]) {
        const grey = await cover(await cover(png, v.px, null), other, null);
        await add(
          `vtest@${sec}/${v.name}/grey`,
          'illegal_parking',
          box,
          'gone',
          'painted grey',
          grey,
          vtCamera,
        );
      }
    }
    if (sec % 20 === 5)
      for (const [i, s] of EMPTY_SPOTS.entries())
        await add(
          `vtest@${sec}/spot${i}`,
          'illegal_parking',
          norm(s, VT_W, VT_H, 'car'),
          'gone',
          'real (empty spot)',
          png,
          vtCamera,
        );
  }
  for (const v of vehicles)
    for (const ov of otherViews.slice(0, 2))
      for (const pv of (await variants(ov.png, norm(v.px, VT_W, VT_H, v.label))).filter(
        (x) => x.variant === 'camera' || x.variant === 'phone',
      ))
        cases.push({
          id: `${ov.clip}@${ov.sec}/for-${v.name}/${pv.variant}`,
          type: 'illegal_parking',
          box: norm(v.px, VT_W, VT_H, v.label),
          truth: 'present',
          variant: 'other-view',
          base: 'still there',
          photo: pv.photo,
          camera: vtCamera,
        });

  // loitering on one-by-one-person-detection.mp4.
  const absent = PERSON_ABSENT.map((sec) => ({ sec, png: grab(o.mediaDir, OBO, sec) }));
  for (const [i, stay] of PERSON_STAYS.entries()) {
    const [ref, ...rest] = stay as [number, ...number[]];
    const refPng = grab(o.mediaDir, OBO, ref);
    const camera = await jpeg(refPng);
    const box = await o.personBox(refPng);
    if (!box) {
      notes.push(`stay ${i} (${ref} s): the model saw no person in the alert's frame; left out`);
      continue;
    }
    for (const sec of rest)
      await add(
        `obo@${sec}/stay${i}/there`,
        'loitering',
        box,
        'present',
        'still there',
        grab(o.mediaDir, OBO, sec),
        camera,
      );
    for (const a of absent)
      await add(`obo@${a.sec}/stay${i}/empty`, 'loitering', box, 'gone', 'real (room empty)', a.png, camera);
    const vt = grab(o.mediaDir, 'vtest.avi', 10 + i * 10);
    for (const ov of [{ clip: 'vtest.avi', png: vt }, otherViews[1]!])
      for (const pv of (await variants(ov.png, box)).filter(
        (x) => x.variant === 'camera' || x.variant === 'phone',
      ))
        cases.push({
          id: `${ov.clip}/for-stay${i}/${pv.variant}`,
          type: 'loitering',
          box,
          truth: 'present',
          variant: 'other-view',
          base: 'still there',
          photo: pv.photo,
          camera,
        });
  }
  return { cases, notes };
}

/**
 * Exact (Clopper-Pearson) two-sided 95 % interval of a rate k/n, by bisection on the binomial
 * tails. Frames of one clip are not independent, so the true uncertainty is wider than this.
 */
export function clopperPearson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const lnC = (i: number): number => lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1);
  const cdf = (p: number, upTo: number): number => {
    let s = 0;
    for (let i = 0; i <= upTo; i++) s += Math.exp(lnC(i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
    return s;
  };
  const solve = (f: (p: number) => number): number => {
    let lo = 0;
    let hi = 1;
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      if (f(mid) > 0) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  };
  // Upper: P(X ≤ k | p) = 0.025; lower: P(X ≥ k | p) = 0.025.
  const upper = k === n ? 1 : solve((p) => cdf(p, k) - 0.025);
  const lower = k === 0 ? 0 : solve((p) => 0.025 - (1 - cdf(p, k - 1)));
  return [lower, upper];
}

function lgamma(x: number): number {
  // Lanczos approximation (g = 7), enough for counts up to a few thousand.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
  const xx = x - 1;
  let a = c[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}
