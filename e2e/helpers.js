/**
 * Harness for Baton's browser tests: starts the real server binary on a random port with a
 * fresh data directory, launches Debian's Chromium through playwright-core (never a
 * downloaded browser), and offers small typed helpers for the pages under test.
 *
 * Layout of a test:
 *
 *     test('…', (t) => withBaton(t, async (env) => {
 *       const alice = await env.agentPage('alice');   // demo CRM, logged in
 *       …
 *     }));
 *
 * A failing test saves a screenshot of every page it opened to `e2e/screenshots/`.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const BATON_BIN = resolve(here, process.env.BATON_BIN || '../target/debug/baton');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const ADMIN_TOKEN = 'test-admin';
export const INGRESS = 'test-ingress';
export const PASSWORD = 'demo';

export const AGENTS = {
  alice: 'Alice Adams',
  bob: 'Bob Brown',
  dave: 'Dave Diaz',
};

function configToml() {
  const agents = Object.entries(AGENTS).map(([u, name], i) => `
[[tenants.agents]]
username = "${u}"
password = "${PASSWORD}"
display_name = "${name}"
extension = "${1001 + i}"
services = ["Sales"]
max_chats = 3
`).join('');
  return `
[[tenants]]
name = "demo"
ingress_tokens = ["${INGRESS}"]
[tenants.settings]
transfer_data_timeout_ms = 5000
transfer_data_max_bytes = 65536
retention_secs = 86400
[[tenants.services]]
name = "Sales"
channels = ["chat", "voice"]
ring_timeout_ms = 20000
${agents}`;
}

/** Spawns `baton serve` and resolves `{child, addr, log}` once it prints its address. */
function spawnBaton(dir, listen, env = {}) {
  const config = join(dir, 'baton.toml');
  const args = ['serve', '--listen', listen, '--data-dir', join(dir, 'data'),
    '--admin-token', ADMIN_TOKEN, '--config', config];
  const child = spawn(BATON_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info', ...env } });
  const proc = { child, log: '' };
  child.stderr.on('data', (d) => { proc.log += d; });
  return new Promise((resolveAddr, reject) => {
    let out = '';
    let found = false;
    const timer = setTimeout(() => reject(new Error('baton did not print its address within 20 s\n' + out + proc.log)), 20000);
    child.stdout.on('data', (d) => {
      proc.log += d;
      if (found) return;
      out += d;
      const m = out.match(/Baton listening on http:\/\/(\S+)/);
      if (m) { found = true; clearTimeout(timer); proc.addr = m[1]; resolveAddr(proc); }
    });
    child.on('exit', (code) => { if (!found) { clearTimeout(timer); reject(new Error(`baton exited with ${code}\n${out}${proc.log}`)); } });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function killChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const pagesDir = join(here, 'pages');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

/**
 * Serves e2e/pages (host pages of other origins than the server's) on 127.0.0.1:<random> with a strict CSP; resolves {origin, close}. */
export function startHostPages(serverBase) {
  const srv = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '') || 'bp-conformance.html';
    if (!/^[a-z-]+\.(html|js|css)$/.test(path)) { res.writeHead(404); res.end(); return; }
    let body;
    try { body = readFileSync(join(pagesDir, path)); } catch { res.writeHead(404); res.end(); return; }
    res.writeHead(200, {
      'Content-Type': TYPES[path.slice(path.lastIndexOf('.'))],
      'Content-Security-Policy': `default-src 'self'; script-src 'self' ${serverBase}; frame-src ${serverBase}; style-src 'self'`,
    });
    res.end(body);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    resolve({ origin: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) });
  }));
}

