import type { Alert, AlertState, AuditEntry } from '../../core/contracts/alert.js';
import type { Actor, AlertAction } from '../../core/contracts/alert-service.js';
import {
  ACTION_TARGETS,
  ALERT_ACTIONS,
  actionAllowed,
  isOpenState,
  statesAllowing,
  type AlertActionName,
} from '../../core/contracts/alert-states.js';
import { ConflictError, ForbiddenError, InvalidTransitionError } from '../../core/errors.js';

/**
 * The state machine. Which actions each state allows, where each action leads and which states
 * are open come from the one table in core/contracts/alert-states.ts (the wall serves the same
 * table to the page); this file applies it and writes the audit entries.
 */
export { OPEN_STATES } from '../../core/contracts/alert-states.js';

/** Operator transitions derived from the table: the states each action may start from, and its target. */
export const OPERATOR_TRANSITIONS: Record<
  AlertActionName,
  { from: AlertState[]; to: AlertState | 'previous' }
> = Object.fromEntries(
  ALERT_ACTIONS.map((action) => [action, { from: statesAllowing(action), to: ACTION_TARGETS[action] }]),
) as Record<AlertActionName, { from: AlertState[]; to: AlertState | 'previous' }>;

/** Platform progress, in order; a status only moves an alert forward along it. */
export const PLATFORM_ORDER: AlertState[] = [
  'confirmed',
  'forwarded',
  'dispatched',
  'handled',
  'verified',
  'closed',
];

export interface Change {
  alert: Alert;
  audit: AuditEntry[];
  /** Next escalation time; null removes it; undefined leaves it. */
  escalateAt?: number | null;
}

function entry(
  a: Alert,
  at: number,
  actor: string,
  action: string,
  from: AlertState | null,
  to: AlertState,
  note?: string,
): AuditEntry {
  return { alertId: a.id, at, actor, action, from, to, ...(note ? { note: note.slice(0, 2_000) } : {}) };
}

/** Who got there first, for the loser of a race. */
function winner(a: Alert): { username: string; displayName: string } | null {
  const w = a.decidedBy ?? a.claimedBy;
  return w ? { username: w.username, displayName: w.displayName } : null;
}

/**
 * Applies an operator action to the current alert. Throws InvalidTransitionError for an
 * action the state does not allow, or ConflictError naming the operator who holds or decided
 * the alert when that is why.
 */
export function applyAction(
  a: Alert,
  act: AlertAction,
  actor: Actor,
  now: number,
  escalateAfterMs: number | null,
): Change {
  if (actor.role === 'viewer')
    throw new ForbiddenError(`${actor.username} is a viewer and cannot act on alerts`);
  const who = { username: actor.username, displayName: actor.displayName, at: now };
  const base = { ...a, updatedAt: now, version: a.version + 1 };
  if (act.action === 'note') {
    return { alert: base, audit: [entry(a, now, actor.username, 'note', a.state, a.state, act.note)] };
  }
  if (!actionAllowed(a.state, act.action)) {
    const w = winner(a);
    const raced =
      ['claimed', 'confirmed', 'rejected'].includes(a.state) && w && w.username !== actor.username;
    if (raced) {
      throw new ConflictError(`alert ${a.id} is already ${a.state} by ${w.displayName} (${w.username})`, {
        alertId: a.id,
        state: a.state,
        by: w,
      });
    }
    throw new InvalidTransitionError(a.id, a.state, act.action);
  }
  const heldByOther = a.state === 'claimed' && a.claimedBy && a.claimedBy.username !== actor.username;
  if (heldByOther && actor.role !== 'admin' && act.action !== 'escalate') {
    const by = { username: a.claimedBy!.username, displayName: a.claimedBy!.displayName };
    throw new ConflictError(`alert ${a.id} is claimed by ${by.displayName} (${by.username})`, {
      alertId: a.id,
      state: a.state,
      by,
    });
  }
  const note = 'note' in act ? act.note : undefined;
  switch (act.action) {
    case 'claim':
      return {
        alert: { ...base, state: 'claimed', claimedBy: who },
        audit: [entry(a, now, actor.username, 'claim', a.state, 'claimed')],
        escalateAt: null,
      };
    case 'release': {
      const to: AlertState = a.escalationLevel > 0 ? 'escalated' : 'new';
      return {
        alert: { ...base, state: to, claimedBy: null },
        audit: [entry(a, now, actor.username, 'release', a.state, to)],
        escalateAt: escalateAfterMs === null ? null : now + escalateAfterMs,
      };
    }
    case 'confirm':
      return {
        alert: { ...base, state: 'confirmed', decidedBy: who, claimedBy: a.claimedBy ?? who },
        audit: [entry(a, now, actor.username, 'confirm', a.state, 'confirmed', note)],
        escalateAt: null,
      };
    case 'reject':
      return {
        alert: {
          ...base,
          state: 'rejected',
          decidedBy: who,
          rejectReason: act.reason,
          claimedBy: a.claimedBy ?? who,
        },
        audit: [
          entry(
            a,
            now,
            actor.username,
            'reject',
            a.state,
            'rejected',
            `${act.reason}${note ? `: ${note}` : ''}`,
          ),
        ],
        escalateAt: null,
      };
    case 'escalate':
      return escalate(a, now, actor.username, escalateAfterMs, note);
  }
}

