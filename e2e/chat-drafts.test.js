// The widget has one chat input for all chats; each chat keeps its own draft, so what the
// agent typed (or the CRM suggested) for one chat never shows, or is sent, under another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitFor, sdkOk, widget } from './helpers.js';

async function startChat(chat, name) {
  await chat.getByTestId('chat-name').fill(name);
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  return waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
}

function hasInteraction(page, id, state) {
  return waitFor(`${id} ${state}`, async () => {
    const s = await sdkOk(page, 'getInteractionsState');
    return s.interactions.some((i) => i.interactionId === id && (!state || i.state === state));
  });
}

test('each chat keeps its own draft in the shared chat input', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  const input = w.getByTestId('chat-input');
  await env.setReady(alice);
  const carol = await env.chatPage();
  const one = await startChat(carol, 'Carol Chen');
  await hasInteraction(alice, one, 'delivery_pending');
  await sdkOk(alice, 'acceptInteraction', one);
  await hasInteraction(alice, one, 'delivered');
  const dan = await env.chatPage();
  const two = await startChat(dan, 'Dan Dole');
  await hasInteraction(alice, two, 'delivery_pending');
  await sdkOk(alice, 'acceptInteraction', two);
  await hasInteraction(alice, two, 'delivered');

  await sdkOk(alice, 'switchActiveInteraction', one);
  await input.fill('Draft for Carol');
  await sdkOk(alice, 'switchActiveInteraction', two);
  await waitFor('the input empty for Dan', async () => (await input.inputValue()) === '');
  // A suggestion for Dan's chat, made while it is active, stays Dan's.
  await sdkOk(alice, 'suggestChatMessage', 'Suggested for Dan', true);
  await sdkOk(alice, 'switchActiveInteraction', one);
  await waitFor('Carol\'s draft back', async () => (await input.inputValue()) === 'Draft for Carol');
  await sdkOk(alice, 'switchActiveInteraction', two);
  await waitFor('Dan\'s suggestion back', async () => (await input.inputValue()) === 'Suggested for Dan');
  // Sending Dan's message clears Dan's draft only.
  await input.press('Enter');
  await waitFor('Dan got the message', async () => (await dan.getByTestId('chat-conversation').textContent()).includes('Suggested for Dan'));
  await waitFor('the input cleared', async () => (await input.inputValue()) === '');
  await sdkOk(alice, 'switchActiveInteraction', one);
  await waitFor('Carol\'s draft kept', async () => (await input.inputValue()) === 'Draft for Carol');
  assert.ok(!(await carol.getByTestId('chat-conversation').textContent()).includes('Suggested for Dan'));
}));
