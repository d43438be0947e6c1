import { z } from 'zod';
import { FindingTypeSchema } from '../../core/contracts/finding.js';
import type { EventKind } from './events-config.js';

/**
 * The body of POST /api/v1/events/<kind>, one schema per kind and version. A body names its
 * version (`version: 1`); a later version is added here beside the old one, never in place.
 */
export const EventIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits and . _ : -, at most 128')
  .describe("The source's own id of this event: a repeat with the same id is answered, not raised again");

export const EventLocationSchema = z
  .strictObject({
    lon: z.number().min(-180).max(180).describe('Longitude'),
    lat: z.number().min(-90).max(90).describe('Latitude'),
    crs: z
      .enum(['WGS84', 'GCJ02', 'BD09', 'CGCS2000'])
      .default('WGS84')
      .describe(
        'WGS84 (GPS), GCJ02 (AMap/Tencent), BD09 (Baidu), CGCS2000 (国家2000, taken as WGS84: < 1 m apart)',
      ),
  })
  .describe('Where it is');

export const PhotoSchema = z
  .strictObject({
    data: z
      .string()
      .min(4)
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64 (no data: prefix, no line breaks)')
      .describe('JPEG, PNG or WebP, base64'),
    name: z.string().max(100).optional().describe('Original file name (not stored)'),
  })
  .describe('A photo, base64 in JSON (or a multipart part named photo)');

const OccurredAt = z.iso
  .datetime({ offset: true })
  .optional()
  .describe('When it happened (ISO 8601); default: when received');

export const ReportV1Schema = z
  .strictObject({
    version: z.literal(1).describe('Schema version'),
    eventId: EventIdSchema,
    type: FindingTypeSchema,
    text: z.string().min(1).max(2_000).describe('What the reporter says'),
    location: EventLocationSchema,
    occurredAt: OccurredAt,
    photos: z.array(PhotoSchema).min(1).max(20).describe('One or more photos'),
    reporter: z
      .strictObject({
        role: z.enum(['citizen', 'grid_worker']).describe('citizen 市民, grid_worker 网格员'),
        name: z.string().max(50).optional().describe('Private: kept for follow-up, never shown or forwarded'),
        phone: z
          .string()
          .regex(/^\+?[0-9 -]{5,20}$/)
          .optional()
          .describe('Private: kept for follow-up, never shown or forwarded'),
        workerId: z.string().max(64).optional().describe('Grid worker id (role grid_worker)'),
      })
      .describe('Who reports; the contact stays private'),
  })
  .describe('A citizen (随手拍) or grid-worker report, version 1');
export type ReportV1 = z.infer<typeof ReportV1Schema>;

export const ParkingOverstayV1Schema = z
  .strictObject({
    version: z.literal(1),
    eventId: EventIdSchema,
    lotId: z.string().min(1).max(64).describe('Parking lot or road section id'),
    lotName: z.string().max(100).optional(),
    spaceId: z.string().max(64).optional().describe('Bay id'),
    plate: z
      .string()
      .regex(/^[\u4e00-\u9fa5A-Z0-9·]{5,10}$/u, 'a Chinese plate, e.g. 粤B12345')
      .describe('Plate; only a masked form (粤B***45) is kept'),
    location: EventLocationSchema,
    parkedAt: z.iso.datetime({ offset: true }).describe('When the vehicle parked'),
    limitMin: z.number().int().positive().max(10_080).describe('Allowed minutes'),
    occurredAt: OccurredAt,
    photos: z.array(PhotoSchema).max(20).default([]).describe('Optional photos'),
  })
  .describe('Smart-parking overstay (超时停车), version 1');
export type ParkingOverstayV1 = z.infer<typeof ParkingOverstayV1Schema>;

export const AirQualityV1Schema = z
  .strictObject({
    version: z.literal(1),
    eventId: EventIdSchema,
    stationId: z.string().min(1).max(64).describe('Monitoring station id'),
    stationName: z.string().max(100).optional(),
    location: EventLocationSchema,
    occurredAt: OccurredAt,
    values: z
      .record(z.string().regex(/^[a-z0-9_.]{1,20}$/), z.number().nonnegative())
      .refine((v) => Object.keys(v).length > 0, 'at least one value')
      .describe('Measured values by pollutant, e.g. {pm25: 160, pm10: 210} (µg/m³)'),
    thresholds: z
      .record(z.string().regex(/^[a-z0-9_.]{1,20}$/), z.number().nonnegative())
      .describe('The limits breached, same keys'),
  })
  .refine((b) => Object.keys(b.thresholds).some((k) => (b.values[k] ?? -1) > b.thresholds[k]!), {
    message: 'no value is above its threshold',
    path: ['values'],
  })
  .describe('Air-quality threshold breach (空气质量超标), version 1');
export type AirQualityV1 = z.infer<typeof AirQualityV1Schema>;

/** kind → version → schema. */
export const EVENT_SCHEMAS: Record<EventKind, Record<number, z.ZodType>> = {
  report: { 1: ReportV1Schema },
  parking_overstay: { 1: ParkingOverstayV1Schema },
  air_quality: { 1: AirQualityV1Schema },
};

/** The finding type each sensor kind raises (reports name their own). */
export const KIND_TYPES = {
  parking_overstay: { type: 'parking_overstay', zh: '超时停车', en: 'Parking overstay', icon: '🅿' },
  air_quality: { type: 'air_quality_breach', zh: '空气质量超标', en: 'Air quality breach', icon: '🌫' },
} as const;

/** 粤B12345 → 粤B***45: the province and letter, and the last two characters. */
export function maskPlate(plate: string): string {
  const p = plate.replace(/·/g, '');
  const chars = [...p];
  if (chars.length <= 4) return '*'.repeat(chars.length);
  return `${chars.slice(0, 2).join('')}${'*'.repeat(chars.length - 4)}${chars.slice(-2).join('')}`;
}

/** Labels of the types the sensor kinds raise, for the wall (every process, not only the API's). */
export const EVENT_TYPE_INFOS = Object.values(KIND_TYPES).map((t) => ({
  type: t.type,
  zh: t.zh,
  en: t.en,
  icon: t.icon,
}));
