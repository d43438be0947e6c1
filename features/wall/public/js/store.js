// The page's state: alerts by id (newest version wins) and the UI state (session, selection,
// open detail, filters, view). Views subscribe and re-render only what a change touched.

export function createStore() {
  const alerts = new Map();
  const listeners = new Set();
  let lastUpdated = 0;
  const ui = {
    session: null,
    view: 'wall',
    /** Selected card on the wall (id). */
    selected: null,
    /** The alert the detail panel shows (id), or null when closed. */
    detailId: null,
    filters: { grid: '', type: '', state: 'open' },
    gridOptions: [],
    cameras: new Map(),
  };
  const emit = (change) => {
    for (const fn of listeners) fn(change);
  };
  return {
    ui,
    alerts,
    get lastUpdated() {
      return lastUpdated;
    },
    get(id) {
      return alerts.get(id);
    },
    /** Stores `a` unless a newer version is already here. Returns whether it changed. */
    upsert(a, kind = 'update') {
      const prev = alerts.get(a.id);
      if (prev && prev.version >= a.version) return false;
      alerts.set(a.id, a);
      lastUpdated = Math.max(lastUpdated, a.updatedAt);
      emit({ type: 'alert', id: a.id, kind: prev ? 'update' : kind, alert: a, prev });
      return true;
    },
    replaceAll(list) {
      alerts.clear();
      lastUpdated = 0;
      for (const a of list) {
        alerts.set(a.id, a);
        lastUpdated = Math.max(lastUpdated, a.updatedAt);
      }
      emit({ type: 'reset' });
    },
    /** Something other than an alert changed (filters, language, session): views redraw. */
    touch(what) {
      emit({ type: what });
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
