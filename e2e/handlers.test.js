// (f) Several ON_REQUEST_TRANSFER_DATA handlers on one page: the last registered handler
// whose result is not undefined wins; throwing handlers count as undefined. The receiver
// gets exactly the JSON the sender's SDK produced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitFor, sdkOk } from './helpers.js';

const WINNER = { z: 1, a: 'é ✓ "quoted" \u2028', n: [1.5, null, true, { deep: [] }], big: 12345678901234 };

test('the last registered handler with a defined result wins, byte for byte', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const { id } = await env.voiceCall('Someone New', '+1 555 0199');
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  await env.setReady(bob);

  // The demo CRM's own handler is registered first; add three more after it.
  await alice.evaluate((winner) => {
    const api = window.crmApp.adApi;
    api.on('ON_REQUEST_TRANSFER_DATA', () => new Promise((r) => setTimeout(() => r(winner), 300)));
    api.on('ON_REQUEST_TRANSFER_DATA', () => { throw new Error('boom'); });
    api.on('ON_REQUEST_TRANSFER_DATA', async () => undefined);
  }, WINNER);

  await sdkOk(alice, 'blindTransfer', 'bob', null, id);
  await waitFor('bob got the data', () => bob.evaluate(() => window.crmApp.loads.length === 1));
  const load = await bob.evaluate(() => window.crmApp.loads[0]);
  assert.equal(JSON.stringify(load.data), JSON.stringify(WINNER));
  assert.equal(load.meta.kind, 'blind');
  // The unknown customer got a new case on alice's side, and bob's CRM has no such case id in
  // its data: the winning handler replaced the demo CRM's answer entirely.
  assert.equal(load.data.caseId, undefined);

  const outcome = await waitFor('alice sees provided/delivered', async () => {
    const o = await alice.getByTestId('transfer-outcome').first().getAttribute('data-outcomes').catch(() => null);
    return o && /provided|delivered|acknowledged/.test(o) ? o : null;
  });
  assert.ok(outcome);
  const bytes = Buffer.byteLength(JSON.stringify(WINNER), 'utf8');
  // The sender left the interaction with the transfer, so read the history as an admin.
  const r = await env.server.admin('GET', `/interactions/${encodeURIComponent(id)}/transfers`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const leg = r.body.find((h) => h.kind === 'blind');
  assert.ok(leg, 'the blind leg is in the history');
  const o = leg.outcomes.find((x) => x.integrationKey === 'demo-crm');
  assert.equal(o.bytes, bytes, 'the recorded size is the size of the JSON text');
}));

test('a value that cannot be serialised is reported as invalid and the transfer goes on', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const { id } = await env.voiceCall('Carol Chen', '+1 555 0101');
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  await env.setReady(bob);
  await alice.evaluate(() => {
    window.crmApp.adApi.on('ON_REQUEST_TRANSFER_DATA', () => { const o = { a: 1 }; o.self = o; return o; });
  });
  await sdkOk(alice, 'blindTransfer', 'bob', null, id);
  await widget(bob).getByTestId('incoming').waitFor();
  await waitFor('alice sees invalid', async () => {
    const o = await alice.getByTestId('transfer-outcome').first().getAttribute('data-outcomes').catch(() => null);
    return o && o.includes('invalid');
  });
  assert.equal(await bob.evaluate(() => window.crmApp.loads.filter((l) => l.data != null).length), 0);
}));
