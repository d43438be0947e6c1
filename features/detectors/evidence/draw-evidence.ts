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

/** SVG of zones (dashed) and boxes with labels, in image pixels. */
export function overlaySvg(width: number, height: number, o: EvidenceOverlay): string {
  const color = o.color ?? '#e53935';
  const stroke = Math.max(2, Math.round(width / 320));
  const font = Math.max(12, Math.round(width / 55));
  const parts: string[] = [];
  for (const z of o.zones) {
    const pts = z.polygon.map(([x, y]) => `${(x * width).toFixed(1)},${(y * height).toFixed(1)}`).join(' ');
    parts.push(
      `<polygon points="${pts}" fill="#ffeb3b" fill-opacity="0.12" stroke="#ffeb3b" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`,
    );
    const [x0, y0] = z.polygon[0] ?? [0, 0];
    parts.push(
      `<text x="${(x0 * width + 4).toFixed(1)}" y="${(y0 * height + font).toFixed(1)}" font-size="${font}" fill="#ffeb3b" stroke="#000" stroke-width="0.6" font-family="sans-serif">${esc(z.name)}</text>`,
    );
  }
  for (const b of o.boxes) {
    const x = b.x1 * width;
    const y = b.y1 * height;
    const w = Math.max(1, (b.x2 - b.x1) * width);
    const h = Math.max(1, (b.y2 - b.y1) * height);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${color}" stroke-width="${stroke}"/>`,
    );
    const text = `${b.label} ${Math.round(b.score * 100)}%${b.trackId ? ` #${b.trackId}` : ''}`;
    const ty = y > font + 2 ? y - 3 : y + h + font;
    parts.push(
      `<text x="${x.toFixed(1)}" y="${ty.toFixed(1)}" font-size="${font}" fill="#fff" stroke="${color}" stroke-width="0.8" font-family="sans-serif">${esc(text)}</text>`,
    );
  }
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
