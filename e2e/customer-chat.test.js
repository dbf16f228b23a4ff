// The customer's side of a chat: told when it ends whoever ends it (no reconnect loop,
// the saved session forgotten), told when they are queued, transferred, joined and left,
// shown the message limit before sending, and a refused send keeps its text.
// Agents act through the SDK of their demo CRM so these tests do not depend on the widget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitText, waitFor, sdkOk, PASSWORD } from './helpers.js';

/** Starts a chat as `name` on a chat page; resolves the interaction id. */
async function startChat(chat, name) {
  await chat.getByTestId('chat-name').fill(name);
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  return waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
}

/** Notices in the transcript, as `kind: text`. */
function notices(chat) {
  return chat.getByTestId('chat-notice').evaluateAll((els) => els.map((e) => `${e.dataset.kind}: ${e.textContent}`));
}

/** The page has ended the chat for good: says so, input off, session forgotten, no reconnecting. */
async function expectEnded(chat) {
  await waitFor('state completed', async () => (await chat.getByTestId('chat-status').getAttribute('data-state')) === 'completed');
  assert.match(await chat.getByTestId('chat-status').textContent(), /The chat has ended/);
  assert.ok((await notices(chat)).some((n) => n === 'ended: The chat has ended.'), 'an end notice');
  assert.ok(await chat.getByTestId('chat-message-input').isDisabled());
  assert.ok(await chat.getByTestId('chat-new').isVisible());
  const saved = await chat.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('baton.chat.')));
  assert.deepEqual(saved, [], 'the saved session is cleared');
  // A reload starts afresh instead of reconnecting into the ended chat.
  await chat.reload();
  await chat.getByTestId('chat-start-form').waitFor();
  assert.ok(await chat.getByTestId('chat-conversation').isHidden());
}

test('the customer sees the end when the agent completes the chat', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  await env.setReady(alice);
  const chat = await env.chatPage();
  const id = await startChat(chat, 'Carol Chen');
  await waitFor('alice is offered the chat', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'You are chatting with Alice Adams');

  await sdkOk(alice, 'completeInteraction', id);
  await expectEnded(chat);
}));

test('the customer is told of a transfer, who joined and left, and the end', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  await env.setReady(alice);
  const chat = await env.chatPage();
  const id = await startChat(chat, 'Dan Dole');
  await waitFor('alice is offered the chat', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'Alice Adams');

  await env.setReady(bob);
  await sdkOk(alice, 'blindTransfer', 'bob', { caseId: 'C-7' }, id);
  await waitFor('a transfer notice', async () => (await notices(chat)).includes('transferred: You are being transferred to another agent.'));
  await waitFor('bob is offered the chat', async () => (await sdkOk(bob, 'getInteractionsState')).interactions.length);
  await sdkOk(bob, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'You are chatting with Bob Brown.');
  const seen = await notices(chat);
  assert.ok(seen.includes('left: Alice Adams left the chat.'), seen.join('\n'));
  assert.ok(seen.includes('joined: Bob Brown joined the chat.'), seen.join('\n'));

  await sdkOk(bob, 'completeInteraction', id);
  await expectEnded(chat);
}));

