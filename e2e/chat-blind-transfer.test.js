// (a) A customer chats via /chat/, alice's demo CRM pops the case; alice blind-transfers to
// bob, and bob's CRM shows the same case and notes draft while the chat is still ringing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdkOk } from './helpers.js';

test('a chat is popped in the CRM and its case travels with a blind transfer', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  const aw = widget(alice);
  const bw = widget(bob);

  // Alice goes ready through the widget's own control.
  await aw.getByTestId('agent-state').selectOption('ready');
  await waitText(aw.getByTestId('agent-state-current'), 'ready');

  // The customer starts a chat.
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Carol Chen');
  await chat.getByTestId('chat-email').fill('carol@example.com');
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();

  // Alice's CRM pops Carol's case while it rings; she accepts from the pop-up.
  await aw.getByTestId('incoming').waitFor();
  await waitText(alice.getByTestId('case-title'), 'C-1001');
  await aw.getByTestId('incoming-accept').click();
  await waitText(aw.getByTestId('active-state'), 'connected');
  await waitText(chat.getByTestId('chat-status'), 'Alice');

  // They exchange messages.
  await chat.getByTestId('chat-message-input').fill('Hello, I want the annual plan');
  await chat.getByTestId('chat-send').click();
  await waitText(aw.getByTestId('chat-transcript'), 'annual plan');
  await aw.getByTestId('chat-input').fill('Let me get my colleague');
  await aw.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'Let me get my colleague');

  // Alice writes a draft in her CRM, bob goes ready, alice blind-transfers from the widget.
  await alice.getByTestId('notes-draft').fill('Wants the annual plan — quote 12% off');
  await env.setReady(bob);
  await aw.getByTestId('refresh-members').click();
  await waitFor('bob in the transfer targets', () =>
    aw.getByTestId('transfer-target').locator('option[value="bob"]').count());
  await aw.getByTestId('transfer-target').selectOption('bob');
  await aw.getByTestId('blind-transfer').click();

  // Bob's CRM shows the same case and the draft while it still rings.
  await bw.getByTestId('incoming').waitFor();
  await waitText(bob.getByTestId('case-title'), 'C-1001');
  await waitText(bob.getByTestId('transfer-banner'), 'Transferred by Alice Adams');
  assert.equal(await bob.getByTestId('notes-draft').inputValue(), 'Wants the annual plan — quote 12% off');
  assert.ok(await bw.getByTestId('incoming').isVisible(), 'still ringing when the case is shown');
  const load = await bob.evaluate(() => window.crmApp.loads[0]);
  assert.equal(load.meta.kind, 'blind');
  assert.equal(load.meta.replay, false);
  assert.equal(load.meta.fromAgentName, 'Alice Adams');
  assert.deepEqual(Object.keys(load.data), ['caseId', 'notesDraft', 'url']);
  assert.equal(load.data.caseId, 'C-1001');

  // Alice sees the outcome of the transfer for her integration.
  await waitFor('alice sees the demo-crm outcome', async () => {
    const o = await alice.getByTestId('transfer-outcome').first().getAttribute('data-outcomes').catch(() => null);
    return o && /provided|delivered|acknowledged/.test(o);
  });

  // Bob accepts and the customer is now chatting with him.
  await bw.getByTestId('incoming-accept').click();
  await waitText(chat.getByTestId('chat-status'), 'Bob');
  const hist = await sdkOk(bob, 'getTransferHistory', load.interactionId);
  assert.ok(Array.isArray(hist) && hist.length >= 1, 'the transfer is in the history');
}));
