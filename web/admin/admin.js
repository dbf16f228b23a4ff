/**
 * Admin console: `/admin/`. Every action is one call of the REST admin API with the admin
 * token the operator pasted (kept in sessionStorage, for this tab only), so the console can
 * do exactly what the API allows and no more. Results (and errors, with the protocol's
 * code and message) are listed newest first.
 */
const TOKEN_KEY = 'baton.admin.token';
const $ = (id) => document.getElementById(id);

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

function showToken() {
  const has = !!token();
  $('token-state').textContent = has ? 'A token is set for this tab.' : 'Paste the admin token (BATON_ADMIN_TOKEN) to begin.';
  $('work').hidden = !has;
}

/** One REST call; resolves `{ok, status, body}`. */
async function api(method, path, body) {
  const res = await fetch('/api/v1' + path, {
    method,
    headers: { Authorization: 'Bearer ' + token(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { ok: res.ok, status: res.status, body: json };
}

/** Lists the outcome of an action: what was asked, the HTTP status and the answer. */
function report(what, r) {
  const li = document.createElement('li');
  li.setAttribute('data-testid', 'admin-result');
  li.dataset.ok = String(r.ok);
  if (!r.ok) li.className = 'error';
  const head = document.createElement('strong');
  const err = r.body && r.body.error;
  head.textContent = r.ok
    ? `${what}: done (${r.status})`
    : `${what}: failed (${r.status}${err ? `, ${err.name} ${err.code}` : ''}) — ${err ? err.message : JSON.stringify(r.body)}`;
  li.appendChild(head);
  if (r.ok && r.body != null) {
    const pre = document.createElement('pre');
    pre.textContent = JSON.stringify(r.body, null, 2);
    li.appendChild(pre);
  }
  $('results').prepend(li);
  if (r.status === 401) { $('token-state').textContent = 'The server refused the token: check it and paste it again.'; }
}

function tenant() {
  const t = $('tenant-name').value.trim();
  if (!t) { report('Tenant', { ok: false, status: 0, body: { error: { name: 'missing', code: 0, message: 'name the tenant first' } } }); }
  return t;
}

const enc = encodeURIComponent;
const num = (v) => (v === '' || v == null ? undefined : Number(v));

function on(id, handler) {
  $(id).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    try { await handler(form); } catch (e) {
      report('Request', { ok: false, status: 0, body: { error: { name: 'network', code: 0, message: e.message } } });
    } finally { if (button) button.disabled = false; }
  });
}

on('token-form', async () => {
  try { sessionStorage.setItem(TOKEN_KEY, $('token').value.trim()); } catch { /* private mode */ }
  $('token').value = '';
  showToken();
});

$('token-forget').addEventListener('click', () => {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
  showToken();
});

on('tenant-form', async () => {
  const name = tenant();
  if (name) report(`Create tenant ${name}`, await api('POST', '/admin/tenants', { name }));
});

on('service-form', async (f) => {
  const t = tenant(); if (!t) return;
  const channels = ['chat', 'voice'].filter((c) => f.elements[c].checked);
  const body = { name: f.elements.name.value.trim(), channels, ringTimeoutMs: num(f.elements.ringTimeoutMs.value) };
  report(`Create service ${body.name} in ${t}`, await api('POST', `/admin/tenants/${enc(t)}/services`, body));
});

on('agent-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const body = {
    username: e.username.value.trim(),
    password: e.password.value,
    displayName: e.displayName.value.trim() || undefined,
    extension: e.extension.value.trim() || undefined,
    services: e.services.value.split(',').map((s) => s.trim()).filter(Boolean),
    maxChats: num(e.maxChats.value),
  };
  const r = await api('POST', `/admin/tenants/${enc(t)}/agents`, body);
  report(`Create agent ${body.username} in ${t}`, r);
  if (r.ok) e.password.value = '';
});

on('integration-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const body = {
    integrationKey: e.integrationKey.value.trim(),
    name: e.name.value.trim(),
    allowedOrigins: e.allowedOrigins.value.split('\n').map((s) => s.trim()).filter(Boolean),
  };
  report(`Create integration ${body.integrationKey} in ${t}`, await api('POST', `/admin/tenants/${enc(t)}/integrations`, body));
});

on('settings-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const body = {
    transferDataTimeoutMs: num(e.transferDataTimeoutMs.value),
    transferDataMaxBytes: num(e.transferDataMaxBytes.value),
    retentionSecs: num(e.retentionSecs.value),
  };
  report(`Save settings of ${t}`, await api('PUT', `/admin/tenants/${enc(t)}/settings`, body));
});

on('ingress-form', async () => {
  const t = tenant(); if (!t) return;
  report(`Issue an ingress token for ${t} (copy it now: it is not shown again)`, await api('POST', `/admin/tenants/${enc(t)}/ingress-tokens`, {}));
});

on('lookup-form', async (f) => {
  const id = f.elements.id.value.trim();
  report(`Interaction ${id}`, await api('GET', `/interactions/${enc(id)}`));
  report(`Hand-offs of ${id}`, await api('GET', `/interactions/${enc(id)}/transfers`));
});

showToken();