test('after a ring-out the customer is queued with no agent available, then served and ended', (t) => withBaton(t, async (env) => {
  const { server } = env;
  // A tenant whose offers ring for 2 s, so alice can let one ring out.
  assert.equal((await server.admin('POST', '/admin/tenants', { name: 'quick' })).status, 201);
  assert.equal((await server.admin('POST', '/admin/tenants/quick/services', { name: 'Help', channels: ['chat'], ringTimeoutMs: 2000 })).status, 201);
  for (const [username, displayName] of [['alice', 'Alice Adams'], ['bob', 'Bob Brown']]) {
    const r = await server.admin('POST', '/admin/tenants/quick/agents', { username, password: PASSWORD, displayName, services: ['Help'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  await server.admin('POST', '/admin/tenants/quick/integrations', { integrationKey: 'demo-crm', name: 'Demo CRM', allowedOrigins: [server.base] });
  const ingress = (await server.admin('POST', '/admin/tenants/quick/ingress-tokens', {})).body.token;

  const agent = async (username) => {
    const page = await env.newPage(`${server.base}/demo-crm/?agent=${username}&tenant=quick`, `crm-${username}`);
    await env.login(page);
    await waitText(page.getByTestId('sdk-status'), 'Connected as');
    return page;
  };
  const alice = await agent('alice');
  const bob = await agent('bob');
  await env.setReady(alice);
  const chat = await env.newPage(`${server.base}/chat/?ingress=${ingress}`, 'chat');
  const id = await startChat(chat, 'Eve Ede');

  // Nobody answers: the offer rings out, alice is set not ready, the customer is told.
  await waitFor('a queued notice saying no agent is available', async () =>
    (await notices(chat)).some((n) => n.startsWith('no-agent:') || (n.startsWith('queued:') && n.includes('No agent is available'))), 15000);
  assert.match(await chat.getByTestId('chat-status').textContent(), /number 1 in the queue for Help\. No agent is available/);

  await env.setReady(bob);
  await waitFor('bob is offered the chat', async () => (await sdkOk(bob, 'getInteractionsState')).interactions.length);
  await sdkOk(bob, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'You are chatting with Bob Brown.');
  await sdkOk(bob, 'completeInteraction', id);
  await expectEnded(chat);
}));

test('the limit shows before sending, and a refused send keeps its text and says why', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  await env.setReady(alice);
  const chat = await env.chatPage();
  // The page learns the limit from the server; this proxy tells it a larger one, so the
  // server itself refuses the text and the page must cope with the refusal.
  let lie = false;
  let page = null;   // the page's side of the proxied socket
  const sent = [];   // what the page sent
  await chat.routeWebSocket(/\/ws\/customer/, (ws) => {
    page = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => { sent.push(m); server.send(m); });
    server.onMessage((m) => {
      if (lie && typeof m === 'string' && m.includes('"limits"')) ws.send(m.replace('8000', '100000'));
      else ws.send(m);
    });
  });
  const id = await startChat(chat, 'Fay Fox');
  await waitFor('alice is offered the chat', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'Alice Adams');

  // Typing: the page tells the server when the customer types, and shows the agent's.
  const input = chat.getByTestId('chat-message-input');
  await input.pressSequentially('h');
  await waitFor('a typing op', () => sent.some((m) => JSON.parse(m).op === 'typing' && JSON.parse(m).args[0] === true));
  await input.fill('');
  page.send(JSON.stringify({ event: 'typing', args: [{ name: 'Alice Adams', typing: true }] }));
  await waitText(chat.getByTestId('chat-typing'), 'Alice Adams is typing…');
  page.send(JSON.stringify({ event: 'typing', args: [{ name: 'Alice Adams', typing: false }] }));
  await waitFor('the typing line cleared', () => chat.getByTestId('chat-typing').isHidden());

  await waitText(chat.getByTestId('chat-counter'), '0 / 8000');
  await input.fill('x'.repeat(8001));
  await waitText(chat.getByTestId('chat-counter'), 'Too long: 8001 of at most 8000 characters');
  assert.ok(await chat.getByTestId('chat-send').isDisabled(), 'send is off while too long');
  await input.fill('hello');
  await waitText(chat.getByTestId('chat-counter'), '5 / 8000');
  await chat.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'hello');
  await waitFor('the input is cleared once the server took it', async () => (await input.inputValue()) === '');

  // Reconnect through the lying proxy, then send what the server refuses.
  lie = true;
  await chat.reload();
  await waitText(chat.getByTestId('chat-counter'), '0 / 100000');
  const long = 'y'.repeat(9000);
  await input.fill(long);
  await chat.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-error'), 'Not sent: message needs a text of 1 to 8000 characters');
  assert.equal(await input.inputValue(), long, 'the text stays in the box');
}));
