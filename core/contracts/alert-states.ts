import type { AlertState } from './alert.js';
import { ALERT_STATES } from './alert.js';

/**
 * Alert states and the operator actions each allows, as one table. The dispatcher's state
 * machine (features/dispatcher/lifecycle.ts) reads it; the wall serves `alertStatesDocument()`
 * to the page so buttons and "open" filters come from here, not from a copy.
 */

/** Operator actions on an alert ('note' is allowed in every state and not listed). */
export const ALERT_ACTIONS = ['claim', 'release', 'confirm', 'reject', 'escalate'] as const;
export type AlertActionName = (typeof ALERT_ACTIONS)[number];

export interface AlertStateInfo {
  /** Open = still a live problem: findings merge into it, escalation and the wall's open list. */
  readonly open: boolean;
  /** Operator actions allowed in this state, in the order the wall shows them. */
  readonly actions: readonly AlertActionName[];
  readonly zh: string;
  readonly en: string;
}

export const ALERT_STATE_TABLE: Readonly<Record<AlertState, AlertStateInfo>> = {
  new: { open: true, actions: ['claim', 'confirm', 'reject', 'escalate'], zh: '待处理', en: 'New' },
  claimed: {
    open: true,
    actions: ['release', 'confirm', 'reject', 'escalate'],
    zh: '已认领',
    en: 'Claimed',
  },
  escalated: {
    open: true,
    actions: ['claim', 'confirm', 'reject', 'escalate'],
    zh: '已上报',
    en: 'Escalated',
  },
  confirmed: { open: true, actions: [], zh: '已确认', en: 'Confirmed' },
  rejected: { open: false, actions: [], zh: '已驳回', en: 'Rejected' },
  forwarded: { open: true, actions: [], zh: '已转派', en: 'Forwarded' },
  dispatched: { open: true, actions: [], zh: '已派遣', en: 'Dispatched' },
  handled: { open: true, actions: [], zh: '已处置', en: 'Handled' },
  verified: { open: true, actions: [], zh: '已核查', en: 'Verified' },
  closed: { open: false, actions: [], zh: '已结案', en: 'Closed' },
};

/** Where each action moves an alert; 'previous' = back to new or escalated (release). */
export const ACTION_TARGETS: Readonly<Record<AlertActionName, AlertState | 'previous'>> = {
  claim: 'claimed',
  release: 'previous',
  confirm: 'confirmed',
  reject: 'rejected',
  escalate: 'escalated',
};

export const OPEN_STATES: ReadonlySet<AlertState> = new Set(
  ALERT_STATES.filter((s) => ALERT_STATE_TABLE[s].open),
);

export const isOpenState = (s: AlertState): boolean => ALERT_STATE_TABLE[s].open;

export function actionAllowed(state: AlertState, action: AlertActionName | 'note'): boolean {
  return action === 'note' || ALERT_STATE_TABLE[state].actions.includes(action);
}

/** The states an action may start from (derived from the table). */
export function statesAllowing(action: AlertActionName): AlertState[] {
  return ALERT_STATES.filter((s) => ALERT_STATE_TABLE[s].actions.includes(action));
}

/** JSON the wall serves to the page (GET …/alert-states): states in lifecycle order. */
export function alertStatesDocument(): {
  states: { state: AlertState; open: boolean; actions: AlertActionName[]; zh: string; en: string }[];
  openStates: AlertState[];
  /** States an operator can act on (the wall's "to handle" list). */
  actionableStates: AlertState[];
  actions: { action: AlertActionName; to: AlertState | 'previous' }[];
} {
  return {
    states: ALERT_STATES.map((state) => ({
      state,
      open: ALERT_STATE_TABLE[state].open,
      actions: [...ALERT_STATE_TABLE[state].actions],
      zh: ALERT_STATE_TABLE[state].zh,
      en: ALERT_STATE_TABLE[state].en,
    })),
    openStates: ALERT_STATES.filter((s) => ALERT_STATE_TABLE[s].open),
    actionableStates: ALERT_STATES.filter((s) => ALERT_STATE_TABLE[s].actions.length > 0),
    actions: ALERT_ACTIONS.map((action) => ({ action, to: ACTION_TARGETS[action] })),
  };
}
