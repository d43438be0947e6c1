// Where a confirmed alert's case stands (待转发 / 已转发 / 转发失败 / 未配置目标) on the card
// and in the detail, and the admin's view of the forwarding targets. Reasons arrive as codes
// (core/contracts/forwarding.ts) and are shown in the page's language; the sender's English
// error stays in the tooltip and the admin table, marked as data.
import { h, raw, table } from '../dom.js';
import { typeInfo } from './alert-parts.js';

/** The last error of a target in words: "连接被拒绝", "平台拒绝（HTTP 400）". */
export function forwardErrorText(ctx, err) {
  const { t } = ctx;
  const text = t(`fwd_err_${err.kind}`);
  return err.httpStatus === null ? text : t('paren', { a: text, b: `HTTP ${err.httpStatus}` });
}

/** The badge on a card: only once the alert has a forwarding record (it was confirmed). */
export function forwardingBadge(ctx, a) {
  const f = a.forwarding;
  if (!f) return null;
  const failedOne = f.targets.find((x) => x.lastError && x.status !== 'sent');
  return h(
    'span',
    {
      class: `fwd-badge fwd-${f.status}`,
      'data-forwarding': f.status,
      title: failedOne ? forwardErrorText(ctx, failedOne.lastError) : undefined,
    },
    ctx.t(`fwd_${f.status}`),
  );
}

/** The detail's 转发 fact: the overall state, then one line per target with its last error. */
export function forwardingFact(ctx, a) {
  const { t } = ctx;
  const f = a.forwarding;
  if (!f) return null;
  const lines = f.targets.map((x) => {
    const parts = [raw(x.target), t('colon_short'), t(`fwd_${x.status}`)];
    if (x.status === 'sent' && x.sentAt)
      parts.push(' · ', h('span', { class: 'time' }, ctx.fmt.time(x.sentAt)));
    if (x.lastError && x.status !== 'sent') {
      parts.push(
        ' · ',
        h(
          'span',
          { class: 'fwd-error', title: x.lastError.detail, 'data-kind': x.lastError.kind },
          t('fwd_last_error', { n: x.attempts, reason: forwardErrorText(ctx, x.lastError) }),
        ),
      );
    }
    return h('li', { 'data-target': x.target, 'data-status': x.status }, ...parts);
  });
  return h(
    'div',
    { class: 'fwd-fact', id: 'detail-forwarding' },
    forwardingBadge(ctx, a),
    f.status === 'no_target' ? h('p', { class: 'fwd-hint' }, t('fwd_no_target_hint')) : null,
    lines.length ? h('ul', { class: 'fwd-targets' }, ...lines) : null,
  );
}

/** The admin's forwarding section: targets with backlog and last failure, then untargeted alerts. */
export function forwardingSection(ctx, o) {
  const { t } = ctx;
  const time = (ms) => (ms ? h('span', { class: 'time' }, ctx.fmt.time(ms)) : '—');
  const targets = table(
    [
      t('target'),
      t('fwd_endpoint'),
      t('type'),
      t('fwd_backlog'),
      t('fwd_oldest'),
      t('admin_deadletters'),
      t('fwd_last_ok'),
      t('fwd_last_failure'),
    ],
    o.targets.map((x) => [
      raw(x.id),
      raw(x.endpoint),
      x.types ? x.types.map((tp) => typeInfo(ctx, tp).label).join(t('list_sep')) : t('all'),
      h('span', { 'data-backlog': x.id }, String(x.backlog)),
      time(x.oldestPendingAt),
      String(x.deadLetters),
      time(x.lastOkAt),
      x.lastFailure
        ? h(
            'span',
            { 'data-last-failure': x.id },
            forwardErrorText(ctx, x.lastFailure),
            ' · ',
            time(x.lastFailure.at),
            ' · ',
            raw(x.lastFailure.detail, 'code'),
          )
        : '—',
    ]),
    t('fwd_no_targets_configured'),
    { 'data-table': 'forwarding' },
  );
  const u = o.untargeted;
  const untargeted = h(
    'div',
    { class: u.count ? 'fwd-untargeted warn' : 'fwd-untargeted', 'data-untargeted': String(u.count) },
    h('p', {}, t('fwd_untargeted_count', { n: u.count })),
    u.recent.length
      ? table(
          [t('alert'), t('type'), t('grid'), t('time')],
          u.recent.map((r) => [
            raw(r.alertId),
            typeInfo(ctx, r.type).label,
            raw(r.gridCode),
            time(r.confirmedAt),
          ]),
          t('none'),
        )
      : null,
  );
  return h('div', {}, targets, untargeted);
}
