// Issue 12: the public chat link carries a short-lived signed grant, not the ingress token;
// a customer starts a chat with it and an agent takes it. A forged grant gets a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, INGRESS } from './helpers.js';

test('a customer chats through a grant link; the page never holds the ingress token', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const aw = widget(alice);
  await aw.getByTestId('agent-state').selectOption('ready');
  await waitText(aw.getByTestId('agent-state-current'), 'ready');

  const r = await env.server.rest('POST', '/chat-grants', INGRESS, { service: 'Sales' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(!r.body.grant.includes(INGRESS));
  const chat = await env.newPage(`${env.server.base}${r.body.chatPath}`, 'chat');
  const sent = [];
  chat.on('request', (req) => sent.push(`${req.url()} ${req.headers().authorization || ''}`));
  await chat.getByTestId('chat-name').fill('Gina Grant');
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  await aw.getByTestId('incoming').waitFor();
  await aw.getByTestId('incoming-accept').click();
  await waitText(chat.getByTestId('chat-status'), 'Alice');
  assert.ok(sent.length > 0);
  for (const s of sent) assert.ok(!s.includes(INGRESS), `the page sent the ingress token: ${s}`);

  // A grant with a changed character is refused, and the page says so.
  const forged = r.body.grant.slice(0, -2) + (r.body.grant.endsWith('AA') ? 'BB' : 'AA');
  const bad = await env.newPage(`${env.server.base}/chat/?grant=${forged}`, 'forged');
  await waitText(bad.locator('#error'), 'not valid');
}));
