/* global document, fetch, FormData */
// The grid worker's page (网格员任务): log in with the wall account the roster names, see the
// tasks dispatched to you or your grid's team, report disposal (处置反馈) with a note and a
// photo. zh-CN only; error texts come from the server's catalogue (GET /api/v1/meta).
const $ = (id) => document.getElementById(id);
let csrf = '';
let errors = {};
/** The gateway's zone (GET /api/v1/meta): times read as on the wall, whatever the phone's zone. */
let timeZone;

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined && !(body instanceof FormData)) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const json = res.headers.get('content-type')?.includes('application/json') ? await res.json() : null;
  if (!res.ok) {
    const e = new Error(json?.message ?? `HTTP ${res.status}`);
    e.status = res.status;
    e.code = json?.code ?? null;
    throw e;
  }
  return json;
}

function errorText(err) {
  if (err.code === 'GW_FORBIDDEN' && err.status === 403) return '该账号不是花名册中的网格员';
  return errors[err.code]?.zh ?? '网络错误，请稍后再试';
}

const time = (ms) =>
  new Date(ms).toLocaleString('zh-CN', {
    timeZone,
    hour12: false,
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });

function showLogin() {
  $('login').hidden = false;
  $('tasks').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
}

function stateText(t) {
  if (t.reopened) return '复核未通过';
  if (t.state === 'handled') return '待核查';
  return t.stateZh;
}

function taskEl(t) {
  const li = $('task-tpl').content.firstElementChild.cloneNode(true);
  li.dataset.id = t.id;
  li.dataset.state = t.state;
  li.dataset.reopened = String(t.reopened);
  li.querySelector('.type').textContent = t.typeZh;
  li.querySelector('.state').textContent = stateText(t);
  li.querySelector('.place').textContent = t.summary ? `${t.place} · ${t.summary}` : t.place;
  const to = t.assignedToMe ? '派遣给我' : `派遣给 ${t.gridName} 网格团队`;
  li.querySelector('.meta').textContent = `${t.gridName} · 发现于 ${time(t.firstSeen)} · ${to}`;
  li.querySelector('.evidence').src = `/api/v1/workers/tasks/${encodeURIComponent(t.id)}/evidence/latest`;
  if (t.disposal) {
    const p = li.querySelector('.disposal');
    p.hidden = false;
    const check =
      t.recheck && t.recheck.at >= t.disposal.at
        ? t.recheck.present
          ? '，二次识别：问题仍在'
          : '，二次识别：已通过'
        : '';
    p.textContent = `已反馈 ${time(t.disposal.at)}：${t.disposal.note}${check}`;
  }
  if (t.state === 'dispatched') {
    const form = li.querySelector('.dispose');
    form.hidden = false;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void submit(form, t);
    });
  }
  return li;
}

async function submit(form, t) {
  const err = form.querySelector('.error');
  const button = form.querySelector('button');
  err.textContent = '';
  const fd = new FormData(form);
  fd.set('version', String(t.version));
  button.disabled = true;
  try {
    await call('POST', `/workers/tasks/${encodeURIComponent(t.id)}/disposal`, fd);
    await load();
  } catch (e) {
    err.textContent = `提交失败：${errorText(e)}`;
    button.disabled = false;
    if (e.status === 401) showLogin();
  }
}

async function load() {
  const me = await call('GET', '/workers/me');
  $('login').hidden = true;
  $('tasks').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${me.worker.name} · ${me.worker.roleZh}`;
  const todo = me.tasks.filter((t) => t.state === 'dispatched').length;
  $('tasks-summary').textContent = me.tasks.length
    ? `待处置 ${todo} 件，共 ${me.tasks.length} 件`
    : '暂无任务';
  $('task-list').replaceChildren(...me.tasks.map(taskEl));
}

async function start() {
  try {
    const meta = await call('GET', '/meta');
    errors = meta.errors ?? {};
    timeZone = meta.timeZone;
  } catch {
    errors = {};
  }
  try {
    csrf = (await call('GET', '/session')).csrfToken;
    await load();
  } catch (e) {
    if (e.status === 403) $('login-error').textContent = errorText(e);
    showLogin();
  }
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  const fd = new FormData(ev.target);
  try {
    const s = await call('POST', '/session', { username: fd.get('username'), password: fd.get('password') });
    csrf = s.csrfToken;
    $('login-password').value = '';
    await load();
  } catch (e) {
    $('login-error').textContent = e.code === 'GW_UNAUTHORIZED' ? '用户名或密码错误' : errorText(e);
  }
});
$('logout').addEventListener('click', async () => {
  await call('DELETE', '/session').catch(() => null);
  csrf = '';
  showLogin();
});
$('refresh').addEventListener('click', () => void load().catch(() => showLogin()));

void start();
