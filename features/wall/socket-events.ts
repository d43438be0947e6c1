import { z } from 'zod';
import type { Alert } from '../../core/contracts/alert.js';
import { RejectReasonSchema } from '../../core/contracts/alert.js';
import type { Actor, Suppression } from '../../core/contracts/alert-service.js';
import type { CameraStatus } from '../../core/contracts/camera-directory.js';
import { GridCodeSchema } from '../../core/contracts/common-schema.js';

/**
 * The wall's Socket.IO protocol, both directions, in one place. Bump WALL_PROTOCOL when a
 * payload changes incompatibly; the server tells clients its version in `wall:hello` and
 * refuses handshakes that ask for another one.
 */
export const WALL_PROTOCOL = 1;

const AlertIdSchema = z.string().min(1).max(200).describe('Alert id');
const NoteSchema = z.string().trim().min(1).max(2_000).describe('Free-text note');

const VersionSchema = z
  .number()
  .int()
  .nonnegative()
  .describe(
    'The alert version the operator sees; when the alert has changed since, the action is refused with GW_CONFLICT (409)',
  );

const ACTION_VARIANTS = {
  claim: z
    .strictObject({ action: z.literal('claim') })
    .describe('Take the alert: others see it as 处理中 under your name'),
  release: z
    .strictObject({ action: z.literal('release') })
    .describe('Give a claimed alert back to the queue'),
  confirm: z
    .strictObject({ action: z.literal('confirm'), note: NoteSchema.optional() })
    .describe('Confirm: forward as a case'),
  reject: z
    .strictObject({ action: z.literal('reject'), reason: RejectReasonSchema, note: NoteSchema.optional() })
    .describe('Reject with a reason (feeds the suppression loop)'),
  escalate: z
    .strictObject({ action: z.literal('escalate'), note: NoteSchema.optional() })
    .describe('Move the alert to the parent level'),
  note: z
    .strictObject({ action: z.literal('note'), note: NoteSchema })
    .describe('Add a note to the audit trail'),
};
const V = ACTION_VARIANTS;

/** An action on one alert, as sent by a wall (socket, with the version beside it). */
export const AlertActionSchema = z
  .discriminatedUnion('action', [V.claim, V.release, V.confirm, V.reject, V.escalate, V.note])
  .describe('One action on an alert');

/**
 * The HTTP body of POST /alerts/:id/actions: the action and the version the client shows. Every
 * action carries it, so a key press never lands on a version of the alert nobody looked at.
 */
export const AlertActionBodySchema = z
  .discriminatedUnion('action', [
    V.claim.extend({ version: VersionSchema }),
    V.release.extend({ version: VersionSchema }),
    V.confirm.extend({ version: VersionSchema }),
    V.reject.extend({ version: VersionSchema }),
    V.escalate.extend({ version: VersionSchema }),
    V.note.extend({ version: VersionSchema }),
  ])
  .describe('One action on an alert, with the alert version the client shows');

export const ClientPayloadSchemas = {
  'alert:act': z
    .strictObject({ id: AlertIdSchema, act: AlertActionSchema, version: VersionSchema })
    .describe('Act on an alert, at the version the operator sees'),
  'alerts:sync': z
    .strictObject({
      since: z
        .number()
        .int()
        .nonnegative()
        .describe('updatedAt (ms) of the newest alert the wall already has; 0 for all'),
      limit: z.number().int().min(1).max(500).default(200),
    })
    .describe('Catch-up query after a reconnect that could not be recovered'),
  'wall:focus': z
    .strictObject({
      gridCode: GridCodeSchema.nullable().describe(
        'Subtree to watch (within your scope); null: your whole scope',
      ),
    })
    .describe('Narrow the live feed to a grid subtree'),
} as const;

export type ClientPayloads = {
  [K in keyof typeof ClientPayloadSchemas]: z.input<(typeof ClientPayloadSchemas)[K]>;
};

export interface AckError {
  ok: false;
  error: { code: string; message: string; field?: string };
}
export type Ack<T> = { ok: true; data: T } | AckError;

/** client → server. Every handler validates its payload with ClientPayloadSchemas first. */
export interface ClientToServerEvents {
  'alert:act': (payload: ClientPayloads['alert:act'], ack: (r: Ack<Alert>) => void) => void;
  'alerts:sync': (
    payload: ClientPayloads['alerts:sync'],
    ack: (r: Ack<{ items: Alert[]; complete: boolean }>) => void,
  ) => void;
  'wall:focus': (payload: ClientPayloads['wall:focus'], ack: (r: Ack<{ rooms: string[] }>) => void) => void;
}

/** server → client. */
export interface ServerToClientEvents {
  'wall:hello': (p: { protocol: number; user: Actor; recovered: boolean; serverTime: number }) => void;
  'alert:new': (a: Alert) => void;
  'alert:update': (a: Alert) => void;
  'camera:state': (s: CameraStatus) => void;
  'suppression:changed': (p: { suppression: Suppression; kind: 'new' | 'lifted' }) => void;
  'session:ended': (p: { reason: 'logout' | 'expired' }) => void;
}

export interface InterServerEvents {
  ping: () => void;
}

export interface SocketData {
  sid: string;
  actor: Actor;
  expiresAt: number;
  focus: string | null;
}

export const roomForGrid = (code: string): string => `grid:${code}`;
export const roomForSession = (sid: string): string => `session:${sid}`;
