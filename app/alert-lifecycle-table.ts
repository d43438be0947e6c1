import { ALERT_STATES, type AlertState } from '../core/contracts/alert.js';
import { OPEN_STATES, OPERATOR_TRANSITIONS } from '../features/dispatcher/lifecycle.js';
import type { AlertActionName, AlertLifecycleTable } from '../features/wall/api-schemas.js';

/**
 * The dispatcher's state machine as the wall serves it (GET /api/v1/meta): every state, the
 * operator actions each allows (a note is allowed in every state), the open states.
 */
export function alertLifecycleTable(): AlertLifecycleTable {
  const actions = Object.fromEntries(
    ALERT_STATES.map((state) => [
      state,
      [
        ...(Object.entries(OPERATOR_TRANSITIONS) as Array<[AlertActionName, { from: AlertState[] }]>)
          .filter(([, t]) => t.from.includes(state))
          .map(([a]) => a),
        'note' as const,
      ],
    ]),
  ) as AlertLifecycleTable['actions'];
  return { states: [...ALERT_STATES], actions, openStates: ALERT_STATES.filter((s) => OPEN_STATES.has(s)) };
}
