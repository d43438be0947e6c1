// Keyboard help: the footer line, the ? overlay, and the reject-reason overlay (1-4).
import { $, h } from '../dom.js';

export const SHORTCUTS = [
  ['← → ↑ ↓', 'k_move'],
  ['Enter', 'k_open'],
  ['C', 'k_claim'],
  ['Y', 'k_confirm'],
  ['N / R', 'k_reject'],
  ['E', 'k_escalate'],
  ['M', 'k_note'],
  ['Esc', 'k_close'],
  ['/', 'k_search'],
  ['?', 'k_help'],
];
/** Keys of the split-screen wall (views/tiles.js), listed in the ? overlay. */
export const TILE_SHORTCUTS = [
  ['1 2 3 4', 'k_tiles_layout'],
  ['← → ↑ ↓', 'k_tiles_move'],
  ['Enter', 'k_tiles_solo'],
  ['PgUp / PgDn', 'k_tiles_page'],
  ['G / A', 'k_tiles_source'],
];
export const REASONS = ['false_detection', 'not_violation', 'duplicate', 'other'];

export function createHelpView(ctx) {
  const { t } = ctx;
  const kbd = (k) => h('kbd', { raw: true }, k);
  /** The alert the reasons overlay was opened for: a reason applies to it, not to a later selection. */
  let reasonTarget = null;
  return {
    render() {
      $('shortcuts').replaceChildren(...SHORTCUTS.map(([k, d]) => h('span', {}, kbd(k), t(d))));
      $('help-list').replaceChildren(
        ...[...SHORTCUTS, ...TILE_SHORTCUTS].flatMap(([k, d]) => [h('dt', {}, kbd(k)), h('dd', {}, t(d))]),
      );
      $('reason-list').replaceChildren(
        ...REASONS.map((r, i) => h('li', { 'data-reason': r }, kbd(String(i + 1)), t(`reason_${r}`))),
      );
    },
    get helpOpen() {
      return !$('help').hidden;
    },
    get reasonsOpen() {
      return !$('reasons').hidden;
    },
    toggleHelp() {
      $('help').hidden = !$('help').hidden;
    },
    openReasons(target) {
      if (!target) return;
      reasonTarget = target;
      $('reasons').hidden = false;
    },
    /** Closes the reasons overlay; returns the target and reason for key `n` (1-4), if any. */
    pickReason(n) {
      const reason = REASONS[n - 1];
      const target = reasonTarget;
      this.closeOverlays();
      return reason && target ? { target, reason } : null;
    },
    closeOverlays() {
      $('reasons').hidden = true;
      $('help').hidden = true;
      reasonTarget = null;
    },
  };
}
