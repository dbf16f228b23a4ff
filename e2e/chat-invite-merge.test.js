// Chat invite-and-leave from the widget's transfer panel, and consult-then-merge on a call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdk, sdkOk } from './helpers.js';

test('a chat invite carries the case to the invited agent, and the inviter can leave', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  const aw = widget(alice);
  const bw = widget(bob);
  await env.setReady(alice);

  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Erin Novak');
  await chat.getByTestId('chat-email').fill('erin@example.com');
  await chat.getByTestId('chat-start').click();
  await aw.getByTestId('incoming-accept').click();
  await waitText(alice.getByTestId('case-title'), 'C-1003');
  await waitText(chat.getByTestId('chat-status'), 'Alice');
  await alice.getByTestId('notes-draft').fill('invite draft');
  await env.setReady(bob);

  await aw.getByTestId('refresh-members').click();
  await waitFor('bob listed', () => aw.getByTestId('transfer-target').locator('option[value="bob"]').count());
  await aw.getByTestId('transfer-target').selectOption('bob');
  await aw.getByTestId('chat-invite').click();

  await bw.getByTestId('incoming').waitFor();
  await waitText(bob.getByTestId('case-title'), 'C-1003');
  const load = await waitFor('bob got the data', () => bob.evaluate(() => window.crmApp.loads[0]));
  assert.equal(load.meta.kind, 'chat_invite');
  assert.equal(load.data.notesDraft, 'invite draft');
  await bw.getByTestId('incoming-accept').click();
  await waitText(bw.getByTestId('active-state'), 'connected');

  // Both agents are in the chat; bob writes, the customer and alice see it.
  await bw.getByTestId('chat-input').fill('Hi Erin, Bob here');
  await bw.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'Bob here');
  await waitText(aw.getByTestId('chat-transcript'), 'Bob here');

  // Alice leaves; the customer keeps chatting with bob.
  await aw.getByTestId('leave').click();
  await waitFor('alice is off the chat', async () => {
    const st = await sdk(bob, 'getInteractionsState');
    const ix = st.status === 'success' && st.data.interactions[0];
    return ix && !ix.baton.parties.some((p) => p.name === 'Alice Adams' && p.state === 'connected');
  });
  await chat.getByTestId('chat-message-input').fill('Thanks Bob');
  await chat.getByTestId('chat-send').click();
  await waitText(bw.getByTestId('chat-transcript'), 'Thanks Bob');
}));

test('consult then merge puts everyone on one call and the consulted CRM gets merge data', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const { id } = await env.voiceCall('Carol Chen', '+1 555 0101');
  await widget(alice).getByTestId('incoming').waitFor();
  await sdkOk(alice, 'acceptInteraction', id);
  await env.setReady(bob);
  await sdkOk(alice, 'consultCall', 'bob');
  await widget(bob).getByTestId('incoming').waitFor();
  await sdkOk(bob, 'acceptInteraction', id);

  // Merge from alice's widget.
  await alice.getByTestId('notes-draft').fill('merge draft');
  const aw = widget(alice);
  await waitFor('merge enabled', () => aw.getByTestId('merge').isEnabled());
  await aw.getByTestId('merge').click();
  await waitFor('bob got the merge data', () => bob.evaluate(() => window.crmApp.loads.some((l) => l.meta.kind === 'merge')));
  const m = await bob.evaluate(() => window.crmApp.loads.find((l) => l.meta.kind === 'merge'));
  assert.equal(m.data.notesDraft, 'merge draft');
  await waitFor('alice, bob and the customer are connected', async () => {
    const st = await sdk(alice, 'getInteractionsState');
    const ix = st.status === 'success' && st.data.interactions.find((i) => i.interactionId === id);
    if (!ix) return false;
    const live = ix.baton.parties.filter((p) => p.state === 'connected').map((p) => p.type === 'customer' ? 'customer' : p.name);
    return ['Alice Adams', 'Bob Brown', 'customer'].every((n) => live.includes(n));
  });
}));
