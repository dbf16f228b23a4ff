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
  delete $('token-state').dataset.checked;
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
function report(what, r, quiet = false) {
  const li = document.createElement('li');
  li.setAttribute('data-testid', 'admin-result');
  li.dataset.ok = String(r.ok);
  if (!r.ok) li.className = 'error';
  const head = document.createElement('strong');
  const err = r.body && r.body.error;
  head.textContent = r.ok
    ? `${what}: done (${r.status})`
    : `${what}: failed (${r.status}${err ? `, ${err.name} ${err.code}` : ''}) — ${err ? err.message : (r.body ? JSON.stringify(r.body) : 'no answer')}`;
  li.appendChild(head);
  if (r.ok && r.body != null && !quiet) {
    const pre = document.createElement('pre');
    pre.textContent = JSON.stringify(r.body, null, 2);
    li.appendChild(pre);
  }
  $('results').prepend(li);
  // The newest outcome also shows at the foot of the window, wherever the operator scrolled to.
  const last = $('last');
  last.textContent = head.textContent;
  last.className = r.ok ? 'last' : 'last error';
  last.hidden = false;
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
  await checkToken();
});

/**
 * Says at once whether the server takes the token, instead of at the first action. The
 * admin API has no tenant-free read, so it asks for a tenant that cannot exist: the token
 * is checked before the path, so a good token gets 404 and a bad one 401.
 */
async function checkToken() {
  const r = await api('GET', '/admin/tenants/-/teams');
  $('token-state').textContent = r.status === 401
    ? 'The server refused the token: check it and paste it again.'
    : r.status === 404 || r.ok ? 'The server accepted the token.' : `A token is set for this tab (the check answered ${r.status}).`;
  $('token-state').dataset.checked = r.status === 401 ? 'refused' : 'accepted';
}

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


// ---- Helpers for the list panels and the forms that load before they save. ----

const csv = (v) => v.split(',').map((s) => s.trim()).filter(Boolean);
const lines = (v) => v.split('\n').map((s) => s.trim()).filter(Boolean);

/** A small element with text and attributes. */
function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** A row button that runs `action`, disabled while it runs. */
function rowButton(label, testid, action, kind = 'button') {
  const b = el('button', label, { type: 'button', 'data-testid': testid });
  if (kind === 'danger') b.className = 'danger';
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await action(); } catch (e) {
      report(label, { ok: false, status: 0, body: { error: { name: 'network', code: 0, message: e.message } } });
    } finally { b.disabled = false; }
  });
  return b;
}

/** Fills a list panel with a table: `cols` are header names, `rows` arrays of cells (text or nodes). */
function table(container, cols, rows, rowAttrs = () => ({}), empty = 'None.') {
  container.replaceChildren();
  if (!rows.length) { container.appendChild(el('p', empty, { class: 'note' })); return; }
  const t = el('table');
  const head = el('tr');
  for (const c of cols) head.appendChild(el('th', c));
  t.appendChild(el('thead')).appendChild(head);
  const body = t.appendChild(el('tbody'));
  rows.forEach((cells, i) => {
    const tr = body.appendChild(el('tr', null, rowAttrs(i)));
    for (const c of cells) {
      const td = tr.appendChild(el('td'));
      if (c instanceof Node) td.appendChild(c); else td.textContent = c == null ? '' : String(c);
    }
  });
  container.appendChild(t);
}

function actions(...buttons) {
  const span = el('span', null, { class: 'actions' });
  span.append(...buttons);
  return span;
}

const T = () => enc(tenant());

// ---- Agents ----

async function loadAgents() {
  const t = tenant(); if (!t) return;
  const r = await api('GET', `/admin/tenants/${enc(t)}/agents`);
  if (!r.ok) { report(`Agents of ${t}`, r); return; }
  table($('agents-list'), ['Username', 'Name', 'Services', 'State', ''], r.body.map((a) => [
    a.username,
    a.displayName,
    a.services.join(', '),
    a.disabled ? 'disabled' : (a.loggedIn ? 'logged in' : 'enabled'),
    actions(
      rowButton('Edit', 'admin-agent-edit', async () => {
        const f = $('agent-edit-form').elements;
        f.username.value = a.username; f.displayName.value = a.displayName; f.services.value = a.services.join(', ');
        f.password.value = '';
        f.password.focus();
      }),
      rowButton(a.disabled ? 'Enable' : 'Disable', 'admin-agent-toggle', async () => {
        const r2 = await api('PATCH', `/admin/tenants/${T()}/agents/${enc(a.username)}`, { disabled: !a.disabled });
        report(`${a.disabled ? 'Enable' : 'Disable'} agent ${a.username}`, r2, true);
        await loadAgents();
      }),
      rowButton('Supervisor on', 'admin-agent-supervisor-on', async () => {
        report(`Make ${a.username} a supervisor`, await api('PUT', `/admin/tenants/${T()}/agents/${enc(a.username)}/supervisor`, { supervisor: true }), true);
      }),
      rowButton('Supervisor off', 'admin-agent-supervisor-off', async () => {
        report(`Withdraw ${a.username}'s supervisor role`, await api('PUT', `/admin/tenants/${T()}/agents/${enc(a.username)}/supervisor`, { supervisor: false }), true);
      }),
      rowButton('Delete', 'admin-agent-delete', async () => {
        if (!window.confirm(`Delete agent ${a.username}? Their sessions end and this cannot be undone.`)) return;
        report(`Delete agent ${a.username}`, await api('DELETE', `/admin/tenants/${T()}/agents/${enc(a.username)}`), true);
        await loadAgents();
      }, 'danger'),
    ),
  ]), (i) => ({ 'data-testid': 'admin-agent-row', 'data-username': r.body[i].username }), 'No agents yet.');
}

