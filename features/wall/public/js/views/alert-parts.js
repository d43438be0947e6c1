// Pieces of an alert shared by the list, the detail and the history.
import { h, raw, svg } from '../dom.js';

export function typeInfo(ctx, type) {
  const ti = ctx.meta.typeInfo(type, ctx.i18n.lang);
  // A type the server does not know (a removed plugin) shows its id: data, not a UI string.
  return { ...ti, label: ti.label ?? type, known: ti.label !== null };
}

export function typeBadge(ctx, type, small = false) {
  const ti = typeInfo(ctx, type);
  return h(
    'span',
    { class: small ? 'type-badge small' : 'type-badge', style: `--type-color:${ti.color}` },
    h('span', { class: 'type-icon', raw: true }, ti.icon),
    ti.known ? ti.label : raw(ti.label),
  );
}

export function stateBadge(ctx, state) {
  return h('span', { class: `state-badge state-${state}`, 'data-state': state }, ctx.t(`state_${state}`));
}

/** 县 › 乡镇 › 社区 › 网格: the city is the same for everyone, so it is left out. */
export function gridPathEl(a) {
  const parts = a.gridPath.length > 1 ? a.gridPath.slice(1) : a.gridPath;
  const el = h('div', { class: 'gridpath', raw: true });
  parts.forEach((g, i) => {
    if (i) el.append(h('span', { class: 'sep' }, '›'));
    el.append(h('span', {}, g.name));
  });
  return el;
}

export function gridPathText(a, from = 0) {
  return a.gridPath
    .slice(from)
    .map((g) => g.name)
    .join(' › ');
}

export function cameraText(a) {
  return `${a.cameraName}${a.zoneName ? ` · ${a.zoneName}` : ''}`;
}

/** Evidence JPEG with the alert's boxes drawn over it from normalised coordinates. */
export function evidenceEl(ctx, a, which, cls = 'evidence') {
  const box = h('div', { class: cls });
  if (a.evidence[which] ?? a.evidence.latest ?? a.evidence.first) {
    box.append(
      h('img', {
        src: `/api/v1/alerts/${encodeURIComponent(a.id)}/evidence/${which}?v=${encodeURIComponent(a.evidence[which] ?? '')}`,
        alt: typeInfo(ctx, a.type).label,
        loading: 'lazy',
        decoding: 'async',
      }),
    );
  } else {
    box.append(h('div', { class: 'noimg' }, '—'));
  }
  const s = svg('svg', { viewBox: '0 0 1 1', preserveAspectRatio: 'none' });
  const color = typeInfo(ctx, a.type).color;
  for (const b of a.boxes) {
    s.append(
      svg('rect', {
        x: b.x1,
        y: b.y1,
        width: Math.max(0, b.x2 - b.x1),
        height: Math.max(0, b.y2 - b.y1),
        fill: 'none',
        stroke: color,
        'stroke-width': 3,
        'vector-effect': 'non-scaling-stroke',
      }),
    );
  }
  box.append(s);
  return box;
}

/** How long the event lasted: still running while it waits for an operator. */
export function lastedMs(ctx, a) {
  return (ctx.meta.awaitsOperator(a.state) ? Math.max(a.lastSeen, Date.now()) : a.lastSeen) - a.firstSeen;
}
