import { z } from 'zod';

/** `ingest:` section of gateway.yaml. Owned by the ingest component. */
export const IngestConfigSchema = z
  .strictObject({
    maxFfmpeg: z
      .number()
      .int()
      .min(1)
      .max(5_000)
      .default(600)
      .describe('Most ffmpeg processes this node runs at once'),
    maxDecodesPerSec: z
      .number()
      .positive()
      .default(200)
      .describe('Most frames this node decodes per second, all cameras together'),
    startStaggerMs: z
      .number()
      .int()
      .min(0)
      .default(20)
      .describe('Gap between camera starts at boot, so 2,000 cameras do not connect at once'),
    persistentPipeline: z
      .enum(['auto', 'pair', 'single'])
      .default('auto')
      .describe(
        'Persistent RTSP cameras: auto picks per camera by interval and GOP (docs/cameras.md); pair = reader + decoder ffmpeg, single = one ffmpeg',
      ),
    snapshotConcurrency: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(32)
      .describe('Snapshot (HTTP JPEG) requests in flight at once on this node, all cameras together'),
    snapshotSocketsPerHost: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(2)
      .describe(
        'Keep-alive sockets per snapshot host; raise it when an NVR serves many cameras at one address',
      ),
    snapshotDecodeConcurrency: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(0)
      .describe(
        'Snapshot JPEG → RGB decodes at once on this node; 0 = one per core (more adds no throughput)',
      ),
    snapshotDecode: z
      .enum(['fast', 'reference'])
      .default('fast')
      .describe(
        'Snapshot decode path: fast = size from the JPEG header, one sharp call, decodes limited; reference = the earlier path, kept for bench:snapshot',
      ),
    offlineAfterSec: z
      .number()
      .positive()
      .default(300)
      .describe('A camera offline this long raises a camera_offline finding'),
    stallIntervals: z
      .number()
      .min(1.5)
      .default(3)
      .describe('No frame within this many sampling intervals → restart the camera'),
    backoff: z
      .strictObject({
        initialMs: z.number().int().positive().default(1_000).describe('First reconnect delay in ms'),
        maxMs: z.number().int().positive().default(60_000).describe('Longest reconnect delay in ms'),
      })
      .default({ initialMs: 1_000, maxMs: 60_000 })
      .describe('Reconnect backoff (exponential with full jitter)'),
    liveView: z
      .strictObject({
        rtmpPort: z
          .number()
          .int()
          .min(0)
          .max(65_535)
          .default(0)
          .describe('node-media-server RTMP port on loopback; 0 = pick a free one'),
        httpPort: z
          .number()
          .int()
          .min(0)
          .max(65_535)
          .default(0)
          .describe('node-media-server HTTP/WS-FLV port; 0 = pick a free one'),
        idleStopSec: z
          .number()
          .positive()
          .default(30)
          .describe('Stop a relay this long after its last viewer left'),
        tokenTtlSec: z.number().positive().default(300).describe('Lifetime of a signed play URL'),
        publicPath: z
          .string()
          .regex(/^\/[A-Za-z0-9/_-]*$/, 'an absolute path such as /media')
          .optional()
          .describe(
            'When set, tickets carry same-origin paths under it (the wall proxies them to the media server); otherwise signed loopback URLs',
          ),
      })
      .default({ rtmpPort: 0, httpPort: 0, idleStopSec: 30, tokenTtlSec: 300 })
      .describe('On-demand live relay for the wall'),
  })
  .describe('Camera ingest: budgets, supervision and live view');
export type IngestConfig = z.infer<typeof IngestConfigSchema>;
