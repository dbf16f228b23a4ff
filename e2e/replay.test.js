// (d) Bob reloads his page and the transfer data is delivered again with meta.replay = true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdkOk } from './helpers.js';

test('after a reload the receiving CRM gets the same data again marked as a replay', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const { id } = await env.voiceCall('Farid Haddad', '+1 555 0104');
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  await alice.getByTestId('notes-draft').fill('billing dispute, refund approved');
  await env.setReady(bob);
  await sdkOk(alice, 'blindTransfer', 'bob', null, id);

  await waitText(bob.getByTestId('transfer-banner'), 'Transferred by Alice Adams');
  const first = await bob.evaluate(() => window.crmApp.loads[0]);
  assert.equal(first.meta.replay, false);
  await sdkOk(bob, 'acceptInteraction', id);

  // Reload: the widget reconnects from sessionStorage without a new login.
  await bob.reload();
  await waitText(bob.getByTestId('sdk-status'), 'Connected as', 20000);
  assert.equal(await widget(bob).getByTestId('login-form').isVisible(), false, 'no login form after reload');
  await waitText(bob.getByTestId('transfer-banner'), 'replayed', 20000);
  assert.equal(await bob.getByTestId('transfer-banner').getAttribute('data-replay'), 'true');
  const again = await bob.evaluate(() => window.crmApp.loads[0]);
  assert.equal(again.meta.replay, true);
  assert.equal(again.meta.transferId, first.meta.transferId);
  assert.equal(JSON.stringify(again.data), JSON.stringify(first.data), 'byte-identical data');
  await waitText(bob.getByTestId('case-title'), 'C-1004');
  assert.equal(await bob.getByTestId('notes-draft').inputValue(), 'billing dispute, refund approved');

  // The call is still bob's after the reload.
  await waitFor('bob still has the call', async () => {
    const st = await sdkOk(bob, 'getInteractionsState');
    return st.interactions.some((i) => i.interactionId === id);
  });
}));
