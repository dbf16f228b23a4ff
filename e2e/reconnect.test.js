// A server restart: the widget shows the offline banner, reconnects by itself with its
// session token (no new login), and calls made while offline are answered afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitFor, waitText } from './helpers.js';

test('the widget rides out a server restart without a new login', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  await env.server.kill();
  await w.getByTestId('offline-banner').waitFor({ timeout: 10000 });

  const whileOffline = alice.evaluate(() => window.crmApp.adApi.getLoginState());
  whileOffline.catch(() => {});
  await env.server.restart();
  await w.getByTestId('offline-banner').waitFor({ state: 'hidden', timeout: 20000 });
  assert.equal(await w.getByTestId('login-form').isVisible(), false, 'no login form after the restart');
  const r = await whileOffline;
  assert.equal(r.status, 'success', JSON.stringify(r));
  assert.equal(r.data.isLoggedIn, true);
  await waitFor('calls work again', async () => {
    const s = await alice.evaluate(() => window.crmApp.adApi.getAgentState());
    return s.status === 'success';
  });
}));

test('a second login of the same agent ends the first widget, which does not fight back', (t) => withBaton(t, async (env) => {
  const first = await env.agentPage('alice');
  const second = await env.agentPage('alice');
  await widget(first).getByTestId('login-form').waitFor({ timeout: 10000 });
  // The first CRM hears of it too (ON_LOGOUT "forced"): its header stops saying "Connected".
  await waitText(first.getByTestId('sdk-status'), 'Logged out');
  // Give a misbehaving widget time to reconnect and steal the session back.
  await new Promise((r) => setTimeout(r, 3000));
  const st = await second.evaluate(() => window.crmApp.adApi.getAgentState());
  assert.equal(st.status, 'success', JSON.stringify(st));
  assert.equal(await widget(second).getByTestId('login-form').isVisible(), false);
  assert.equal(await widget(first).getByTestId('login-form').isVisible(), true);
}));
