// The widget's side of host security: an embedded widget's integration (its key, or without
// one the tenant's one integration listing its host) cannot be changed by the handshake, and
// a saved session is only resumed by the same host page (origin and integration key), never
// by a page that frames the standalone widget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBaton, widget, waitFor, waitText, startHostPages, PASSWORD } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

test('a host page without an integration key (optional in Bright Pattern) speaks for the one integration listing its origin', (t) => withBaton(t, async (env) => {
  const host = await startHostPages(env.server.base);
  t.after(() => host.close());
  const r = await env.server.admin('POST', '/admin/tenants/demo/integrations', {
    integrationKey: 'bp-conf', name: 'BP conformance', allowedOrigins: [host.origin],
  });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r));
  const c = await env.server.admin('PUT', '/admin/tenants/demo/integrations/bp-conf/config', { recordUrl: '/bp/{id}' });
  assert.ok(c.status === 200 || c.status === 204, JSON.stringify(c));
  const open = async (label) => {
    const page = await env.newPage(`${host.origin}/bp-conformance.html?tenant=demo&server=${encodeURIComponent(env.server.base)}`, label);
    await waitFor('the host page loaded the SDK', () => page.evaluate(() => window.conf && window.conf.ready));
    assert.equal(await page.evaluate(() => window.conf.api.integrationKey), null);
    return page;
  };
  const page = await open('no-key');
  const login = (p) => p.evaluate((pw) => window.conf.api.login({ username: 'alice', password: pw }), PASSWORD);
  assert.deepEqual(await login(page), { status: 'success', data: null });
  const config = await page.evaluate(() => window.conf.api.getConfig());
  assert.equal(config.status, 'success', JSON.stringify(config));
  assert.equal(config.data.recordUrl, '/bp/{id}');

  // A second integration for the same origin makes the page ambiguous: refused, both named.
  const r2 = await env.server.admin('POST', '/admin/tenants/demo/integrations', {
    integrationKey: 'bp-conf-2', name: 'BP conformance 2', allowedOrigins: [host.origin],
  });
  assert.ok(r2.status === 200 || r2.status === 201, JSON.stringify(r2));
  const other = await open('no-key-ambiguous');
  const refused = other.evaluate(() => new Promise((resolve) => window.conf.api.on('ON_HOST_REFUSED', resolve)));
  await login(other);
  const refusal = await refused;
  assert.equal(refusal.code, 1);
  assert.match(refusal.message, /bp-conf, bp-conf-2/);
}));

test('the handshake cannot replace the integration key of the widget URL', (t) => withBaton(t, async (env) => {
  const page = await env.crmPage('alice');
  const frame = page.frame({ url: /\/widget\/\?embedded=1/ });
  await waitFor('the widget knows its host', () => frame.evaluate(() => window.__batonWidget.host.origin));
  // The page posts a second hello with another key: it changes nothing.
  await page.evaluate(() => {
    const f = document.querySelector('iframe[data-testid="baton-widget-frame"]');
    f.contentWindow.postMessage({ type: 'baton:hello', integrationKey: 'someone-else', sdk: 2 }, new URL(f.src).origin);
  });
  await env.login(page);
  await waitText(page.getByTestId('sdk-status'), 'Connected as');
  assert.equal(await frame.evaluate(() => window.__batonWidget.host.integrationKey), 'demo-crm');
}));

test('a saved session is resumed only by the same host page, never by a page framing the standalone widget', (t) => withBaton(t, async (env) => {
  const host = await startHostPages(env.server.base);
  t.after(() => host.close());
  const r = await env.server.admin('POST', '/admin/tenants/demo/integrations', {
    integrationKey: 'bp-conf', name: 'Other CRM', allowedOrigins: [host.origin],
  });
  assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r));

  // Alice logs in in the demo CRM; a reload of the same page resumes the session.
  const page = await env.agentPage('alice');
  await page.reload();
  await waitText(page.getByTestId('sdk-status'), 'Connected as');

  // The same tab goes to another host page (another origin and integration key) that embeds
  // the widget: it must not inherit alice's session.
  await page.goto(`${host.origin}/bp-conformance.html?key=bp-conf&tenant=demo&server=${encodeURIComponent(env.server.base)}`);
  await waitFor('the host page is ready', () => page.evaluate(() => window.conf && window.conf.ready));
  await widget(page).getByTestId('login-form').waitFor();
  const st = await page.evaluate(() => window.conf.api.getLoginState());
  assert.deepEqual(st, { status: 'success', data: { isLoggedIn: false } });

  // The standalone widget, logged in at the top level, then framed by a foreign page in the same tab.
  await page.goto(`${env.server.base}/widget/?tenant=demo&username=alice`);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await waitText(page.getByTestId('agent-name'), 'Alice Adams');
  await page.goto(`${host.origin}/frame-widget.html?server=${encodeURIComponent(env.server.base)}`);
  const framed = page.frameLocator('[data-testid="framed-widget"]');
  await framed.getByTestId('login-form').waitFor();
  assert.equal(await framed.getByTestId('desk').isVisible(), false);
}));

test('Baton\'s pages have no inline scripts or inline event handlers (they run under script-src \'self\')', () => {
  const bad = [];
  for (const dir of ['web/widget', 'web/demo-crm', 'web/chat', 'e2e/pages']) {
    for (const f of readdirSync(join(root, dir)).filter((n) => n.endsWith('.html'))) {
      const html = readFileSync(join(root, dir, f), 'utf8');
      for (const m of html.matchAll(/<script\b([^>]*)>/gi)) if (!/\bsrc=/.test(m[1])) bad.push(`${dir}/${f}: inline <script>`);
      for (const m of html.matchAll(/<[^>]+\s(on[a-z]+)\s*=/gi)) bad.push(`${dir}/${f}: inline handler ${m[1]}`);
      if (/javascript:/i.test(html)) bad.push(`${dir}/${f}: javascript: URL`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the widget runs under its Content-Security-Policy of script-src \'self\' without violations', (t) => withBaton(t, async (env) => {
  const page = await env.newPage(`${env.server.base}/widget/?tenant=demo&username=alice`, 'widget-csp');
  await page.evaluate(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
  assert.match(csp, /script-src 'self'/);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await waitText(page.getByTestId('agent-name'), 'Alice Adams');
  await page.getByTestId('agent-state').selectOption('ready');
  await waitText(page.getByTestId('agent-state-current'), 'ready');
  await page.getByTestId('kb').locator('summary').click();
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), []);
}));
