// The login form. A failed login shows the catalogue text for the server's code.
import { $ } from '../dom.js';

export function createLoginView(ctx, { onSession }) {
  const { t } = ctx;
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ctx.unlockAudio();
    $('login-error').textContent = '';
    const fd = new FormData(ev.target);
    try {
      const s = await ctx.api.post('/session', {
        username: fd.get('username'),
        password: fd.get('password'),
      });
      $('login-password').value = '';
      await onSession(s);
    } catch (err) {
      // 401 at the login form means the pair did not match (the catalogue text says "log in first").
      const why = err.code === 'GW_UNAUTHORIZED' ? t('login_wrong') : ctx.errorMessage(err);
      $('login-error').textContent = t('colon', { a: t('loginFailed'), b: why });
    }
  });
  return {
    show() {
      $('app').hidden = true;
      $('login-view').hidden = false;
      $('login-username').focus();
    },
    hide() {
      $('login-view').hidden = true;
      $('app').hidden = false;
    },
  };
}
