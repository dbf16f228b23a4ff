// (d) Bob reloads his page and the transfer data is delivered again with meta.replay = true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdkOk, PASSWORD } from './helpers.js';

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

test('after a queue transfer rang out at one agent, the one who took it reloads and gets the case and draft back', (t) => withBaton(t, async (env) => {
  // A queue with a short ring time-out, served by erin (longest idle) and finn.
  let r = await env.server.admin('POST', '/admin/tenants/demo/services', { name: 'Quick', channels: ['chat'], ringTimeoutMs: 1500 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const [username, displayName] of [['erin', 'Erin Eng'], ['finn', 'Finn Fox']]) {
    r = await env.server.admin('POST', '/admin/tenants/demo/agents', { username, password: PASSWORD, displayName, services: ['Quick'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const alice = await env.agentPage('alice');
  const erin = await env.agentPage('erin');
  const finn = await env.agentPage('finn');
  await env.setReady(alice);
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Carol Chen');
  await chat.getByTestId('chat-email').fill('carol@example.com');
  await chat.getByTestId('chat-service').selectOption('Sales');
  await chat.getByTestId('chat-start').click();
  const id = await waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  const caseTitle = await waitText(alice.getByTestId('case-title'), 'C-');
  await alice.getByTestId('notes-draft').fill('wants the annual plan, 12% off');
  await env.setReady(erin);
  await env.setReady(finn);
  await sdkOk(alice, 'blindTransfer', 'service:Quick', null, id);

  // erin lets it ring out; finn is offered it with the same case and takes it.
  await waitText(erin.getByTestId('transfer-banner'), 'Transferred by Alice Adams');
  await waitText(finn.getByTestId('transfer-banner'), 'Transferred by Alice Adams (queue)', 20000);
  await sdkOk(finn, 'acceptInteraction', id);
  assert.equal(await finn.getByTestId('notes-draft').inputValue(), 'wants the annual plan, 12% off');

  // finn's page reloads: the replay brings back the banner, the case and the draft.
  await finn.reload();
  await waitText(finn.getByTestId('sdk-status'), 'Connected as', 20000);
  await waitText(finn.getByTestId('transfer-banner'), 'replayed', 20000);
  assert.equal(await finn.getByTestId('transfer-banner').getAttribute('data-replay'), 'true');
  assert.equal(await finn.getByTestId('case-title').textContent(), caseTitle);
  assert.equal(await finn.getByTestId('notes-draft').inputValue(), 'wants the annual plan, 12% off');
}));
