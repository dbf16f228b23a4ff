// Issue 12, widget takeover: only Baton itself and the origins an integration lists may
// frame `/widget/` (CSP frame-ancestors), every other Baton page may not be framed at all,
// and a frame that a listed CRM page carries cannot nest a second widget to reach the
// agent's saved session.
//
// This test runs Chromium with its default features on three sites (127.0.0.1 = Baton,
// localhost = the CRM, 127.0.0.2 = a stranger): Playwright's own launch() turns off
// third-party storage partitioning, under which the attack cannot even be seen. So it
// starts /usr/bin/chromium itself and attaches over CDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, CHROMIUM, PASSWORD, waitFor, waitText } from './helpers.js';

/** Chromium as an operator's would be: default features, attached over CDP. */
async function startChromium() {
  const profile = mkdtempSync(join(tmpdir(), 'baton-chromium-'));
  const child = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
  // Its own process group, so stop() ends its helper processes too.
  { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium printed no DevTools address:\n${err}`)), 20000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited with ${code}:\n${err}`)); });
  });
  const browser = await chromium.connectOverCDP(endpoint);
  return {
    browser,
    async stop() {
      await browser.close().catch(() => {});
      const exited = new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
      await exited;
      // A helper process may still be writing its last file into the profile: retry, and
      // never fail a test over a temporary directory.
      try { rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }); } catch { /* left in tmp */ }
    },
  };
}

/** A tiny web site on `host`: `pages` maps a path to its HTML (read at request time). */
async function site(host, pages) {
  const server = createServer((req, res) => {
    const html = pages[new URL(req.url, 'http://x').pathname];
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html || 'not found');
  });
  await new Promise((r) => server.listen(0, host, r));
  const origin = `http://${host === '127.0.0.2' ? host : 'localhost'}:${server.address().port}`;
  return { origin, pages, close: () => new Promise((r) => server.close(r)) };
}

/** A page that frames `src` in `#id` and counts the frame's load events. */
const frame = (src, id) => `<!doctype html><title>${id}</title>
  <iframe id="${id}" src="${src}" width="600" height="400" onload="window.loads = (window.loads || 0) + 1"></iframe>`;

/** Whether Baton's page loaded inside the frame `id` of `frameOrPage` (after its load event). */
async function framedLoads(frameOrPage, id) {
  await waitFor(`frame ${id} to load`, () => frameOrPage.evaluate(() => window.loads > 0));
  const f = await (await frameOrPage.waitForSelector(`#${id}`)).contentFrame();
  // A frame the browser refuses shows Chromium's error page, never Baton's document.
  return f.evaluate(() => !!document.querySelector('[data-testid]')).catch(() => false);
}

test('only Baton and listed CRM origins can frame the widget; a frame inside the CRM cannot nest a second one', async () => {
  const baton = await startServer();
  const chrome = await startChromium();
  const sites = [];
  try {
    const B = baton.base; // http://127.0.0.1:<port>
    const stranger = await site('127.0.0.2', {
      '/frame-widget': frame(`${B}/widget/`, 'w'),
      '/frame-embedded': frame(`${B}/widget/?embedded=1&integrationKey=site-crm`, 'w'),
      '/frame-crm': frame(`${B}/demo-crm/`, 'w'),
      '/frame-chat': frame(`${B}/chat/`, 'w'),
      '/nest': frame(`${B}/widget/?embedded=1&integrationKey=site-crm`, 'nested'),
    });
    sites.push(stranger);
    // The listed CRM: SDK from Baton, the widget in its page, and a stranger's frame beside it.
    const crm = await site('localhost', {});
    sites.push(crm);
    crm.pages['/crm'] = `<!doctype html><title>CRM</title><div id="w" style="width:500px;height:600px"></div>
      <iframe id="stranger" src="${stranger.origin}/nest" width="600" height="400"></iframe>
      <script src="${B}/sdk/adapi.js"></script>
      <script>window.adApi = new Baton.AdApi({ integrationKey: 'site-crm', mountRoot: document.getElementById('w'), login: { tenant: 'demo', username: 'alice' } });
        window.adApi.on('ON_LOGIN', function () { document.title = 'CRM logged in'; });</script>`;
    const r = await baton.admin('POST', '/admin/tenants/demo/integrations', {
      integrationKey: 'site-crm', name: 'Site CRM', allowedOrigins: [crm.origin],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));

    const context = await chrome.browser.newContext();
    const refusals = [];

    // 1. A stranger's page cannot frame the widget (the login page), the demo CRM or the chat page.
    for (const path of ['/frame-widget', '/frame-embedded', '/frame-crm', '/frame-chat']) {
      const page = await context.newPage();
      page.on('console', (m) => { if (/frame-ancestors/.test(m.text())) refusals.push(path); });
      await page.goto(stranger.origin + path);
      assert.equal(await framedLoads(page, 'w'), false, `${path}: Baton's page loaded in a stranger's frame`);
      await page.close();
    }
    assert.equal(new Set(refusals).size, 4, `Chromium reports each refusal: ${refusals}`);

    // 2. The listed CRM can: the agent logs in through the widget it frames.
    const crmPage = await context.newPage();
    const policyErrors = [];
    crmPage.on('console', (m) => {
      if (/Content Security Policy/.test(m.text()) && !/frame-ancestors/.test(m.text())) policyErrors.push(m.text());
    });
    await crmPage.goto(crm.origin + '/crm');
    const w = crmPage.frameLocator('iframe[data-testid="baton-widget-frame"]');
    await w.getByTestId('login-password').fill(PASSWORD);
    await w.getByTestId('login-submit').click();
    await waitFor('the CRM widget to log in', async () => (await crmPage.title()) === 'CRM logged in');
    const before = await crmPage.evaluate(() => window.adApi.getAgentState());
    assert.equal(before.status, 'success', JSON.stringify(before));

    // 3. The stranger's frame inside the CRM page cannot nest a widget of its own: its
    // ancestors include the stranger, whom no integration lists.
    const strangerFrame = await (await crmPage.waitForSelector('#stranger')).contentFrame();
    assert.equal(await framedLoads(strangerFrame, 'nested'), false, 'the nested widget loaded');
    // The stranger posts the takeover hello anyway; nothing answers, the agent stays on.
    await strangerFrame.evaluate(() => document.getElementById('nested').contentWindow
      .postMessage({ type: 'baton:hello', integrationKey: null, sdk: 1 }, '*'));
    const after = await crmPage.evaluate(() => window.adApi.getAgentState());
    assert.equal(after.status, 'success', `the real widget was forced off: ${JSON.stringify(after)}`);
    assert.deepEqual(policyErrors, [], 'the widget in the CRM broke no other part of the policy');

    // 4. Baton's own demo CRM frames the widget from the same origin.
    const demo = await context.newPage();
    await demo.goto(`${B}/demo-crm/?agent=bob`);
    const dw = demo.frameLocator('iframe[data-testid="baton-widget-frame"]');
    await dw.getByTestId('login-password').fill(PASSWORD);
    await dw.getByTestId('login-submit').click();
    await waitText(demo.getByTestId('sdk-status'), 'Connected as');
    await context.close();
  } catch (e) {
    process.stderr.write(baton.log());
    throw e;
  } finally {
    for (const s of sites) await s.close();
    await chrome.stop();
    await baton.stop();
  }
});
