import { z } from 'zod';
import { GridCodeSchema, LocationCrsSchema, SecretRefSchema } from './common-schema.js';

const NO_USERINFO = (u: string) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(u);
const userinfoCheck = {
  message: 'credentials in the URL are not allowed; put them under credentials: (env or secrets file)',
  params: { expected: 'a URL without user:password@' },
};

export const RtspSourceSchema = z
  .strictObject({
    kind: z.literal('rtsp'),
    url: z
      .string()
      .regex(/^rtsps?:\/\/[^\s]+$/i, 'an rtsp:// or rtsps:// URL')
      .refine(NO_USERINFO, userinfoCheck)
      .describe('RTSP URL without credentials, e.g. rtsp://10.1.2.3:554/Streaming/Channels/102'),
    transport: z
      .enum(['tcp', 'udp'])
      .default('tcp')
      .describe('RTP transport; TCP survives lossy links and NAT'),
  })
  .describe('An RTSP stream');

export const OnvifSourceSchema = z
  .strictObject({
    kind: z.literal('onvif'),
    host: z.string().min(1).describe('Device address (IP or hostname)'),
    port: z.number().int().min(1).max(65_535).default(80).describe('ONVIF HTTP port'),
    profile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Media profile token; omitted: the lowest-resolution (sub-stream) profile is used for sampling',
      ),
    transport: z.enum(['tcp', 'udp']).default('tcp').describe('RTP transport for the resolved stream'),
  })
  .describe('An ONVIF device; stream and snapshot URIs are resolved from it');

export const SnapshotSourceSchema = z
  .strictObject({
    kind: z.literal('snapshot'),
    url: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/i, 'an http:// or https:// URL')
      .refine(NO_USERINFO, userinfoCheck)
      .describe('URL returning one JPEG per request'),
    auth: z.enum(['none', 'basic', 'digest']).default('none').describe('HTTP authentication scheme'),
  })
  .describe('A snapshot (still JPEG) URL polled on the sampling interval');

export const FileSourceSchema = z
  .strictObject({
    kind: z.literal('file'),
    path: z
      .string()
      .min(1)
      .describe('Local video file, relative to the camera file; looped on its own clock'),
  })
  .describe('A local video, for demos, tests and offline analysis');

export const CameraSourceSchema = z
  .discriminatedUnion('kind', [RtspSourceSchema, OnvifSourceSchema, SnapshotSourceSchema, FileSourceSchema])
  .describe('Where frames come from');
export type CameraSource = z.infer<typeof CameraSourceSchema>;

export const CredentialsSchema = z
  .strictObject({
    username: z
      .union([z.string().min(1), SecretRefSchema])
      .describe('User name, plain or a secret reference'),
    password: SecretRefSchema.describe('Password: always a secret reference, never plain text'),
  })
  .describe('Camera login; the password is never printed, logged or sent to the browser');

export const PointSchema = z
  .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
  .describe('[x, y] in normalised image coordinates, 0..1 from the top-left corner');

export const ZoneSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1 to 64 letters, digits, _ or -')
      .describe('Zone id, unique within the camera'),
    name: z.string().min(1).max(100).describe('Name shown to operators, e.g. 人民路禁停区'),
    polygon: z
      .array(PointSchema)
      .min(3)
      .max(64)
      .describe('Simple (non self-intersecting) polygon, 3 to 64 points'),
    rules: z.array(z.string().min(1)).min(1).describe('Rules (finding types) that apply inside this zone'),
    gridCode: GridCodeSchema.optional().describe(
      'Grid the zone looks at, when it differs from the camera’s own',
    ),
  })
  .describe('A named area of the image where some rules apply');
export type Zone = z.infer<typeof ZoneSchema>;

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM (00:00 to 24:00)');
export const TimeWindowSchema = z
  .strictObject({
    days: z
      .array(z.number().int().min(1).max(7))
      .min(1)
      .default([1, 2, 3, 4, 5, 6, 7])
      .describe('ISO weekdays the window is active on, 1 = Monday'),
    start: HHMM.describe('Local start time, HH:MM'),
    end: HHMM.describe('Local end time, HH:MM; before start means the window runs past midnight'),
  })
  .describe('A daily time window, local time of the gateway (Asia/Shanghai in production)');

export const DetectorUseSchema = z
  .strictObject({
    rule: z.string().min(1).describe('Rule (plugin finding type) to run, e.g. illegal_parking'),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Options for the rule, validated against the plugin’s own options schema at load'),
  })
  .describe('A rule this camera runs');

export const CameraSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id of 1 to 64 letters, digits, _ or -')
      .describe('Camera id, unique across all camera files'),
    deviceId: z
      .string()
      .regex(/^\d{20}$/, 'a 20-digit GB/T 28181 device id')
      .optional()
      .describe('National (GB/T 28181) 20-digit device id'),
    name: z.string().min(1).max(200).describe('Name shown to operators, e.g. 解放路与人民路交叉口东'),
    enabled: z.boolean().default(true).describe('Set false to keep the entry but stop sampling'),
    source: CameraSourceSchema,
    credentials: CredentialsSchema.optional(),
    location: z
      .strictObject({
        lon: z.number().min(73).max(136).describe('Longitude (China spans 73°E to 136°E)'),
        lat: z.number().min(3).max(54).describe('Latitude (China spans 3°N to 54°N)'),
        crs: LocationCrsSchema.default('WGS84'),
      })
      .describe('Where the camera stands; converted to WGS84 internally'),
    gridCode: GridCodeSchema.optional().describe(
      'Grid the camera belongs to; omitted: looked up from its location',
    ),
    samplingIntervalSec: z.number().min(0.2).max(3_600).default(5).describe('Seconds between sampled frames'),
    mode: z
      .enum(['persistent', 'burst', 'snapshot'])
      .optional()
      .describe(
        'Fleet mode: persistent stream, burst (connect, one keyframe, disconnect) or snapshot; default by source',
      ),
    detectors: z.array(DetectorUseSchema).default([]).describe('Rules this camera runs'),
    model: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/)
      .optional()
      .describe(
        'Model plugin for this camera, e.g. centernet; default detectors.model.plugin of gateway.yaml',
      ),
    zones: z.array(ZoneSchema).default([]).describe('Named zones and the rules that apply in each'),
    schedules: z
      .record(z.string(), z.array(TimeWindowSchema).min(1))
      .default({})
      .describe('Per rule: time windows when it is active; a rule without windows is always active'),
    tags: z.array(z.string().min(1).max(50)).max(50).default([]).describe('Free tags, e.g. 学校周边'),
  })
  .describe('One camera');
export type CameraConfig = z.infer<typeof CameraSchema>;

export const CameraFileSchema = z
  .strictObject({
    site: z
      .string()
      .max(200)
      .optional()
      .describe('What this file covers, e.g. a site, street or import batch'),
    cameras: z.array(CameraSchema).describe('Cameras in this file'),
  })
  .describe('A camera file: one site or import batch');
export type CameraFile = z.infer<typeof CameraFileSchema>;
