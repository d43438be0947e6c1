// Operator actions, bound to what is on screen: a target is the id, version and state of the
// alert as the operator sees it (the open detail, or the highlighted card). An action the
// server's state table does not allow in that state is not sent; a target whose alert has
// changed since it was drawn is refused, so a key press never lands on something not shown.

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
      const payload = {
        id: target.id,
        act,
        ...(ctx.meta.versionedActions ? { version: target.version } : {}),
      };
      inFlight = true;
      try {
        const updated = await ctx.socket().request('alert:act', payload);
        ctx.store.upsert(updated);
        ctx.toast(t('acted', { action: t(`act_${act.action}`) }));
        return updated;
      } catch (err) {
        ctx.report(err);
        return null;
      } finally {
        inFlight = false;
      }
    },
  };
}
