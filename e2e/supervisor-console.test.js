// The supervisor console at /supervisor/: a supervisor sees the queue, the live interaction
// and, after a hand-off, its chain drawn as a timeline; it sets an agent not ready; a plain
// agent is refused. The last hour's charts follow the hand-off live. The supervisor's own
// widget stays logged in while the console is open, and the console's log out ends its token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitFor, waitText, sdkOk, INGRESS, PASSWORD } from './helpers.js';

async function login(page, username) {
  await page.getByTestId('sup-tenant').fill('demo');
  await page.getByTestId('sup-username').fill(username);
  await page.getByTestId('sup-password').fill(PASSWORD);
  await page.getByTestId('sup-login-submit').click();
}

test('the supervisor console shows queues, live interactions and a hand-off chain', (t) => withBaton(t, async (env) => {
  const { server } = env;
  // Bob has no supervisor role: refused.
  const refused = await env.newPage(`${server.base}/supervisor/`, 'supervisor-bob');
  // The login says what it does: the console's session is its own (it once said the widget's ended).
  assert.match(await refused.getByTestId('sup-login-note').textContent(), /widget stays logged in/);
  await login(refused, 'bob');
  await waitText(refused.getByTestId('sup-error'), 'no supervisor role');

  assert.equal((await server.admin('PUT', '/admin/tenants/demo/agents/dave/supervisor', { supervisor: true })).status, 200);
  const daveDesk = await env.agentPage('dave');
  const sup = await env.newPage(`${server.base}/supervisor/`, 'supervisor');
  await login(sup, 'dave');
  await sup.getByTestId('sup-board').waitFor();

  // A customer waits; the queue shows it.
  const r = await server.rest('POST', '/interactions', INGRESS, { channel: 'chat', service: 'Sales', customer: { name: 'Quinn Queue' } });
  assert.equal(r.status, 201);
  const id = r.body.id;
  const sales = sup.locator('[data-testid="sup-service"][data-service="Sales"]');
  await waitText(sales.getByTestId('sup-waiting'), '1');
  await waitText(sup.locator(`[data-testid="sup-interaction"][data-id="${id}"]`), 'Quinn Queue');

  // Alice takes it and blind-transfers it to bob, who accepts: the console follows.
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  await waitFor('alice is offered', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(sales.getByTestId('sup-waiting'), '0');
  await env.setReady(bob);
  await sdkOk(alice, 'blindTransfer', 'bob', { caseId: 'C-SECRET-77' }, id);
  await waitFor('bob is offered', async () => (await sdkOk(bob, 'getInteractionsState')).interactions.length);
  await sdkOk(bob, 'acceptInteraction', id);
  const row = sup.locator(`[data-testid="sup-interaction"][data-id="${id}"]`);
  await waitText(row.getByTestId('sup-parties'), 'Bob Brown (primary, connected)');

  // The charts, drawn before the hand-off, now show one accepted hand-off and one queue wait.
  await waitText(sup.getByTestId('sup-stats-summary'), '1 hand-off accepted, 0 failed; 1 answered from a queue');
  const accepted = sup.getByTestId('sup-chart-handoffs').locator('[data-testid="chart-bar-accepted"]');
  assert.equal(await accepted.count(), 1);
  assert.equal(await accepted.getAttribute('data-count'), '1');
  assert.equal(await sup.getByTestId('sup-chart-handoffs').locator('[data-testid="chart-bar-failed"]').count(), 0);
  assert.equal(await sup.getByTestId('sup-chart-waits').locator('[data-testid="chart-wait-avg"]').count(), 1);
  assert.match(await sup.getByTestId('sup-chart-handoffs').textContent(), /Hand-offs per minute/);
  assert.match(await sup.getByTestId('sup-chart-waits').textContent(), /Wait \(seconds\)/);

  await row.getByTestId('sup-show-chain').click();
  const hop = sup.getByTestId('sup-handoff').first();
  await waitText(hop, 'Alice Adams → Bob Brown');
  await waitText(hop, 'blind: accepted');
  assert.match(await hop.textContent(), /\d+ bytes/);
  assert.ok(!(await sup.content()).includes('C-SECRET-77'), 'no transfer-data content on the page');

  // The supervisor sets alice not ready from the console; alice's desktop agrees.
  const aliceRow = sup.locator('[data-testid="sup-agent"][data-username="alice"]');
  await aliceRow.getByTestId('sup-set-not_ready').click();
  await waitFor('alice not ready', async () => {
    const s = await sdkOk(alice, 'getAgentState');
    return s.state === 'not_ready' && s.notReadyReason === 'Set by supervisor';
  });
  await waitText(aliceRow, 'not ready (Set by supervisor)');

  // Dave's own desktop was never forced off by his console login.
  assert.equal((await sdkOk(daveDesk, 'getAgentState')).state, 'not_ready');
  await waitText(daveDesk.getByTestId('sdk-status'), 'Connected as');
  // Logging out of the console ends its session on the server.
  const consoleToken = await sup.evaluate(() => sessionStorage.getItem('baton.supervisor.token'));
  await sup.getByTestId('sup-logout').click();
  await sup.getByTestId('sup-login-submit').waitFor();
  const after = await server.rest('GET', '/supervisor/overview', consoleToken);
  assert.equal(after.status, 401);
  assert.equal((await sdkOk(daveDesk, 'getAgentState')).state, 'not_ready');
}));
