// Operator actions, bound to what is on screen: a target is the id, version and state of the
// alert as the operator sees it (the open detail, or the highlighted card). An action the
// server's state table does not allow in that state is not sent; a target whose alert has
// changed since it was drawn is refused, so a key press never lands on something not shown.

// The catalogue code of a refused stale or raced action (core/error-catalogue.ts).
const CONFLICT = 'GW_CONFLICT';

export function createActions(ctx) {
  const { t } = ctx;
  let inFlight = false;
  return {
    get busy() {
      return inFlight;
    },
    async perform(target, act) {
      if (!target) return null;
      if (ctx.store.ui.session?.user.role === 'viewer') {
        ctx.toast(t('viewer_cannot'), true);
        return null;
      }
      if (inFlight) {
        ctx.toast(t('busy'), true);
        return null;
      }
      if (!ctx.meta.allows(target.state, act.action)) {
        ctx.toast(
          t('not_allowed', { action: t(`act_${act.action}`), state: t(`state_${target.state}`) }),
          true,
        );
        return null;
      }
      const now = ctx.store.get(target.id);
      if (now && now.version !== target.version) {
        ctx.toast(t('stale'), true);
        return null;
      }
      // The server refuses the action (GW_CONFLICT) unless the alert is still at this version.
      const payload = { id: target.id, act, version: target.version };
      inFlight = true;
      try {
        const updated = await ctx.socket().request('alert:act', payload);
        ctx.store.upsert(updated);
        ctx.toast(t('acted', { action: t(`act_${act.action}`) }));
        return updated;
      } catch (err) {
        if (err?.code === CONFLICT) await reloadAfterConflict(target, act);
        else ctx.report(err);
        return null;
      } finally {
        inFlight = false;
      }
    },
  };

  /**
   * Someone else changed the alert first (or the version on screen was old): nothing was done.
   * The alert is fetched again so the screen shows what is there now, and the operator is told
   * who changed it; the action is not repeated for them, they decide again.
   */
  async function reloadAfterConflict(target, act) {
    try {
      const d = await ctx.api.get(`/alerts/${encodeURIComponent(target.id)}`);
      ctx.store.upsert(d.alert);
      // Who made the change that won: the last entry of the trail (names as the alert has them).
      const last = d.audit?.at(-1);
      const people = [d.alert.decidedBy, d.alert.claimedBy].filter(Boolean);
      const who = !last
        ? t('conflict_someone')
        : last.actor.startsWith('system:')
          ? t('conflict_system')
          : (people.find((p) => p.username === last.actor)?.displayName ?? last.actor);
      ctx.toast(
        t('conflict_reloaded', {
          action: t(`act_${act.action}`),
          state: t(`state_${d.alert.state}`),
          who,
        }),
        true,
      );
    } catch (err) {
      ctx.report(err);
    }
  }
}
