// The widget alone at /widget/ (no host), and the SDK's surface: the Bright Pattern alias,
// the ES-module entry, and calls queued until the widget is ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdkOk, PASSWORD } from './helpers.js';

test('the SDK exposes Baton.AdApi, the brightpattern alias and an ES module', (t) => withBaton(t, async (env) => {
  const page = await env.crmPage('alice');
  const surface = await page.evaluate(async () => {
    const mod = await import('/sdk/adapi.mjs');
    return {
      alias: window.brightpattern.AdApi === window.Baton.AdApi,
      module: mod.AdApi === window.Baton.AdApi,
      methods: window.Baton.AdApi.METHODS.filter((m) => typeof window.crmApp.adApi[m] !== 'function'),
      codes: window.Baton.ResultErrorCodes.api_not_answer,
    };
  });
  assert.deepEqual(surface, { alias: true, module: true, methods: [], codes: 6 });

  // getLoginState answers at once before the login; any other call made before the login
  // answers not_logged_in, as Bright Pattern's does (decision 0024).
  assert.deepEqual(await page.evaluate(() => window.crmApp.adApi.getLoginState()), { status: 'success', data: { isLoggedIn: false } });
  const early = await page.evaluate(() => window.crmApp.adApi.getAgentState());
  assert.deepEqual([early.status, early.error && early.error.code, early.error && early.error.name], ['error', 2, 'not_logged_in'], JSON.stringify(early));
  await env.login(page);
  await waitText(page.getByTestId('sdk-status'), 'Connected as');
  const e = await page.evaluate(() => window.crmApp.adApi.getAgentState());
  assert.equal(e.status, 'success', JSON.stringify(e));
  assert.equal(typeof e.data.reservedForIncomingInteraction, 'boolean');
  const r = await page.evaluate(() => window.crmApp.adApi.getLoginState());
  assert.equal(r.status, 'success', JSON.stringify(r));
  assert.equal(r.data.isLoggedIn, true);
  assert.equal(r.data.username, 'alice');
  assert.equal(typeof r.data.agentId, 'string');
}));

test('the widget works alone: an agent without a CRM takes a call and blind-transfers it', (t) => withBaton(t, async (env) => {
  const alone = await env.newPage(`${env.server.base}/widget/`, 'widget-alice');
  await alone.getByTestId('login-tenant').fill('demo');
  await alone.getByTestId('login-username').fill('alice');
  await alone.getByTestId('login-password').fill(PASSWORD);
  await alone.getByTestId('login-password').press('Enter');
  await waitText(alone.getByTestId('agent-name'), 'Alice Adams');
  await alone.getByTestId('agent-state').selectOption('ready');
  await waitText(alone.getByTestId('agent-state-current'), 'ready');

  const bob = await env.agentPage('bob');
  const { id } = await env.voiceCall('Dan Okafor', '+1 555 0102');
  await alone.getByTestId('incoming').waitFor();
  await waitText(alone.getByTestId('incoming-customer'), 'Dan Okafor');
  await alone.getByTestId('incoming-accept').click();
  await waitText(alone.getByTestId('active-state'), 'connected');
  await alone.getByTestId('note-input').fill('called about the router');
  await alone.getByTestId('note-add').click();
  await waitText(alone.getByTestId('notes'), 'called about the router');

  await sdkOk(bob, 'setAgentState', 'ready');
  await alone.getByTestId('refresh-members').click();
  await waitFor('bob listed', () => alone.getByTestId('transfer-target').locator('option[value="bob"]').count());
  await alone.getByTestId('transfer-target').selectOption('bob');
  await alone.getByTestId('blind-transfer').click();

  await widget(bob).getByTestId('incoming').waitFor();
  await waitText(bob.getByTestId('case-title'), 'C-1002');
  await waitFor('alice sees the transfer status', () => alone.getByTestId('transfer-status-item').count());
  // No CRM on alice's side: bob's CRM gets no transfer data.
  assert.equal(await bob.evaluate(() => window.crmApp.loads.filter((l) => l.data != null).length), 0);
  await waitFor('the interaction left alice', async () =>
    (await alone.getByTestId('interaction-item').count()) === 0);
  void id;
}));

test('reloading the standalone widget reconnects without a new login', (t) => withBaton(t, async (env) => {
  const alone = await env.newPage(`${env.server.base}/widget/?tenant=demo&username=alice`, 'widget-alice');
  await alone.getByTestId('login-password').fill(PASSWORD);
  await alone.getByTestId('login-submit').click();
  await waitText(alone.getByTestId('agent-name'), 'Alice Adams');
  await alone.getByTestId('agent-state').selectOption('not_ready:Lunch');
  await waitText(alone.getByTestId('agent-state-current'), 'Lunch');
  await alone.reload();
  await waitText(alone.getByTestId('agent-state-current'), 'Lunch');
  assert.equal(await alone.getByTestId('login-form').isVisible(), false);
  await alone.getByTestId('logout').click();
  await alone.getByTestId('login-form').waitFor();
  await alone.reload();
  await alone.getByTestId('login-form').waitFor();
}));

test('every control of the widget has an accessible name', (t) => withBaton(t, async (env) => {
  const page = await env.newPage(`${env.server.base}/widget/?tenant=demo&username=alice`, 'widget-alice');
  const unnamed = () => page.evaluate(() => {
    const named = (e) => {
      if (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')) return true;
      if (e.id && document.querySelector(`label[for="${e.id}"]`)) return true;
      if (e.closest('label')) return true;
      return e.tagName === 'BUTTON' && e.textContent.trim() !== '';
    };
    return [...document.querySelectorAll('button, input, select, textarea')]
      .filter((e) => !named(e)).map((e) => e.outerHTML.slice(0, 80));
  });
  assert.deepEqual(await unnamed(), []);
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.keyboard.press('Enter');
  await waitText(page.getByTestId('agent-name'), 'Alice Adams');
  assert.deepEqual(await unnamed(), []);
  // Keyboard only: tab to the state control and choose "ready".
  await page.getByTestId('agent-state').focus();
  await page.keyboard.press('ArrowUp');
  await page.getByTestId('agent-state').selectOption('ready');
  await waitText(page.getByTestId('agent-state-current'), 'ready');
}));

test('a call the widget never answers resolves with api_not_answer after 20 s', (t) => withBaton(t, async (env) => {
  const page = await env.crmPage('alice');
  const started = Date.now();
  // A second AdApi whose widget can never load: its calls stay queued until the deadline.
  const r = await page.evaluate(() => {
    const api = new window.Baton.AdApi({ integrationKey: 'demo-crm', standalone: true, serverUrl: 'http://127.0.0.1:9' });
    return api.getAgentState();
  });
  const took = Date.now() - started;
  assert.equal(r.status, 'error');
  assert.equal(r.error.code, 6);
  assert.equal(r.error.name, 'api_not_answer');
  assert.ok(took >= 19000 && took < 30000, `answered after ${took} ms`);
}));
