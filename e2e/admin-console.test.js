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

  // A wrong token: the API refuses, and the console says so.
  await page.getByTestId('admin-token').fill('not-the-token');
  await page.getByTestId('admin-token-save').click();
  await page.getByTestId('admin-tenant').fill('north');
  await page.getByTestId('admin-tenant-create').click();
  assert.match(await result(page, 1), /failed \(401, invalid_token/);

  await page.getByTestId('admin-token-forget').click();
  await page.getByTestId('admin-token').fill(ADMIN_TOKEN);
  await page.getByTestId('admin-token-save').click();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('baton.admin.token')), ADMIN_TOKEN);
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
