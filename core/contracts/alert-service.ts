import type { Alert, AuditEntry, AlertState } from './alert.js';
import type { ForwardingOverview } from './forwarding.js';

export interface Actor {
  username: string;
  displayName: string;
  role: 'admin' | 'operator' | 'viewer';
  /** Grid subtree the actor may see and act on. */
  scope: string;
}

export type AlertAction =
  | { action: 'claim' }
  | { action: 'release' }
  | { action: 'confirm'; note?: string }
  | { action: 'reject'; reason: 'false_detection' | 'not_violation' | 'duplicate' | 'other'; note?: string }
  | { action: 'escalate'; note?: string }
  | { action: 'note'; note: string };

/** A lifecycle move made outside the platform (a grid worker's 派遣 or 处置反馈). */
export interface AlertAdvance {
  to: 'dispatched' | 'handled';
  /** Audit action name, e.g. worker_dispatch, worker_disposal. */
  action: string;
  note?: string;
  /** Stored on the alert with a 'dispatched' move. */
  assignment?: import('./alert.js').Assignment;
  /** Stored on the alert with a 'handled' move. */
  disposal?: import('./alert.js').Disposal;
  expectedVersion?: number;
}

export interface AlertQuery {
  scope: string;
  gridCode?: string;
  types?: string[];
  states?: AlertState[];
  cameraId?: string;
  from?: number;
  to?: number;
  text?: string;
  limit: number;
  cursor?: string;
}

export interface AlertPage {
  items: Alert[];
  nextCursor: string | null;
  total: number;
}

/** What 考核 statistics read: alerts created in [from, to] under a grid, with their audit times. */
export interface AlertTimelineQuery {
  scope: string;
  types?: string[];
  from: number;
  to: number;
  /** At most this many alerts (newest first); `truncated` says when more matched. */
  limit: number;
}

/** An alert and when its audit first records each step (null: not reached). */
export interface AlertTimeline {
  alert: Alert;
  claimedAt: number | null;
  /** Confirmed or rejected. */
  decidedAt: number | null;
  closedAt: number | null;
}

/** Defined (with its zod schema) in ./suppression.ts; re-exported for existing importers. */
export type { Suppression } from './suppression.js';
import type { Suppression } from './suppression.js';

export interface DeadLetter {
  id: string;
  alertId: string;
  target: string;
  attempts: number;
  lastError: string;
  at: number;
}

/**
 * What the wall (HTTP API and socket handlers) needs from the dispatcher. Implemented by
 * dispatcher/alert-service. Scope checks happen on both sides: the wall refuses early, the
 * service re-checks against the alert's grid path.
 */
export interface AlertService {
  get(id: string, actor: Actor): Promise<Alert>;
  audit(id: string, actor: Actor): Promise<AuditEntry[]>;
  list(q: AlertQuery): Promise<AlertPage>;
  /** Alerts with their audit times, for statistics; the caller filters by scope. */
  timelines(q: AlertTimelineQuery): Promise<{ items: AlertTimeline[]; truncated: boolean }>;
  /**
   * Throws ConflictError (with `details.by`) when another operator got there first, and
   * ConflictError (with `details.current`) when `expectedVersion` is given and the alert is at
   * another version: the action was meant for a state of the alert that is no longer there.
   */
  act(id: string, act: AlertAction, actor: Actor, expectedVersion?: number): Promise<Alert>;
  /**
   * 派遣 / 处置 reported by a grid worker's page (features/workers): the same forward-only move
   * along the platform order as a platform callback (confirmed → forwarded → dispatched →
   * handled → verified → closed), with the same audit; 'handled' schedules the 二次识别 re-check.
   * Throws InvalidTransitionError for a backward move, ConflictError for a stale expectedVersion.
   */
  advance(id: string, move: AlertAdvance, actor: Actor): Promise<Alert>;
  suppressions(): Promise<Suppression[]>;
  liftSuppression(id: string, actor: Actor): Promise<void>;
  deadLetters(): Promise<DeadLetter[]>;
  retryDeadLetter(id: string, actor: Actor): Promise<void>;
  /** Forwarding targets with backlog and last failure, and confirmed alerts no target takes (admin). */
  forwardingOverview(actor: Actor): Promise<ForwardingOverview>;
}

/** How alert changes reach walls: implemented by the socket server (rooms by grid code). */
export interface AlertNotifier {
  alertChanged(alert: Alert, kind: 'new' | 'update'): void;
  suppressionChanged?(s: Suppression, kind: 'new' | 'lifted'): void;
}

/** 二次识别: look at the camera again and say whether the problem is still there. */
export interface RecheckProbe {
  check(alert: import('./alert.js').Alert): Promise<{
    present: boolean;
    score: number;
    evidence: string | null;
    /** Why, when not the model's verdict (e.g. a disposal photo of another view); for the audit. */
    why?: string;
  }>;
}
