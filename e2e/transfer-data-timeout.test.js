// (c) A CRM handler that hangs: with a 1000 ms tenant deadline the transfer still goes
// through and the sender sees the outcome `timeout`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitFor, sdkOk } from './helpers.js';

test('a hung transfer-data handler does not block the transfer and is reported as timeout', (t) => withBaton(t, async (env) => {
  const r = await env.server.admin('PUT', '/admin/tenants/demo/settings', { transferDataTimeoutMs: 1000 });
  assert.ok(r.status === 200 || r.status === 204, `settings: ${r.status} ${JSON.stringify(r.body)}`);

  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const { id } = await env.voiceCall('Erin Novak', '+1 555 0103');
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  await env.setReady(bob);

  await alice.getByText('Integration settings').click();
  await alice.getByTestId('simulate-hang').check();
  const started = Date.now();
  await sdkOk(alice, 'blindTransfer', 'bob', undefined, id);

  await widget(bob).getByTestId('incoming').waitFor({ timeout: 8000 });
  const took = Date.now() - started;
  assert.ok(took < 6000, `the offer reached bob after ${took} ms, well before the default 5 s deadline plus slack`);
  assert.equal(await alice.evaluate(() => window.crmApp.requests.length), 1, 'alice was asked for data');

  const outcomes = await waitFor('alice sees the timeout outcome', async () => {
    const o = await alice.getByTestId('transfer-outcome').first().getAttribute('data-outcomes').catch(() => null);
    return o && o.includes('timeout') ? o : null;
  });
  assert.match(outcomes, /timeout/);
  assert.match(await alice.getByTestId('transfer-outcome').first().textContent(), /demo-crm: timeout/);
  const loads = await bob.evaluate(() => window.crmApp.loads);
  assert.ok(loads.every((l) => l.data === null || l.data === undefined), 'bob got no data');
}));
