// Small DOM helpers. Text always goes in as text nodes (never innerHTML): server data is data.

/** Element by id. */
export const $ = (id) => document.getElementById(id);

/**
 * h('div', { class: 'x', onclick }, ...children). `raw: true` marks content that is data
 * (names from config, ids) with translate="no": the language walk skips it, and so do
 * browser translators.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.style.cssText = v;
    else if (k === 'raw') el.setAttribute('translate', 'no');
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Data from the server or config, shown as is (not a UI string). */
export const raw = (text, tag = 'span', attrs = {}) => h(tag, { ...attrs, raw: true }, text);

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A table from headers and rows of cells (strings or nodes); `empty` when there are no rows. */
export function table(headers, rows, empty, attrs = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    { class: 'table', ...attrs },
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
  );
}
