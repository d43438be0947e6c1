import sharp from 'sharp';
import type { NBox } from '../plugin-api/contract.js';

export interface EvidenceOverlay {
  zones: Array<{ name: string; polygon: Array<[number, number]> }>;
  boxes: Array<NBox & { label: string; score: number; trackId?: string }>;
  /** Top-left caption, e.g. type and time. */
  caption?: string;
  color?: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface LabelRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Text width estimate for layout: CJK glyphs are square, Latin ones about 0.6 em. */
export function textWidth(text: string, font: number): number {
  let em = 0;
  for (const ch of text) em += /[\u2e80-\uffff]/.test(ch) ? 1 : 0.6;
  return Math.ceil(em * font) + 6;
}

function overlaps(a: LabelRect, b: LabelRect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Places each label at the first of its candidate positions that stays in the image and
 * overlaps no label placed before it; if none does, below the lowest clash, so labels stack
 * instead of drawing over each other (the zone's name used to sit under the box's label).
 */
export function placeLabels(
  width: number,
  height: number,
  wanted: Array<{ w: number; h: number; candidates: Array<{ x: number; y: number }> }>,
  reserved: LabelRect[] = [],
): LabelRect[] {
  const placed: LabelRect[] = [...reserved];
  const out: LabelRect[] = [];
  const clamp = (r: LabelRect): LabelRect => ({
    ...r,
    x: Math.min(Math.max(0, r.x), Math.max(0, width - r.w)),
    y: Math.min(Math.max(0, r.y), Math.max(0, height - r.h)),
  });
  for (const l of wanted) {
    let best: LabelRect | null = null;
    for (const c of l.candidates) {
      const r = clamp({ x: c.x, y: c.y, w: l.w, h: l.h });
      if (!placed.some((p) => overlaps(p, r))) {
        best = r;
        break;
      }
    }
    if (!best) {
      // Slide down from the first candidate until free (or off the bottom: then keep the last).
      let r = clamp({ ...l.candidates[0]!, w: l.w, h: l.h });
      for (let guard = 0; guard < 200; guard++) {
        const hit = placed.filter((p) => overlaps(p, r));
        if (hit.length === 0) break;
        const nextY = Math.max(...hit.map((p) => p.y + p.h)) + 1;
        if (nextY + l.h > height) break;
        r = { ...r, y: nextY };
      }
      best = r;
    }
    placed.push(best);
    out.push(best);
  }
  return out;
}

function labelSvg(r: LabelRect, text: string, font: number, fg: string, bg: string): string {
  return (
    `<rect x="${r.x.toFixed(1)}" y="${r.y.toFixed(1)}" width="${r.w}" height="${r.h}" fill="${bg}" fill-opacity="0.7"/>` +
    `<text x="${(r.x + 3).toFixed(1)}" y="${(r.y + r.h - 4).toFixed(1)}" font-size="${font}" fill="${fg}" font-family="sans-serif">${esc(text)}</text>`
  );
}

/** SVG of zones (dashed, named) and boxes with labels, in image pixels; labels never overlap. */
export function overlaySvg(width: number, height: number, o: EvidenceOverlay): string {
  const color = o.color ?? '#e53935';
  const stroke = Math.max(2, Math.round(width / 320));
  const font = Math.max(12, Math.round(width / 55));
  const lh = font + 6;
  const parts: string[] = [];
  const texts: Array<{ text: string; fg: string; bg: string }> = [];
  const wanted: Array<{ w: number; h: number; candidates: Array<{ x: number; y: number }> }> = [];
  for (const z of o.zones) {
    const pts = z.polygon.map(([x, y]) => `${(x * width).toFixed(1)},${(y * height).toFixed(1)}`).join(' ');
    parts.push(
      `<polygon points="${pts}" fill="#ffeb3b" fill-opacity="0.12" stroke="#ffeb3b" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`,
    );
  }
  // Box labels first (they matter most), then zone names.
  for (const b of o.boxes) {
    const x = b.x1 * width;
    const y = b.y1 * height;
    const w = Math.max(1, (b.x2 - b.x1) * width);
    const h = Math.max(1, (b.y2 - b.y1) * height);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
    );
    const text = `${b.label} ${Math.round(b.score * 100)}%${b.trackId ? ` #${b.trackId}` : ''}`;
    texts.push({ text, fg: '#fff', bg: color });
    wanted.push({
      w: textWidth(text, font),
      h: lh,
      candidates: [
        { x, y: y - lh },
        { x, y: y + h },
        { x, y },
      ],
    });
  }
  for (const z of o.zones) {
    const text = `区域 ${z.name}`;
    const xs = z.polygon.map((p) => p[0] * width);
    const ys = z.polygon.map((p) => p[1] * height);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    const [x1, y1] = [Math.max(...xs), Math.max(...ys)];
    texts.push({ text, fg: '#000', bg: '#ffeb3b' });
    const w = textWidth(text, font);
    wanted.push({
      w,
      h: lh,
      candidates: [
        { x: x0 + 2, y: y0 + 2 },
        { x: x1 - w - 2, y: y0 + 2 },
        { x: x0 + 2, y: y1 - lh - 2 },
        { x: x1 - w - 2, y: y1 - lh - 2 },
        { x: x0 + 2, y: y0 - lh },
      ],
    });
  }
  const reserved = o.caption ? [{ x: 0, y: 0, w: width, h: font + 8 }] : [];
  placeLabels(width, height, wanted, reserved).forEach((r, i) =>
    parts.push(labelSvg(r, texts[i]!.text, font, texts[i]!.fg, texts[i]!.bg)),
  );
  if (o.caption) {
    parts.push(`<rect x="0" y="0" width="${width}" height="${font + 8}" fill="#000" fill-opacity="0.55"/>`);
    parts.push(
      `<text x="6" y="${font + 2}" font-size="${font}" fill="#fff" font-family="sans-serif">${esc(o.caption)}</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Draws zones and boxes onto an evidence JPEG (sharp runs on libuv's pool, off the event loop). */
export async function drawEvidence(
  jpeg: Uint8Array,
  width: number,
  height: number,
  o: EvidenceOverlay,
): Promise<Buffer> {
  // The frame's stated size is a hint; the overlay must match the decoded image exactly.
  const meta = await sharp(jpeg).metadata();
  const svg = Buffer.from(overlaySvg(meta.width || width, meta.height || height, o));
  return sharp(jpeg)
    .composite([{ input: svg, top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}
