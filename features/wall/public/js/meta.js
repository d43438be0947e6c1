// Server constants (GET /api/v1/meta): finding types, states, the actions each state allows,
// error texts and the gateway's time zone. The page repeats none of them.

// One CJK glyph per type, in a coloured badge: readable at a distance and needs no emoji font.
// Used only when a plugin's manifest gives no icon (or an emoji, which wall PCs often lack).
const EMOJI = /\p{Extended_Pictographic}/u;
const FALLBACK_COLOR = '#3fb1ff';

export async function loadMeta(api) {
  const m = await api.get('/meta');
  const types = new Map(m.findingTypes.map((x) => [x.type, x]));
  const actions = m.actions ?? {};
  const open = new Set(m.openStates ?? []);
  return {
    raw: m,
    states: m.states,
    timeZone: m.timeZone,
    errors: m.errors ?? {},
    /** Whether alert:act takes the version the operator saw (server refuses a stale one). */
    versionedActions: m.versionedActions === true,
    types,
    typeInfo(type, lang) {
      const ti = types.get(type);
      return {
        label: ti ? (lang === 'zh' ? ti.zh : ti.en) : null,
        color: ti?.color ?? FALLBACK_COLOR,
        icon: ti?.icon && !EMOJI.test(ti.icon) ? ti.icon : (ti?.zh ?? '?').slice(0, 1),
      };
    },
    /** The operator actions the server's state table allows in `state`. */
    actionsFor(state) {
      return actions[state] ?? [];
    },
    allows(state, action) {
      return (actions[state] ?? []).includes(action);
    },
    /** Waiting for an operator decision: some action besides a note is allowed. */
    awaitsOperator(state) {
      return (actions[state] ?? []).some((a) => a !== 'note');
    },
    isOpen(state) {
      return open.has(state);
    },
  };
}