/** Starts `baton serve` on 127.0.0.1:0 with a fresh data directory. */
export async function startServer({ env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'baton-e2e-'));
  writeFileSync(join(dir, 'baton.toml'), configToml());
  let proc = await spawnBaton(dir, '127.0.0.1:0', env);
  const addr = proc.addr;
  let oldLogs = '';
  const port = Number(addr.split(':').pop());
  const server = {
    dir, port,
    base: `http://127.0.0.1:${port}`,
    localhostBase: `http://localhost:${port}`,
    log: () => oldLogs + proc.log,
    /** Stops the process but keeps its data directory. */
    async kill() { await killChild(proc.child); },
    /** Starts the server again on the same port and data directory. */
    async restart() {
      await killChild(proc.child);
      oldLogs += proc.log + '\n--- restart ---\n';
      proc = await spawnBaton(dir, addr, env);
    },
    async stop() {
      await killChild(proc.child);
      rmSync(dir, { recursive: true, force: true });
    },
    /** A REST call; resolves `{status, body}`. */
    async rest(method, path, token, body) {
      const res = await fetch(`${server.base}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = text; }
      return { status: res.status, body: json };
    },
    admin(method, path, body) { return server.rest(method, path, ADMIN_TOKEN, body); },
  };
  const r = await server.admin('POST', '/admin/tenants/demo/integrations', {
    integrationKey: 'demo-crm', name: 'Demo CRM', allowedOrigins: [server.base],
  });
  if (r.status !== 201 && r.status !== 200) {
    await server.stop();
    throw new Error(`registering the demo-crm integration failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return server;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** Polls `fn` until it returns a truthy value; throws with `what` after `timeout` ms. */
export async function waitFor(what, fn, timeout = 15000, every = 100) {
  const until = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** The widget iframe inside a CRM page. */
export function widget(page) {
  return page.frameLocator('iframe[data-testid="baton-widget-frame"]');
}

/** Text of a locator once it contains `text` (string or RegExp). */
export async function waitText(locator, text, timeout = 15000) {
  const test = (s) => (text instanceof RegExp ? text.test(s) : s.includes(text));
  return waitFor(`text ${text}`, async () => {
    const s = await locator.first().textContent({ timeout: 1000 }).catch(() => null);
    return s != null && test(s) ? s : null;
  }, timeout);
}

/** Calls an AdApi method from the CRM page; resolves with the OperationResult. */
export function sdk(page, method, ...args) {
  return page.evaluate(([m, a]) => window.crmApp.adApi[m](...a), [method, args]);
}

/** Like `sdk`, but throws unless the result is a success; resolves with `data`. */
export async function sdkOk(page, method, ...args) {
  const r = await sdk(page, method, ...args);
  if (!r || r.status !== 'success') throw new Error(`${method}(${JSON.stringify(args)}) failed: ${JSON.stringify(r)}`);
  return r.data;
}

/**
 * Runs one test with a fresh server and browser. `env` offers:
 * - `server` (see startServer), `browser`
 * - `crmPage(username, {base})`: a new browser context with the demo CRM (not logged in)
 * - `agentPage(username, {base})`: the demo CRM with the widget logged in
 * - `login(page)`: logs the CRM's widget in
 * - `chatPage()`: the customer chat page
 */
export async function withBaton(t, body) {
  const server = await startServer();
  const browser = await launchBrowser();
  const pages = [];
  const consoleLog = [];
  const env = {
    server,
    browser,
    pages,
    async newPage(url, label) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await context.newPage();
      page.on('console', (m) => consoleLog.push(`[${label}] ${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLog.push(`[${label}] pageerror: ${e.message}`));
      pages.push({ page, label });
      await page.goto(url);
      return page;
    },
    crmPage(username, { base = server.base } = {}) {
      return env.newPage(`${base}/demo-crm/?agent=${encodeURIComponent(username)}`, `crm-${username}`);
    },
    async login(page) {
      const w = widget(page);
      await w.getByTestId('login-password').fill(PASSWORD);
      await w.getByTestId('login-submit').click();
    },
    async agentPage(username, opts) {
      const page = await env.crmPage(username, opts);
      await env.login(page);
      await waitText(page.getByTestId('sdk-status'), 'Connected as');
      return page;
    },
    chatPage() {
      return env.newPage(`${server.base}/chat/?ingress=${INGRESS}`, 'chat');
    },
    async setReady(page) {
      await sdkOk(page, 'setAgentState', 'ready');
    },
    /** Creates a voice interaction through the ingress REST API; resolves its id. */
    async voiceCall(name, phone) {
      const r = await server.rest('POST', '/interactions', INGRESS, { channel: 'voice', service: 'Sales', customer: { name, phone } });
      if (r.status !== 201 && r.status !== 200) throw new Error(`voice call failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  };
  try {
    await body(env);
    const uncaught = consoleLog.filter((l) => l.includes('] pageerror: '));
    if (uncaught.length) throw new Error(`uncaught errors in the pages:\n${uncaught.join('\n')}`);
  } catch (e) {
    const dir = join(here, 'screenshots');
    mkdirSync(dir, { recursive: true });
    const slug = t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    for (const { page, label } of pages) {
      await page.screenshot({ path: join(dir, `${slug}-${label}.png`), fullPage: true }).catch(() => {});
    }
    writeFileSync(join(dir, `${slug}-console.log`), consoleLog.join('\n'));
    writeFileSync(join(dir, `${slug}-server.log`), server.log());
    throw e;
  } finally {
    await browser.close().catch(() => {});
    await server.stop();
  }
}

