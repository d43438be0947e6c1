// Admin: camera states, rejected config entries, suppressions, dead letters, users, plugins.
// Config validation messages and remote errors are diagnostics with file, line and field:
// shown as they are (marked as data), with the translated headings around them.
import { $, h, raw, table } from '../dom.js';
import { typeInfo } from './alert-parts.js';
import { cameraReason } from './cameras.js';
import { forwardingSection } from './forwarding.js';

export function createAdminView(ctx) {
  const { t } = ctx;
  const time = (ms) => h('span', { class: 'time' }, ctx.fmt.time(ms));
  const button = (label, attrs, fn) => h('button', { type: 'button', ...attrs, onclick: fn }, label);

  async function adminDo(method, path) {
    try {
      if (method === 'DELETE') await ctx.api.del(path);
      else await ctx.api.post(path);
      await show();
    } catch (err) {
      ctx.report(err);
    }
  }

  function pluginRow(p) {
    const err = p.error
      ? h(
          'span',
          { title: p.error.message ?? '', 'data-code': p.error.code },
          ctx.i18n.errorText(p.error.code),
        )
      : '—';
    return [
      raw(p.name ?? p.id ?? '?'),
      raw(p.version ?? '—'),
      p.status ? t(`plugin_${p.status}`) : '—',
      (p.findingTypes ?? []).map((x) => typeInfo(ctx, x).label).join(t('list_sep')),
      err,
    ];
  }

  /**
   * What the admin must act on, above the tables: today an evidence store that cannot be
   * written (alerts are still raised, without images; /readyz says degraded).
   */
  function notices(health) {
    const ev = health?.evidence;
    if (!ev || ev.writable !== false) return [];
    return [
      h(
        'section',
        {
          class: 'admin-section admin-notice',
          'data-section': 'notice',
          'data-notice': 'evidence_unwritable',
        },
        h('h2', {}, t('admin_notice')),
        h(
          'p',
          {},
          t('notice_evidence_unwritable', { code: ev.lastError ?? '—', n: String(ev.failures) }),
          ev.lastErrorAt ? [' · ', h('span', { class: 'time' }, ctx.fmt.time(ev.lastErrorAt))] : [],
        ),
      ),
    ];
  }

  let drawnIn = null;
  async function show() {
    // Tables drawn in the other language go at once; the fresh ones follow the fetch.
    if (drawnIn !== ctx.i18n.lang) $('admin-panel').replaceChildren();
    try {
      const [cams, rejected, sup, dead, users, plugins, forwarding, health] = await Promise.all([
        ctx.api.get('/cameras'),
        ctx.api.get('/admin/rejected-cameras'),
        ctx.api.get('/admin/suppressions'),
        ctx.api.get('/admin/dead-letters'),
        ctx.api.get('/admin/users'),
        ctx.api.get('/admin/plugins'),
        ctx.api.get('/admin/forwarding'),
        ctx.api.get('/admin/health'),
      ]);
      const none = t('none');
      const section = (key, el) =>
        h('section', { class: 'admin-section', 'data-section': key }, h('h2', {}, t(`admin_${key}`)), el);
      drawnIn = ctx.i18n.lang;
      $('admin-panel').replaceChildren(
        ...notices(health),
        section(
          'cameras',
          table(
            [t('camera'), t('id'), t('state'), t('reason'), t('county')],
            cams.map((c) => [
              raw(c.name),
              raw(c.id),
              t(`cam_${c.state}`),
              cameraReason(ctx, c.reason),
              c.county ? raw(c.county.name) : t('unassigned'),
            ]),
            none,
          ),
        ),
        section(
          'rejected',
          table(
            [t('file'), t('id'), t('error')],
            rejected.map((r) => [raw(r.file), raw(r.cameraId ?? '—'), raw(r.errors.join('\n'), 'pre')]),
            none,
          ),
        ),
        section(
          'suppressions',
          table(
            [t('camera'), t('zone'), t('type'), t('action'), t('rejections'), t('time'), ''],
            sup.map((s) => [
              raw(s.cameraId),
              raw(s.zoneId ?? '—'),
              typeInfo(ctx, s.type).label,
              s.action === 'suppress' ? t('suppressed') : `${t('raise_dwell')} ×${s.dwellFactor}`,
              s.rejections,
              time(s.createdAt),
              button(t('undo'), { 'data-undo': s.id }, () =>
                adminDo('DELETE', `/admin/suppressions/${encodeURIComponent(s.id)}`),
              ),
            ]),
            none,
          ),
        ),
        section('forwarding', forwardingSection(ctx, forwarding)),
        section(
          'deadletters',
          table(
            [t('alert'), t('target'), t('attempts'), t('error'), t('time'), ''],
            dead.map((d) => [
              raw(d.alertId),
              raw(d.target),
              d.attempts,
              raw(d.lastError),
              time(d.at),
              button(t('retry'), {}, () =>
                adminDo('POST', `/admin/dead-letters/${encodeURIComponent(d.id)}/retry`),
              ),
            ]),
            none,
          ),
        ),
        section(
          'users',
          table(
            [t('username'), t('display_name'), t('role'), t('scope')],
            users.map((u) => [raw(u.username), raw(u.displayName), t(`role_${u.role}`), raw(u.scope)]),
            none,
          ),
        ),
        section(
          'plugins',
          table(
            [t('plugin'), t('version'), t('state'), t('finding_types'), t('error')],
            plugins.map(pluginRow),
            none,
            { 'data-table': 'plugins' },
          ),
        ),
      );
    } catch (err) {
      ctx.report(err);
    }
  }
  return { show };
}