/** One level up (网格吹哨): the parent level's operators get the alert; a claim is dropped. */
export function escalate(
  a: Alert,
  now: number,
  actor: string,
  escalateAfterMs: number | null,
  note?: string,
): Change {
  const top = Math.max(0, a.gridPath.length - 1);
  if (a.escalationLevel >= top)
    throw new InvalidTransitionError(
      a.id,
      `${a.state} at the top level (${a.gridPath[0]?.name ?? 'root'})`,
      'escalate',
    );
  const level = a.escalationLevel + 1;
  const target = a.gridPath[a.gridPath.length - 1 - level];
  const next = level < top && escalateAfterMs !== null ? now + escalateAfterMs : null;
  return {
    alert: {
      ...a,
      state: 'escalated',
      escalationLevel: level,
      claimedBy: null,
      updatedAt: now,
      version: a.version + 1,
    },
    audit: [
      entry(
        a,
        now,
        actor,
        'escalate',
        a.state,
        'escalated',
        `${note ? `${note}; ` : ''}to ${target?.name ?? '?'} (${target?.code ?? '?'})`,
      ),
    ],
    escalateAt: next,
  };
}

/** A move made by the system or the platform (forwarded, dispatched, …, closed, reopened). */
export function systemMove(
  a: Alert,
  to: AlertState,
  now: number,
  actor: string,
  action: string,
  note?: string,
  patch: Partial<Alert> = {},
): Change {
  return {
    alert: { ...a, ...patch, state: to, updatedAt: now, version: a.version + 1 },
    audit: [entry(a, now, actor, action, a.state, to, note)],
    ...(isOpenState(to) ? {} : { escalateAt: null }),
  };
}

/**
 * A forward move along PLATFORM_ORDER (a platform callback, or a grid worker's 派遣 / 处置反馈):
 * null when the alert is already there, InvalidTransitionError when it is not on the order or
 * the move goes backwards. The one rule both callers apply.
 */
export function forwardMove(
  a: Alert,
  to: AlertState,
  now: number,
  actor: string,
  action: string,
  note?: string,
  patch: Partial<Alert> = {},
): Change | null {
  const cur = PLATFORM_ORDER.indexOf(a.state);
  const next = PLATFORM_ORDER.indexOf(to);
  if (cur === next) return null;
  if (cur < 0 || next < cur) throw new InvalidTransitionError(a.id, a.state, `become ${to}`);
  return systemMove(a, to, now, actor, action, note, patch);
}