on('agent-edit-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const body = {};
  if (e.password.value) body.password = e.password.value;
  if (e.displayName.value.trim()) body.displayName = e.displayName.value.trim();
  if (e.services.value.trim()) body.services = csv(e.services.value);
  const user = e.username.value.trim();
  if (!Object.keys(body).length) {
    report(`Change agent ${user}`, { ok: false, status: 0, body: { error: { name: 'nothing', code: 0, message: 'fill in at least one field to change' } } });
    return;
  }
  const r = await api('PATCH', `/admin/tenants/${enc(t)}/agents/${enc(user)}`, body);
  report(`Change agent ${user}${body.password ? ' (password changed)' : ''}`, r);
  if (r.ok) { e.password.value = ''; await loadAgents(); }
});

// ---- Sessions and ingress tokens ----

const when = (ms) => new Date(ms).toLocaleString();

async function loadSessions() {
  const t = tenant(); if (!t) return;
  const r = await api('GET', `/admin/tenants/${enc(t)}/sessions`);
  if (!r.ok) { report(`Sessions of ${t}`, r); return; }
  table($('sessions-list'), ['Session', 'Agent', 'Expires', ''], r.body.map((s) => [
    s.sessionId, s.agentId, when(s.expiresAt),
    rowButton('Revoke', 'admin-session-revoke', async () => {
      report(`Revoke session ${s.sessionId}`, await api('DELETE', `/admin/tenants/${T()}/sessions/${enc(s.sessionId)}`), true);
      await loadSessions();
    }, 'danger'),
  ]), (i) => ({ 'data-testid': 'admin-session-row', 'data-session': r.body[i].sessionId }), 'No open sessions.');
}

async function loadIngress() {
  const t = tenant(); if (!t) return;
  const r = await api('GET', `/admin/tenants/${enc(t)}/ingress-tokens`);
  if (!r.ok) { report(`Ingress tokens of ${t}`, r); return; }
  table($('ingress-list'), ['Token id', ''], r.body.map((k) => [
    k.id,
    rowButton('Revoke', 'admin-ingress-revoke', async () => {
      report(`Revoke ingress token ${k.id}`, await api('DELETE', `/admin/tenants/${T()}/ingress-tokens/${enc(k.id)}`), true);
      await loadIngress();
    }, 'danger'),
  ]), () => ({ 'data-testid': 'admin-ingress-row' }), 'No ingress tokens.');
}

// ---- Teams ----

async function loadTeams() {
  const t = tenant(); if (!t) return;
  const r = await api('GET', `/admin/tenants/${enc(t)}/teams`);
  if (!r.ok) { report(`Teams of ${t}`, r); return; }
  table($('teams-list'), ['Team', 'Members', 'Supervisors', 'Supervised', ''], r.body.map((m) => [
    m.name, m.members.join(', '), m.supervisors.join(', '), m.isSupervised ? 'yes' : 'no',
    rowButton('Edit', 'admin-team-edit', async () => {
      const f = $('team-form').elements;
      f.team.value = m.name; f.members.value = m.members.join(', ');
      f.supervisors.value = m.supervisors.join(', '); f.isSupervised.checked = m.isSupervised;
    }),
  ]), (i) => ({ 'data-testid': 'admin-team-row', 'data-team': r.body[i].name }), 'No teams.');
}

on('team-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const name = e.team.value.trim();
  const body = { isSupervised: e.isSupervised.checked, members: csv(e.members.value), supervisors: csv(e.supervisors.value) };
  report(`Save team ${name}`, await api('PUT', `/admin/tenants/${enc(t)}/teams/${enc(name)}`, body));
  await loadTeams();
});

// ---- Not-ready reasons, DID numbers, dispositions, queue limits, integration config ----

on('reasons-form', async (f) => {
  const t = tenant(); if (!t) return;
  report(`Save not-ready reasons of ${t}`, await api('PUT', `/admin/tenants/${enc(t)}/not-ready-reasons`, { notReadyReasons: lines(f.elements.reasons.value) }));
});

