// One audit entry in the operator's language. Actions, states and reasons are codes and go
// through the catalogue. The server writes notes of system entries as English sentences
// (finding ids, "to 东风街道 (330101001)"): the known shapes are re-worded here from their parts,
// a heuristic that stops at the first unknown shape, whose text then only goes in the tooltip.
// The durable fix is structured audit entries from the server (code + parameters).
import { h, raw } from '../dom.js';

const REASONS = '(false_detection|not_violation|duplicate|other)';

function actorNodes(ctx, actor) {
  if (actor.startsWith('system:')) return [ctx.t('actor_system')];
  if (actor.startsWith('platform:')) return [ctx.t('actor_platform'), ' ', raw(actor.slice(9))];
  return [raw(actor)];
}

/** Nodes for the note, or null when its shape is unknown (it then goes in the tooltip). */
function noteNodes(ctx, e) {
  const { t, fmt } = ctx;
  const n = e.note;
  if (!n) return [];
  const user = !e.actor.includes(':');
  let m;
  switch (e.action) {
    case 'create':
      m = /^finding \S+ from (\S+?)@\S+, routed by \S+ to (.+) \([^)]*\)$/s.exec(n);
      return m ? fmt.nodes('audit_created_note', { plugin: m[1], grid: m[2] }) : null;
    case 'reject':
      m = new RegExp(`^${REASONS}(?::\\s*(.*))?$`, 's').exec(n);
      if (m) return [t(`reason_${m[1]}`), ...(m[2] ? [' · ', raw(m[2])] : [])];
      return user ? [raw(n)] : null;
    case 'escalate':
      m = /^(?:(.*); )?to (.+) \([^)]*\)$/s.exec(n);
      if (m) return [...fmt.nodes('audit_escalated_to', { grid: m[2] }), ...(m[1] ? [' · ', raw(m[1])] : [])];
      return user ? [raw(n)] : null;
    case 'forward':
      m = /^(\S+) accepted \S+ seq \d+(?:, case (\S+))? \(attempt \d+\)$/.exec(n);
      if (!m) return null;
      return [
        ...fmt.nodes('audit_forward_ok', { target: m[1] }),
        ...(m[2] ? [' · ', ...fmt.nodes('audit_case', { case: m[2] })] : []),
      ];
    case 'forward_failed':
      m = /^(\S+) seq \d+: (\d+) attempts, last error: /.exec(n);
      return m ? fmt.nodes('audit_forward_fail', { target: m[1], attempts: m[2] }) : null;
    case 'recheck':
    case 'recheck_close':
    case 'reopen':
      if (/^no re-check probe/.test(n)) return [t('audit_recheck_none')];
      m = /^round (\d+): not passed: disposal photo of another view \(similarity ([\d.]+)/.exec(n);
      if (m) return [t('audit_recheck_other_view', { round: m[1], sim: m[2] })];
      m = /^round (\d+): (still present|gone) \(score ([\d.]+)\)$/.exec(n);
      if (!m) return null;
      return [
        t(m[2] === 'gone' ? 'audit_recheck_gone' : 'audit_recheck_present', { round: m[1], score: m[3] }),
      ];
    default:
      // An operator's own note, or the platform's text (its handler and remarks): data.
      return user || e.actor.startsWith('platform:') ? [raw(n)] : null;
  }
}

export function auditItem(ctx, e) {
  const { t } = ctx;
  const note = noteNodes(ctx, e);
  return h(
    'li',
    { 'data-action': e.action, title: note === null ? e.note : undefined },
    h('span', { class: 'time' }, ctx.fmt.time(e.at)),
    ' · ',
    ...actorNodes(ctx, e.actor),
    ' · ',
    t(`audit_${e.action}`),
    e.from === null
      ? ` → ${t(`state_${e.to}`)}`
      : e.from !== e.to
        ? ` ${t(`state_${e.from}`)} → ${t(`state_${e.to}`)}`
        : '',
    ...(note?.length ? [' · ', ...note] : []),
  );
}
