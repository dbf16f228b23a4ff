#!/usr/bin/env node
/**
 * Takes docs/supervisor.png: the supervisor console with one customer waiting, one chat
 * that alice blind-transferred to bob (who refused it once), that chat's hand-off chain open,
 * and the last hour's charts with those hand-offs and queue waits.
 *
 *     cargo build -p baton && node e2e/screenshot-supervisor.mjs [--out path.png]
 *
 * Not a test; fails loudly if a step does.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, waitText, waitFor, INGRESS, PASSWORD } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = resolve(outArg >= 0 ? args[outArg + 1] : join(here, '..', 'docs', 'supervisor.png'));

const server = await startServer();
const browser = await launchBrowser();
try {
  const agent = async (username) => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.base}/demo-crm/?agent=${username}`);
    const w = page.frameLocator('iframe[data-testid="baton-widget-frame"]');
    await w.getByTestId('login-password').fill(PASSWORD);
    await w.getByTestId('login-submit').click();
    await waitText(page.getByTestId('sdk-status'), 'Connected as');
    return page;
  };
  const sdk = async (page, m, ...a) => {
    const r = await page.evaluate(([m2, a2]) => window.crmApp.adApi[m2](...a2), [m, a]);
    if (r.status !== 'success') throw new Error(`${m}: ${JSON.stringify(r)}`);
    return r.data;
  };
  await server.admin('PUT', '/admin/tenants/demo/agents/dave/supervisor', { supervisor: true });
  const alice = await agent('alice');
  const bob = await agent('bob');
  const chat = async (name) => (await server.rest('POST', '/interactions', INGRESS, { channel: 'chat', service: 'Sales', customer: { name } })).body.id;
  // Carol waits a few seconds in the queue before alice is ready (the wait chart).
  const id = await chat('Carol Chen');
  await new Promise((r) => setTimeout(r, 3000));
  await sdk(alice, 'setAgentState', 'ready');
  await waitFor('offer', async () => (await sdk(alice, 'getInteractionsState')).interactions.length);
  await sdk(alice, 'acceptInteraction', id);
  await sdk(bob, 'setAgentState', 'ready');
  const offered = async (page, state) => waitFor(`offer ${state}`, async () =>
    (await sdk(page, 'getInteractionsState')).interactions.some((i) => i.interactionId === id && i.state === state));
  // Bob refuses the first hand-off (failed: rejected); it rings alice again; the second one he takes.
  await sdk(alice, 'blindTransfer', 'bob', { caseId: 'C-1001', notesDraft: 'Wants the annual plan' }, id);
  await offered(bob, 'delivery_pending');
  await sdk(bob, 'rejectInteraction', id);
  await offered(alice, 'delivery_pending');
  await sdk(alice, 'acceptInteraction', id);
  await sdk(alice, 'blindTransfer', 'bob', { caseId: 'C-1001', notesDraft: 'Wants the annual plan' }, id);
  await offered(bob, 'delivery_pending');
  await sdk(bob, 'acceptInteraction', id);
  await sdk(alice, 'setAgentState', 'not_ready');
  await chat('Dan Dole');

  const sup = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  await sup.goto(`${server.base}/supervisor/`);
  await sup.getByTestId('sup-tenant').fill('demo');
  await sup.getByTestId('sup-username').fill('dave');
  await sup.getByTestId('sup-password').fill(PASSWORD);
  await sup.getByTestId('sup-login-submit').click();
  const row = sup.locator(`[data-testid="sup-interaction"][data-id="${id}"]`);
  await waitText(row.getByTestId('sup-parties'), 'Bob Brown');
  await row.getByTestId('sup-show-chain').click();
  await waitText(sup.getByTestId('sup-handoff').first(), 'Bob Brown');
  await waitText(sup.getByTestId('sup-stats-summary'), '1 hand-off accepted, 1 failed');
  await sup.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
