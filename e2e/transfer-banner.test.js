// The demo CRM's "Transferred by …" banner belongs to the interaction it was for: it is
// hidden when another interaction's case is shown, back when its own is active again, and
// gone for good when its interaction is removed, so it never shows on an unrelated chat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitText, waitFor, sdkOk } from './helpers.js';

async function startChat(chat, name) {
  await chat.getByTestId('chat-name').fill(name);
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  return waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
}

/** Waits until `agent` has interaction `id` in the state `state`. */
function hasInteraction(page, id, state) {
  return waitFor(`${id} ${state}`, async () => {
    const s = await sdkOk(page, 'getInteractionsState');
    return s.interactions.some((i) => i.interactionId === id && (!state || i.state === state));
  });
}

async function bannerHidden(page) {
  await waitFor('the banner hidden', () => page.getByTestId('transfer-banner').isHidden());
}

test('a transfer banner stays with its interaction and never comes back on another chat', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  const banner = bob.getByTestId('transfer-banner');
  await env.setReady(alice);
  const first = await env.chatPage();
  const one = await startChat(first, 'Carol Chen');
  await hasInteraction(alice, one);
  await sdkOk(alice, 'acceptInteraction', one);
  await sdkOk(alice, 'setAgentState', 'not_ready');
  await env.setReady(bob);
  await sdkOk(alice, 'blindTransfer', 'bob', undefined, one);
  await waitText(banner, 'Transferred by Alice Adams (blind)');
  assert.equal(await banner.getAttribute('data-interaction-id'), one);
  await hasInteraction(bob, one);
  await sdkOk(bob, 'acceptInteraction', one);

  // An unrelated chat is offered to bob: his CRM shows its case, without the banner.
  const second = await env.chatPage();
  const two = await startChat(second, 'Dan Dole');
  await hasInteraction(bob, two, 'delivery_pending');
  await bannerHidden(bob);
  await sdkOk(bob, 'acceptInteraction', two);
  await hasInteraction(bob, two, 'delivered');
  assert.ok(await banner.isHidden(), 'still hidden once the new chat is active');

  // Back to the transferred chat: its banner is back.
  await sdkOk(bob, 'switchActiveInteraction', one);
  await waitFor('the banner shown again', () => banner.isVisible());
  assert.match(await banner.textContent(), /Transferred by Alice Adams/);

  // The transferred chat ends and goes: its banner goes with it, for good.
  await sdkOk(bob, 'completeInteraction', one);
  await waitFor('the transferred chat removed', async () =>
    !(await sdkOk(bob, 'getInteractionsState')).interactions.some((i) => i.interactionId === one));
  await bannerHidden(bob);
  await sdkOk(bob, 'switchActiveInteraction', two);
  await env.setReady(bob);
  const third = await env.chatPage();
  const three = await startChat(third, 'Erin Egan');
  await hasInteraction(bob, three, 'delivery_pending');
  await sdkOk(bob, 'acceptInteraction', three);
  await hasInteraction(bob, three, 'delivered');
  assert.ok(await banner.isHidden(), 'no stale banner on a new chat');
  assert.equal(await banner.textContent(), '');
}));
