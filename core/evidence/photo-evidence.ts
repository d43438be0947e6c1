import sharp from 'sharp';
import type { EvidenceStore } from '../contracts/evidence-store.js';
import { Codes, GridwatchError } from '../errors.js';

/** What the first bytes say a photo is; null for anything else (no decoder is trusted with it). */
export function photoTypeOf(b: Uint8Array): 'jpeg' | 'png' | 'webp' | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x))
    return 'png';
  if (
    b.length >= 12 &&
    Buffer.from(b.subarray(0, 4)).toString('latin1') === 'RIFF' &&
    Buffer.from(b.subarray(8, 12)).toString('latin1') === 'WEBP'
  )
    return 'webp';
  return null;
}

/**
 * Checks a photo (size, then magic bytes, then that it decodes) and re-encodes it as JPEG.
 * sharp writes no metadata unless asked (withMetadata), so EXIF (GPS position, device serial)
 * is gone from what is stored; `rotate()` first applies the EXIF orientation to the pixels.
 */
export async function cleanPhoto(
  b: Uint8Array,
  field: string,
  maxBytes: number,
): Promise<{ jpeg: Buffer; width: number; height: number }> {
  if (b.length > maxBytes)
    throw new GridwatchError(
      Codes.GW_BODY_TOO_LARGE,
      `${field}: photo is ${b.length} bytes; the limit is ${maxBytes}`,
      { field, details: { bytes: b.length, limit: maxBytes } },
    );
  const type = photoTypeOf(b);
  if (!type)
    throw new GridwatchError(Codes.GW_UNSUPPORTED_MEDIA_TYPE, `${field}: not a JPEG, PNG or WebP image`, {
      field,
    });
  try {
    const { data, info } = await sharp(b, { limitInputPixels: 50_000_000, failOn: 'error' })
      .rotate()
      .resize({ width: 2_560, height: 2_560, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85, mozjpeg: false })
      .toBuffer({ resolveWithObject: true });
    return { jpeg: data, width: info.width, height: info.height };
  } catch {
    throw new GridwatchError(Codes.GW_UNSUPPORTED_MEDIA_TYPE, `${field}: the ${type} image does not decode`, {
      field,
    });
  }
}

/** Stores cleaned photos as evidence; returns their relative paths, in order. */
export async function storePhotos(
  evidence: EvidenceStore,
  baseName: string,
  photos: readonly Buffer[],
  at: number,
): Promise<string[]> {
  const out: string[] = [];
  for (const [i, p] of photos.entries()) out.push(await evidence.put(`${baseName}_${i + 1}`, p, at));
  return out;
}
