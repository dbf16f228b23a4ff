// The widget's side of host security: an embedded widget needs an integration key that the
// handshake cannot change, and a saved session is only resumed by the same host page
// (origin and integration key), never by a page that frames the standalone widget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withBaton, widget, waitFor, waitText, startHostPages, PASSWORD } from './helpers.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

test('an embedded widget without an integration key refuses the page', (t) => withBaton(t, async (env) => {
  const page = await env.crmPage('alice');
  const refusal = await page.evaluate(() => new Promise((resolve) => {
    const api = new window.Baton.AdApi({ mountRoot: document.body });
    api.on('ON_HOST_REFUSED', resolve);
  }));
  assert.equal(refusal.code, 1);
  assert.match(refusal.message, /integration key/);
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
