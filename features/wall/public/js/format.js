// Times in the gateway's zone (from meta), never the browser's: evidence images are stamped in
// the same zone, so the screen and the picture agree.
import { raw } from './dom.js';

export function createFormat(i18n, getMeta) {
  const fmtCache = new Map();
  const dtf = () => {
    const key = `${i18n.locale}|${getMeta()?.timeZone}`;
    let f = fmtCache.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat(i18n.locale, {
        timeZone: getMeta()?.timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      });
      fmtCache.set(key, f);
    }
    return f;
  };
  const t = (k, v) => i18n.t(k, v);
  return {
    time(ms) {
      return dtf().format(new Date(ms));
    },
    /** "Asia/Shanghai (GMT+8)": the zone every time on the page is in. */
    zone() {
      const tz = getMeta()?.timeZone;
      const off = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'shortOffset' })
        .formatToParts(new Date())
        .find((p) => p.type === 'timeZoneName')?.value;
      return off ? `${tz} (${off})` : tz;
    },
    duration(ms) {
      const s = Math.max(0, Math.round(ms / 1000));
      if (s < 60) return `${s}${t('sec')}`;
      const m = Math.floor(s / 60);
      if (m < 60) return `${m}${t('min')}${String(s % 60).padStart(2, '0')}${t('sec')}`;
      const hr = Math.floor(m / 60);
      if (hr < 24) return `${hr}${t('hour')}${String(m % 60).padStart(2, '0')}${t('min')}`;
      return `${Math.floor(hr / 24)}${t('day')}${hr % 24}${t('hour')}`;
    },
    /**
     * A catalogue text with {placeholders} filled by data: strings become translate="no" spans,
     * nodes go in as they are.
     */
    nodes(key, vars) {
      const out = [];
      const tpl = t(key);
      let last = 0;
      for (const m of tpl.matchAll(/\{(\w+)\}/g)) {
        if (m.index > last) out.push(tpl.slice(last, m.index));
        const v = vars[m[1]];
        out.push(v instanceof Node ? v : raw(String(v ?? '')));
        last = m.index + m[0].length;
      }
      if (last < tpl.length) out.push(tpl.slice(last));
      return out;
    },
  };
}
