// The admin console at /admin/: with the pasted admin token it creates a tenant, a service
// and an agent through the REST admin API, and that agent can then log in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitFor, ADMIN_TOKEN } from './helpers.js';

/** The text of the newest result line once there are `n` of them. */
async function result(page, n) {
  const items = page.getByTestId('admin-result');
  await waitFor(`${n} results`, async () => (await items.count()) >= n);
  return items.first().textContent();
}

test('the admin console creates an agent who can then log in', (t) => withBaton(t, async (env) => {
  const { server } = env;
  const page = await env.newPage(`${server.base}/admin/`, 'admin');
  assert.ok(await page.locator('#work').isHidden(), 'nothing to do without a token');

  // A wrong token: the console says so at once, and the API refuses each action.
  await page.getByTestId('admin-token').fill('not-the-token');
  await page.getByTestId('admin-token-save').click();
  await waitFor('the token check', async () => (await page.getByTestId('admin-token-state').getAttribute('data-checked')) === 'refused');
  assert.match(await page.getByTestId('admin-token-state').textContent(), /refused the token/);
  await page.getByTestId('admin-tenant').fill('north');
  await page.getByTestId('admin-tenant-create').click();
  assert.match(await result(page, 1), /failed \(401, invalid_token/);

  await page.getByTestId('admin-token-forget').click();
  await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
  await page.getByTestId('admin-token-save').click();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.admin.token')), ADMIN_TOKEN);
  await waitFor('the token check', async () => (await page.getByTestId('admin-token-state').getAttribute('data-checked')) === 'accepted');
  assert.match(await page.getByTestId('admin-token-state').textContent(), /accepted the token/);
  await page.getByTestId('admin-tenant-create').click();
  assert.match(await result(page, 2), /Create tenant north: done \(201\)/);
  // The same again is a conflict, reported with the API's words.
  await page.getByTestId('admin-tenant-create').click();
  assert.match(await result(page, 3), /Create tenant north: failed \(409/);

  await page.getByTestId('admin-service-name').fill('Billing');
  await page.getByTestId('admin-service-create').click();
  assert.match(await result(page, 4), /Create service Billing in north: done \(201\)/);

  await page.getByTestId('admin-agent-username').fill('nina');
  await page.getByTestId('admin-agent-password').fill('secret-42');
  await page.getByTestId('admin-agent-display').fill('Nina North');
  await page.getByTestId('admin-agent-services').fill('Billing');
  await page.getByTestId('admin-agent-create').click();
  assert.match(await result(page, 5), /Create agent nina in north: done \(201\)/);
  assert.equal(await page.getByTestId('admin-agent-password').inputValue(), '', 'the password is not kept in the form');

  await page.getByTestId('admin-ingress-create').click();
  assert.match(await result(page, 6), /"token": "/);

  // Nina logs in with what the console created.
  const res = await fetch(`${server.base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant: 'north', username: 'nina', password: 'secret-42' }),
  });
  assert.equal(res.status, 201, await res.text());
}));

/** Runs `click`, waits for a new result line and returns the newest one's text. */
async function act(page, click) {
  const items = page.getByTestId('admin-result');
  const before = await items.count();
  await click();
  await waitFor('a new result', async () => (await items.count()) > before);
  return items.first().textContent();
}

/** Logs an agent in through the REST API; resolves `{status, body}`. */
async function login(server, tenant, username, password) {
  const res = await fetch(`${server.base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant, username, password }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

test('the admin console sets reasons, dispositions and teams, disables an agent and revokes a session', (t) => withBaton(t, async (env) => {
  const { server } = env;
  const page = await env.newPage(`${server.base}/admin/`, 'admin');
  await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
  await page.getByTestId('admin-token-save').click();
  await page.getByTestId('admin-tenant').fill('south');
  assert.match(await act(page, () => page.getByTestId('admin-tenant-create').click()), /done \(201\)/);
  await page.getByTestId('admin-service-name').fill('Support');
  assert.match(await act(page, () => page.getByTestId('admin-service-create').click()), /done \(201\)/);
  await page.getByTestId('admin-agent-username').fill('sam');
  await page.getByTestId('admin-agent-password').fill('secret-77');
  await page.getByTestId('admin-agent-services').fill('Support');
  assert.match(await act(page, () => page.getByTestId('admin-agent-create').click()), /done \(201\)/);

  // Not-ready reasons, read back through the REST API.
  await page.getByTestId('admin-reasons').fill('Lunch\nTraining');
  assert.match(await act(page, () => page.getByTestId('admin-reasons-save').click()), /Save not-ready reasons of south: done \(200\)/);
  const reasons = await server.admin('GET', '/admin/tenants/south/not-ready-reasons');
  assert.deepEqual(reasons.body.notReadyReasons, ['Lunch', 'Training']);

  // A required disposition: first with none listed, which the API refuses in its own words.
  await page.getByTestId('admin-disp-service').fill('Support');
  await page.getByTestId('admin-disp-use').check();
  await page.getByTestId('admin-disp-require').check();
  const refused = await act(page, () => page.getByTestId('admin-disp-save').click());
  assert.match(refused, /Save dispositions of Support: failed \(400, invalid_args \d+\) — .*disposition/i);
  assert.equal(await page.getByTestId('admin-result').first().getAttribute('data-ok'), 'false');
  await page.getByTestId('admin-disp-list').fill('resolved, Resolved, SUCCESS\ncallback, Call back, CONTINUE');
  assert.match(await act(page, () => page.getByTestId('admin-disp-save').click()), /Save dispositions of Support: done \(200\)/);
  const disp = await server.admin('GET', '/admin/tenants/south/services/Support/dispositions');
  assert.equal(disp.body.useDispositions, true);
  assert.equal(disp.body.requireDisposition, true);
  assert.deepEqual(disp.body.dispositions.map((d) => [d.code, d.name, d.type]),
    [['resolved', 'Resolved', 'SUCCESS'], ['callback', 'Call back', 'CONTINUE']]);

  // A team with sam in it; the console's list shows it and so does the API.
  await page.getByTestId('admin-team-name').fill('Blue');
  await page.getByTestId('admin-team-members').fill('sam');
  assert.match(await act(page, () => page.getByTestId('admin-team-save').click()), /Save team Blue: done \(200\)/);
  await waitFor('the team row', async () => (await page.locator('[data-testid="admin-team-row"][data-team="Blue"]').count()) === 1);
  const teams = await server.admin('GET', '/admin/tenants/south/teams');
  const blue = teams.body.find((x) => x.name === 'Blue');
  assert.ok(blue, JSON.stringify(teams.body));
  assert.deepEqual(blue.members, ['sam']);
  assert.equal(blue.isSupervised, true);

  // Disable sam: the login is refused with 107; enable again: it works.
  await page.getByTestId('admin-agents-load').click();
  const samRow = page.locator('[data-testid="admin-agent-row"][data-username="sam"]');
  await waitFor('sam in the agent list', async () => (await samRow.count()) === 1);
  assert.match(await act(page, () => samRow.getByTestId('admin-agent-toggle').click()), /Disable agent sam: done \(200\)/);
  await waitFor('sam shown disabled', async () => /disabled/.test(await samRow.textContent()));
  const refusedLogin = await login(server, 'south', 'sam', 'secret-77');
  assert.equal(refusedLogin.status, 403, JSON.stringify(refusedLogin.body));
  assert.equal(refusedLogin.body.error.code, 107);
  assert.equal(await samRow.getByTestId('admin-agent-toggle').textContent(), 'Enable');
  assert.match(await act(page, () => samRow.getByTestId('admin-agent-toggle').click()), /Enable agent sam: done \(200\)/);
  const session = await login(server, 'south', 'sam', 'secret-77');
  assert.equal(session.status, 201, JSON.stringify(session.body));

  // Revoke sam's session from the console's list; the API no longer lists it.
  const open = await server.admin('GET', '/admin/tenants/south/sessions');
  const mine = open.body.filter((s) => s.agentId === session.body.agentId);
  assert.equal(mine.length, 1, JSON.stringify(open.body));
  await page.getByTestId('admin-sessions-load').click();
  const sessionRow = page.locator(`[data-testid="admin-session-row"][data-session="${mine[0].sessionId}"]`);
  await waitFor('the session row', async () => (await sessionRow.count()) === 1);
  assert.match(await act(page, () => sessionRow.getByTestId('admin-session-revoke').click()), /Revoke session .*: done \(204\)/);
  await waitFor('the row gone', async () => (await sessionRow.count()) === 0);
  const after = await server.admin('GET', '/admin/tenants/south/sessions');
  assert.equal(after.body.filter((s) => s.sessionId === mine[0].sessionId).length, 0);
}));

test('the admin console changes and deletes agents, numbers, limits, config, ingress tokens and teams', (t) => withBaton(t, async (env) => {
  const { server } = env;
  const page = await env.newPage(`${server.base}/admin/`, 'admin');
  const field = (form, name) => page.getByTestId(form).locator(`[name="${name}"]`);
  await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
  await page.getByTestId('admin-token-save').click();
  await page.getByTestId('admin-tenant').fill('east');
  assert.match(await act(page, () => page.getByTestId('admin-tenant-create').click()), /done \(201\)/);
  await page.getByTestId('admin-service-name').fill('Care');
  assert.match(await act(page, () => page.getByTestId('admin-service-create').click()), /done \(201\)/);
  for (const u of ['eve', 'ed']) {
    await page.getByTestId('admin-agent-username').fill(u);
    await page.getByTestId('admin-agent-password').fill('first-pass');
    await page.getByTestId('admin-agent-services').fill('Care');
    assert.match(await act(page, () => page.getByTestId('admin-agent-create').click()), /done \(201\)/);
  }
  await field('admin-integration-form', 'integrationKey').fill('crm');
  await field('admin-integration-form', 'name').fill('CRM');
  assert.match(await act(page, () => page.getByTestId('admin-integration-form').getByRole('button').click()), /done \(201\)/);

  // A new password and display name through the edit form, filled from the list.
  await page.getByTestId('admin-agents-load').click();
  const eveRow = page.locator('[data-testid="admin-agent-row"][data-username="eve"]');
  await waitFor('eve in the list', async () => (await eveRow.count()) === 1);
  await eveRow.getByTestId('admin-agent-edit').click();
  assert.equal(await page.getByTestId('admin-edit-username').inputValue(), 'eve');
  await field('admin-agent-edit-form', 'password').fill('second-pass');
  await field('admin-agent-edit-form', 'displayName').fill('Eve East');
  assert.match(await act(page, () => page.getByTestId('admin-agent-save').click()), /Change agent eve \(password changed\): done \(200\)/);
  assert.equal((await login(server, 'east', 'eve', 'first-pass')).status, 401);
  assert.equal((await login(server, 'east', 'eve', 'second-pass')).status, 201);
  assert.equal((await server.admin('GET', '/admin/tenants/east/agents/eve')).body.displayName, 'Eve East');
  assert.match(await act(page, () => eveRow.getByTestId('admin-agent-supervisor-on').click()), /Make eve a supervisor: done \(200\)/);

  // DID numbers: voice by default, sms when said.
  await field('admin-dids-form', 'dids').fill('+15550100 voice sms\n+15550101 sms\n+15550102');
  assert.match(await act(page, () => page.getByTestId('admin-dids-form').getByRole('button', { name: 'Save numbers' }).click()), /done \(200\)/);
  const dids = (await server.admin('GET', '/admin/tenants/east/did-numbers')).body.didNumbers;
  assert.deepEqual(dids.map((d) => [d.number, d.isSMS, d.isVoice]),
    [['+15550100', true, true], ['+15550101', true, false], ['+15550102', false, true]]);

  // Queue limits: the API answers what it stored.
  await field('admin-queue-form', 'service').fill('Care');
  await field('admin-queue-form', 'maxQueueLength').fill('5');
  await field('admin-queue-form', 'maxQueueWaitMs').fill('60000');
  const limits = await act(page, () => page.getByTestId('admin-queue-form').getByRole('button').click());
  assert.match(limits, /Save queue limits of Care: done \(200\)/);
  assert.match(limits, /"maxQueueLength": 5/);

  // Integration config: not JSON is refused before any call; JSON is stored.
  await field('admin-config-form', 'key').fill('crm');
  await field('admin-config-form', 'config').fill('{theme: dark');
  assert.match(await act(page, () => page.getByTestId('admin-config-form').getByRole('button', { name: 'Save config' }).click()), /failed .*the config is not JSON/);
  await field('admin-config-form', 'config').fill('{"theme": "dark"}');
  assert.match(await act(page, () => page.getByTestId('admin-config-form').getByRole('button', { name: 'Save config' }).click()), /done \(200\)/);
  assert.deepEqual((await server.admin('GET', '/admin/tenants/east/integrations/crm/config')).body, { theme: 'dark' });

  // An ingress token issued, listed and revoked.
  assert.match(await act(page, () => page.getByTestId('admin-ingress-create').click()), /"token": "/);
  await page.getByTestId('admin-ingress-load').click();
  await waitFor('the token row', async () => (await page.getByTestId('admin-ingress-row').count()) === 1);
  assert.match(await act(page, () => page.getByTestId('admin-ingress-revoke').click()), /Revoke ingress token .*: done \(204\)/);
  assert.deepEqual((await server.admin('GET', '/admin/tenants/east/ingress-tokens')).body, []);

  // A team deleted, and an agent deleted, each after a confirmation.
  await page.getByTestId('admin-team-name').fill('Red');
  await page.getByTestId('admin-team-members').fill('ed');
  assert.match(await act(page, () => page.getByTestId('admin-team-save').click()), /done \(200\)/);
  page.once('dialog', (d) => d.accept());
  assert.match(await act(page, () => page.getByTestId('admin-team-form').getByRole('button', { name: 'Delete team' }).click()), /Delete team Red: done \(204\)/);
  assert.equal((await server.admin('GET', '/admin/tenants/east/teams')).body.filter((x) => x.name === 'Red').length, 0);
  const edRow = page.locator('[data-testid="admin-agent-row"][data-username="ed"]');
  page.once('dialog', (d) => d.dismiss());
  await edRow.getByTestId('admin-agent-delete').click();
  assert.equal((await server.admin('GET', '/admin/tenants/east/agents/ed')).status, 200, 'dismissed: ed stays');
  page.once('dialog', (d) => d.accept());
  assert.match(await act(page, () => edRow.getByTestId('admin-agent-delete').click()), /Delete agent ed: done \(204\)/);
  assert.equal((await server.admin('GET', '/admin/tenants/east/agents/ed')).status, 404);
  await waitFor('ed gone from the list', async () => (await edRow.count()) === 0);
}));
