// The HTTP API client (/api/v1). Errors carry the server's stable code; the page shows the
// catalogue text for it (i18n.errorText), never the server's English message.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? null;
    this.field = body?.field;
  }
}

export function createApi({ csrf, onUnauthorized }) {
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = csrf();
    if (method !== 'GET' && token) headers['X-CSRF-Token'] = token;
    const res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = res.headers.get('content-type')?.includes('application/json') ? await res.json() : null;
    if (!res.ok) {
      if (res.status === 401 && path !== '/session') onUnauthorized();
      throw new ApiError(res.status, json);
    }
    return json;
  }
  return {
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    del: (path) => call('DELETE', path),
  };
}