on('dids-form', async (f) => {
  const t = tenant(); if (!t) return;
  const didNumbers = lines(f.elements.dids.value).map((line) => {
    const [number, ...flags] = line.split(/[\s,]+/);
    const words = flags.map((w) => w.toLowerCase());
    const isSMS = words.includes('sms');
    const isVoice = words.includes('voice') || !isSMS;
    return { number, isSMS, isVoice };
  });
  report(`Save DID numbers of ${t}`, await api('PUT', `/admin/tenants/${enc(t)}/did-numbers`, { didNumbers }));
});

/** Parses "code, name, TYPE" lines; the name may itself hold commas. */
function parseDispositions(text) {
  return lines(text).map((line) => {
    const parts = line.split(',').map((s) => s.trim());
    const code = parts.shift() || '';
    const type = parts.length > 1 ? parts.pop().toUpperCase() : 'SUCCESS';
    const name = parts.join(', ') || code;
    return { code, name, type };
  });
}

on('dispositions-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const service = e.service.value.trim();
  const body = {
    useDispositions: e.useDispositions.checked,
    requireDisposition: e.requireDisposition.checked,
    dispositions: parseDispositions(e.dispositions.value),
  };
  report(`Save dispositions of ${service}`, await api('PUT', `/admin/tenants/${enc(t)}/services/${enc(service)}/dispositions`, body));
});

on('queue-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const service = e.service.value.trim();
  const body = { maxQueueLength: num(e.maxQueueLength.value) ?? null, maxQueueWaitMs: num(e.maxQueueWaitMs.value) ?? null };
  report(`Save queue limits of ${service}`, await api('PUT', `/admin/tenants/${enc(t)}/services/${enc(service)}/queue-limits`, body));
});

on('config-form', async (f) => {
  const t = tenant(); if (!t) return;
  const e = f.elements;
  const key = e.key.value.trim();
  let config;
  try { config = JSON.parse(e.config.value || '{}'); } catch (err) {
    report(`Save config of ${key}`, { ok: false, status: 0, body: { error: { name: 'bad_json', code: 0, message: `the config is not JSON: ${err.message}` } } });
    return;
  }
  report(`Save config of ${key}`, await api('PUT', `/admin/tenants/${enc(t)}/integrations/${enc(key)}/config`, config));
});

/** The "Load" buttons: read the current value through the API into the form. */
const loaders = {
  agents: loadAgents,
  sessions: loadSessions,
  ingress: loadIngress,
  teams: loadTeams,
  async reasons() {
    const t = tenant(); if (!t) return;
    const r = await api('GET', `/admin/tenants/${enc(t)}/not-ready-reasons`);
    report(`Not-ready reasons of ${t}`, r, true);
    if (r.ok) $('reasons-form').elements.reasons.value = r.body.notReadyReasons.join('\n');
  },
  async dids() {
    const t = tenant(); if (!t) return;
    const r = await api('GET', `/admin/tenants/${enc(t)}/did-numbers`);
    report(`DID numbers of ${t}`, r, true);
    if (r.ok) {
      $('dids-form').elements.dids.value = r.body.didNumbers
        .map((d) => [d.number, d.isVoice ? 'voice' : '', d.isSMS ? 'sms' : ''].filter(Boolean).join(' ')).join('\n');
    }
  },
  async dispositions() {
    const t = tenant(); if (!t) return;
    const e = $('dispositions-form').elements;
    const service = e.service.value.trim();
    if (!service) { report('Dispositions', { ok: false, status: 0, body: { error: { name: 'missing', code: 0, message: 'name the service first' } } }); return; }
    const r = await api('GET', `/admin/tenants/${enc(t)}/services/${enc(service)}/dispositions`);
    report(`Dispositions of ${service}`, r, true);
    if (r.ok) {
      e.useDispositions.checked = r.body.useDispositions;
      e.requireDisposition.checked = r.body.requireDisposition;
      e.dispositions.value = r.body.dispositions.map((d) => `${d.code}, ${d.name}, ${d.type}`).join('\n');
    }
  },
  async config() {
    const t = tenant(); if (!t) return;
    const e = $('config-form').elements;
    const key = e.key.value.trim();
    if (!key) { report('Integration config', { ok: false, status: 0, body: { error: { name: 'missing', code: 0, message: 'name the integration key first' } } }); return; }
    const r = await api('GET', `/admin/tenants/${enc(t)}/integrations/${enc(key)}/config`);
    report(`Config of ${key}`, r, true);
    if (r.ok) e.config.value = JSON.stringify(r.body, null, 2);
  },
};

document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-load], button[data-action]');
  if (!b) return;
  b.disabled = true;
  try {
    if (b.dataset.load) await loaders[b.dataset.load]();
    else if (b.dataset.action === 'team-delete') {
      const t = tenant(); if (!t) return;
      const name = $('team-form').elements.team.value.trim();
      if (!name || !window.confirm(`Delete team ${name}?`)) return;
      report(`Delete team ${name}`, await api('DELETE', `/admin/tenants/${enc(t)}/teams/${enc(name)}`), true);
      await loadTeams();
    }
  } catch (e) {
    report('Request', { ok: false, status: 0, body: { error: { name: 'network', code: 0, message: e.message } } });
  } finally { b.disabled = false; }
});

showToken();
