/**
 * Supervisor console: `/supervisor/`. Logs in with an agent account that has the
 * supervisor role (`POST /api/v1/supervisor/sessions`: a console session, so the
 * supervisor's own widget stays logged in; token kept in sessionStorage), then polls
 * `GET /api/v1/supervisor/overview` every second: queues (waiting, longest wait, agents by
 * state), live interactions with their parties, agents. "Hand-offs" on an interaction draws
 * its chain from `GET /api/v1/supervisor/interactions/{id}/handoffs` as a timeline.
 * A supervisor may set a logged-in agent ready or not ready
 * (`PUT /api/v1/supervisor/agents/{username}/state`). Each poll also reads
 * `GET /api/v1/supervisor/stats` and redraws the last hour's charts (charts.js). No endpoint carries message text or transfer-data content (decision 0012).
 */
import { drawHandoffs, drawWaits, summary } from './charts.js';

const KEY = 'baton.supervisor.token';
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);
let timer = null;
let chainFor = null;

const token = () => { try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; } };

async function api(method, path, body, bearer = token()) {
  const res = await fetch('/api/v1' + path, {
    method,
    headers: { ...(bearer ? { Authorization: 'Bearer ' + bearer } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error((json && json.error && json.error.message) || `HTTP ${res.status}`);
    e.status = res.status;
    throw e;
  }
  return json;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('data-')) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function duration(ms) {
  if (ms == null) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

const STATE_WORDS = { ready: 'ready', not_ready: 'not ready', busy: 'busy', ringing: 'ringing', after_call_work: 'wrap-up', offline: 'offline' };

function render(o) {
  $('updated').textContent = `Updated ${new Date(o.at).toLocaleTimeString()}`;
  $('services').replaceChildren(...o.services.map((s) => el('tr', { 'data-testid': 'sup-service', 'data-service': s.name },
    el('td', {}, s.name),
    el('td', { 'data-testid': 'sup-waiting' }, s.waiting),
    el('td', { class: s.longestWaitMs > 60000 ? 'wait-long' : '' }, duration(s.longestWaitMs)),
    el('td', {}, ...Object.entries(s.agentsByState).map(([state, names]) =>
      el('span', { class: `chip ${state}`, title: names.join(', ') }, `${STATE_WORDS[state] || state}: ${names.length}`))),
  )));
  $('interactions').replaceChildren(...o.interactions.map((i) => {
    const button = el('button', { type: 'button', 'data-testid': 'sup-show-chain' }, `Hand-offs (${i.handOffs})`);
    button.addEventListener('click', () => { chainFor = i.id; showChain(); });
    const parties = i.parties.map((p) => `${p.name} (${p.role}, ${p.state})`).join(', ') || (i.waitingSince ? `waiting ${duration(o.at - i.waitingSince)}` : '—');
    return el('tr', { 'data-testid': 'sup-interaction', 'data-id': i.id },
      el('td', {}, i.customer), el('td', {}, i.service || ''), el('td', {}, i.status),
      el('td', { 'data-testid': 'sup-parties' }, parties), el('td', {}, button));
  }));
  $('agents').replaceChildren(...o.agents.map((a) => el('tr', { 'data-testid': 'sup-agent', 'data-username': a.username },
    el('td', {}, a.displayName),
    el('td', {}, el('span', { class: `chip ${a.state}` }, (STATE_WORDS[a.state] || a.state) + (a.notReadyReason ? ` (${a.notReadyReason})` : ''))),
    el('td', {}, a.interactions),
    el('td', {}, ...stateButtons(a)))));
  if (chainFor) showChain();
}

/** Ready / Not ready for a logged-in agent; the server decides (and refuses with a reason). */
function stateButtons(a) {
  if (a.state === 'offline') return ['—'];
  return [['ready', 'Set ready'], ['not_ready', 'Set not ready']].map(([state, label]) => {
    const b = el('button', { type: 'button', 'data-testid': `sup-set-${state}` }, label);
    b.addEventListener('click', async () => {
      try {
        await api('PUT', `/supervisor/agents/${encodeURIComponent(a.username)}/state`,
          state === 'not_ready' ? { state, notReadyReason: 'Set by supervisor' } : { state });
        $('updated').textContent = `${a.displayName}: ${STATE_WORDS[state]}`;
      } catch (e) { $('updated').textContent = `Could not change ${a.displayName}: ${e.message}`; }
    });
    return b;
  });
}

async function showChain() {
  const id = chainFor;
  let c;
  try { c = await api('GET', `/supervisor/interactions/${encodeURIComponent(id)}/handoffs`); } catch (e) {
    $('chain-title').textContent = `Hand-offs: ${e.message}`;
    return;
  }
  if (id !== chainFor) return;
  $('chain-title').textContent = `${c.customer}: ${c.chain.length} hand-off${c.chain.length === 1 ? '' : 's'}`;
  $('chain').replaceChildren(...c.chain.map((h) => el('li', { class: h.phase, 'data-testid': 'sup-handoff' },
    el('div', { class: 'who' }, `${h.from} → ${h.to}`),
    el('div', {}, `${h.kind.replace('_', ' ')}: ${h.phase}${h.reason ? ` (${h.reason.replace(/_/g, ' ')})` : ''}`),
    el('div', { class: 'meta' }, `${h.outcome ? `data ${h.outcome}, ` : ''}${h.bytes} bytes, +${duration(h.createdAt - c.createdAt)} after the start`))));
}

function renderStats(stats) {
  drawHandoffs($('chart-handoffs'), stats);
  drawWaits($('chart-waits'), stats);
  $('stats-summary').textContent = summary(stats);
}

async function poll() {
  try {
    const [overview, stats] = await Promise.all([api('GET', '/supervisor/overview'), api('GET', '/supervisor/stats?minutes=60')]);
    render(overview);
    renderStats(stats);
  } catch (e) {
    if (e.status === 401 || e.status === 403) { logout(e.message); return; }
    $('updated').textContent = `Not updated: ${e.message}`;
  }
  timer = setTimeout(poll, POLL_MS);
}

function start() {
  $('login').hidden = true;
  $('board').hidden = false;
  $('logout').hidden = false;
  clearTimeout(timer);
  poll();
}

function logout(why) {
  clearTimeout(timer);
  try { sessionStorage.removeItem(KEY); } catch { /* ignore */ }
  $('board').hidden = true;
  $('logout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = why || '';
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget.elements;
  try {
    const r = await api('POST', '/supervisor/sessions', { tenant: f.tenant.value.trim(), username: f.username.value.trim(), password: f.password.value }, null);
    try { sessionStorage.setItem(KEY, r.token); } catch { /* ignore */ }
    f.password.value = '';
    $('login-error').textContent = '';
    start();
  } catch (e) { $('login-error').textContent = `Cannot log in: ${e.message}`; }
});

$('logout').addEventListener('click', async () => {
  // End the session on the server too, so the token opens nothing once the tab is left.
  await api('DELETE', '/sessions/current').catch(() => {});
  logout('');
});

if (token()) start();
