import { ALERT_STATES } from '../core/contracts/alert.js';
import { ALERT_STATE_TABLE, OPEN_STATES } from '../core/contracts/alert-states.js';
import type { AlertLifecycleTable } from '../features/wall/api-schemas.js';

/**
 * The one state table (core/contracts/alert-states.ts) as the wall serves it (GET
 * /api/v1/meta): every state, the operator actions each allows (a note is allowed in every
 * state), the open states.
 */
export function alertLifecycleTable(): AlertLifecycleTable {
  const actions = Object.fromEntries(
    ALERT_STATES.map((state) => [state, [...ALERT_STATE_TABLE[state].actions, 'note' as const]]),
  ) as AlertLifecycleTable['actions'];
  return { states: [...ALERT_STATES], actions, openStates: ALERT_STATES.filter((s) => OPEN_STATES.has(s)) };
}
