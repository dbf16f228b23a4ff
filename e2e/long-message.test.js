// An agent's over-long chat message: the widget says plainly that it is too long, keeps the
// text, sends nothing, and the next send works. A frame the widget does send over the
// socket's limit closes it (1009); the widget reconnects and the next send works too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitText, waitFor, sdk, sdkOk, widget } from './helpers.js';

async function startChat(chat, name) {
  await chat.getByTestId('chat-name').fill(name);
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  return waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
}

/** alice's CRM with a connected chat from a customer; resolves {alice, chat, w, id}. */
async function aliceOnAChat(env) {
  const alice = await env.agentPage('alice');
  await env.setReady(alice);
  const chat = await env.chatPage();
  const id = await startChat(chat, 'Carol Chen');
  await waitFor('alice is offered the chat', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'Alice Adams');
  return { alice, chat, w: widget(alice), id };
}

test('a 300k-character agent message is refused with plain words, kept, and the next send works', (t) => withBaton(t, async (env) => {
  const { chat, w } = await aliceOnAChat(env);
  const long = 'x'.repeat(300000);
  await w.getByTestId('chat-input').fill(long);
  await w.getByTestId('chat-send').click();
  const notice = await waitText(w.getByTestId('notice'), /too long/);
  assert.match(notice, /8[,.\u202f ]?000 characters/);
  assert.equal((await w.getByTestId('chat-input').inputValue()).length, 300000, 'the text is kept');

  await w.getByTestId('chat-input').fill('hello after the long one');
  await w.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'hello after the long one');
  assert.equal(await w.getByTestId('chat-input').inputValue(), '');
  assert.ok(!(await chat.getByTestId('chat-transcript').textContent()).includes('xxxxxxxxxx'), 'the long one never reached the customer');
}));

test('a frame over twice the socket limit closes it; the widget says why, reconnects, and the next send works', (t) => withBaton(t, async (env) => {
  const { alice, chat, w, id } = await aliceOnAChat(env);
  // The CRM asks for a 600 kB message (300k two-byte characters): the widget passes host
  // requests through, and the server closes the socket (1009) rather than read it.
  const r = await sdk(alice, 'sendChatMessage', 'é'.repeat(300000), id);
  assert.equal(r.status, 'error');
  assert.equal(r.error.code, 21, JSON.stringify(r.error));
  assert.equal(r.error.name, 'payload_too_large');
  assert.match(r.error.message, /too large for the connection/, 'the socket was closed, not answered');

  // The widget reconnects on its own; the next send from its input reaches the customer.
  await waitFor('the widget is connected again', async () => (await sdk(alice, 'getAgentState')).status === 'success');
  await w.getByTestId('chat-input').fill('hello again');
  await w.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'hello again');
  assert.equal(await w.getByTestId('chat-input').inputValue(), '');
}));
