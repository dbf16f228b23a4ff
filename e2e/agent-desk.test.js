// The agent desk as a person uses it (issue 13): one ringing card with a timer, a missed
// offer said plainly, one state control that matches the server, plain words after every
// hand-off, a confirmation before logging out with live work, and a 360 px wide screen
// used by keyboard alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdk, sdkOk, INGRESS, PASSWORD } from './helpers.js';

/** A chat from a customer through the ingress REST API; resolves its id. */
async function chatFrom(env, name, service = 'Sales', full = false) {
  const r = await env.server.rest('POST', '/interactions', INGRESS, { channel: 'chat', service, customer: { name, email: 'c@example.com' } });
  assert.ok(r.status === 201 || r.status === 200, `chat failed: ${r.status} ${JSON.stringify(r.body)}`);
  return full ? r.body : r.body.id;
}

/** The server's view of the agent's state, through the host SDK. */
async function serverState(page) {
  const d = await sdkOk(page, 'getAgentState');
  return { state: d.state, reason: d.notReadyReason || '' };
}

/** Waits until the widget's state pill shows `state` (and `reason`) and the server agrees. */
async function stateMatches(page, state, reason = '') {
  const pill = widget(page).getByTestId('agent-state-current');
  await waitFor(`the state control shows ${state} ${reason}`, async () => {
    const [s, r] = [await pill.getAttribute('data-state'), await pill.getAttribute('data-reason')];
    return s === state && r === reason;
  });
  assert.deepEqual(await serverState(page), { state, reason }, 'the server agrees with the state control');
  const words = { ready: 'ready', ringing: 'ringing', busy: 'busy', after_call_work: 'after call work', not_ready: 'not ready' }[state];
  const shown = reason === 'missed' ? 'missed an offer' : reason;
  assert.equal(await pill.textContent(), reason ? `${words} (${shown})` : words);
  // The menu next to it offers changes only, never the current state.
  const offered = await widget(page).getByTestId('agent-state').locator('option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(!offered.includes(reason ? `${state}:${reason}` : state), `the menu offers the current state: ${offered}`);
}

/** Everything the agent can read in the widget, hidden parts left out. */
function visibleText(page) {
  return widget(page).locator('body').evaluate((b) => b.innerText);
}

/** Developer text an agent must never read. */
const DEVELOPER_TEXT = [
  /\b[a-z]+_[a-z_]+\b/,            // wire names: chat_invite, ring_timeout, not_ready …
  /\b[a-z]{2,5}_[A-Za-z0-9]{6,}/,  // opaque ids
  /service:/, /demo-crm/, /acknowledged/, /\(code \d+\)/, /\d+ B\b/, /leaveInteraction|Interaction\(/,
];
async function assertPlain(page, who) {
  const text = await visibleText(page);
  for (const re of DEVELOPER_TEXT) assert.doesNotMatch(text, re, `${who}'s widget shows developer text ${re}:\n${text}`);
  return text;
}

test('ringing shows one card with a timer, sound and title; a missed offer says so', (t) => withBaton(t, async (env) => {
  // A queue with a short ring time-out for the missed offer, and an agent who serves it.
  let r = await env.server.admin('POST', '/admin/tenants/demo/services', { name: 'Quick', channels: ['chat'], ringTimeoutMs: 1500 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await env.server.admin('POST', '/admin/tenants/demo/agents', { username: 'erin', password: PASSWORD, displayName: 'Erin Eng', services: ['Sales', 'Quick'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const erin = await env.agentPage('erin');
  const w = widget(erin);
  await w.getByTestId('agent-state').selectOption('ready');
  await stateMatches(erin, 'ready');

  // An offer from the 20 s Sales queue: exactly one card, one Accept, a timer that moves.
  const mia = await chatFrom(env, 'Mia Moss', 'Sales', true);
  await w.getByTestId('incoming').waitFor();
  assert.equal(await w.getByTestId('incoming').count(), 1);
  assert.equal(await w.getByRole('button', { name: 'Accept' }).count(), 1, 'Accept is shown once');
  assert.equal(await w.getByRole('button', { name: 'Reject' }).count(), 1, 'Reject is shown once');
  await waitText(w.getByTestId('incoming-customer'), 'Mia Moss');
  const timer = w.getByTestId('ring-countdown');
  // The server says when the offer rings out (InteractionData.ringDeadline): a countdown.
  const first = await waitText(timer, /^Rings out in 0:(1\d|20)$/);
  await waitFor('the ring timer counts down', async () => {
    const now = await timer.textContent();
    return now !== first && now.localeCompare(first) < 0;
  });
  const seen = await erin.frameLocator('iframe').first().locator('body').evaluate(() => ({
    beeps: window.__batonWidget.state.beeps, title: document.title }));
  assert.ok(seen.beeps >= 1, 'a ring sound played');
  assert.match(seen.title, /^\(Ringing\) Mia Moss/);
  await stateMatches(erin, 'ringing');
  // The customer gives up while it rings: the card goes, and the agent is told why.
  await env.server.rest('POST', `/interactions/${mia.id}/hangup`, mia.customerToken);
  await w.getByTestId('incoming').waitFor({ state: 'hidden' });
  await waitText(w.getByTestId('notice-text'), 'The chat from Mia Moss stopped ringing before you answered.');
  await waitFor('the title is back', async () => !(await erin.frameLocator('iframe').first().locator('body').evaluate(() => document.title)).includes('Ringing'));

  // An offer nobody answers rings out: the agent reads what happened and what it did.
  await stateMatches(erin, 'ready');
  await chatFrom(env, 'Noah Nash', 'Quick');
  await w.getByTestId('incoming').waitFor();
  await waitText(w.getByTestId('notice-text'), 'You missed a chat from Noah Nash; you are now Not ready', 20000);
  await w.getByTestId('incoming').waitFor({ state: 'hidden' });
  await stateMatches(erin, 'not_ready', 'missed');
  await assertPlain(erin, 'erin');
  // Choosing Ready clears the notice (the waiting chat is then offered again).
  await w.getByTestId('agent-state').selectOption('ready');
  await w.getByTestId('notice').waitFor({ state: 'hidden' });
}));

test('the state control matches the server after every transition', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  const first = await serverState(alice);
  await stateMatches(alice, first.state, first.reason);
  await w.getByTestId('agent-state').selectOption('ready');
  await stateMatches(alice, 'ready');

  const olga = await chatFrom(env, 'Olga Ortiz', 'Sales', true);
  const id = olga.id;
  await w.getByTestId('incoming').waitFor();
  await stateMatches(alice, 'ringing');
  await w.getByTestId('incoming-accept').click();
  await waitText(w.getByTestId('active-state'), 'connected');
  await stateMatches(alice, 'busy');

  // The customer leaves: the chat is in wrap-up, with a timer, and the control still agrees.
  await env.server.rest('POST', `/interactions/${id}/hangup`, olga.customerToken);
  await waitText(w.getByTestId('active-state'), 'wrapping up');
  await waitText(w.getByTestId('wrapup-timer'), /^Wrap-up: \d+:\d\d/);
  const wrap = await serverState(alice);
  await stateMatches(alice, wrap.state, wrap.reason);

  await w.getByTestId('complete').click();
  // Completing leaves the agent in after call work or back at ready; either way the
  // control says what the server says. Then the agent chooses after call work by hand.
  await waitFor('the chat is wrapped up or gone', async () => {
    const st = await sdk(alice, 'getInteractionsState');
    const ix = st.data.interactions.find((i) => i.interactionId === id);
    return !ix || ['wrap_up', 'completed'].includes(ix.baton.state);
  });
  const after = await serverState(alice);
  await stateMatches(alice, after.state, after.reason);
  if (after.state !== 'after_call_work') {
    await w.getByTestId('agent-state').selectOption('after_call_work');
    await stateMatches(alice, 'after_call_work');
  }
  await waitText(w.getByTestId('state-timer'), /^for \d+:\d\d$/);
  await w.getByTestId('agent-state').selectOption('ready');
  await stateMatches(alice, 'ready');
  await w.getByTestId('agent-state').selectOption('not_ready:Lunch');
  await stateMatches(alice, 'not_ready', 'Lunch');
  await waitText(w.getByTestId('agent-state-current'), 'not ready (Lunch)');
}));

test('no developer text after a blind transfer, a chat invite and a conference', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  const dave = await env.agentPage('dave');
  for (const p of [alice, bob, dave]) await env.setReady(p);
  const [wa, wb, wd] = [alice, bob, dave].map(widget);

  // Blind transfer of a chat, alice → bob.
  const chat = await chatFrom(env, 'Pia Park');
  const ringer = await waitFor('someone rings', async () => {
    for (const [p, w] of [[alice, wa], [bob, wb], [dave, wd]]) if (await w.getByTestId('incoming').count()) return [p, w];
    return null;
  });
  const [first, wf] = ringer;
  await wf.getByTestId('incoming-accept').click();
  await waitText(wf.getByTestId('active-state'), 'connected');
  const others = [[alice, wa, 'alice'], [bob, wb, 'bob'], [dave, wd, 'dave']].filter(([p]) => p !== first);
  const [[second, ws, secondName], [third, wt, thirdName]] = others;
  await env.setReady(second);
  await waitFor(`${secondName} is a choosable target`, async () => (await wf.getByTestId('transfer-target').locator(`option[value="${secondName}"]:not([disabled])`).count()) === 1);
  await wf.getByTestId('transfer-target').selectOption(secondName);
  await wf.getByTestId('blind-transfer').click();
  await ws.getByTestId('incoming').waitFor();
  await waitText(ws.getByTestId('incoming-from'), 'Transferred by');
  await assertPlain(second, secondName);
  await ws.getByTestId('incoming-accept').click();
  await waitText(ws.getByTestId('active-state'), 'connected');
  await waitText(wf.getByTestId('transfer-status-item'), 'accepted');
  const firstText = await assertPlain(first, 'the transferring agent');
  assert.match(firstText, /Transfer to \S+ \S+ \(Pia Park\): \S+ \S+ accepted/);

  // Chat invite: the second agent invites the third.
  await env.setReady(third);
  await waitFor(`${thirdName} is a choosable target`, async () => (await ws.getByTestId('transfer-target').locator(`option[value="${thirdName}"]:not([disabled])`).count()) === 1);
  await ws.getByTestId('transfer-target').selectOption(thirdName);
  await ws.getByTestId('chat-invite').click();
  await wt.getByTestId('incoming').waitFor();
  await waitText(wt.getByTestId('incoming-from'), 'invites you to join this chat');
  await assertPlain(third, thirdName);
  await wt.getByTestId('incoming-accept').click();
  await waitText(wt.getByTestId('active-state'), 'connected');
  // The invited agent is "in the conference"; Remove is offered on them, never on the primary.
  await waitFor('the invited agent is listed plainly', async () => /You — connected · in the conference/.test(await visibleText(third)));
  assert.equal(await wt.getByTestId('remove-party').count(), 0, 'an invited agent cannot remove the primary');
  await waitFor('the primary can remove the invited agent', async () => (await ws.getByTestId('remove-party').count()) === 1);
  await assertPlain(second, secondName);
  await assertPlain(third, thirdName);
  // A logged-out agent is listed but cannot be chosen, with the reason.
  const firstUser = [['alice', alice], ['bob', bob], ['dave', dave]].find(([, p]) => p === first)[0];
  await first.evaluate(() => window.crmApp.adApi.logout());
  await waitFor('the logged-out agent is not choosable', async () => {
    const o = ws.getByTestId('transfer-target').locator(`option[value="${firstUser}"]`);
    return (await o.count()) === 1 && (await o.isDisabled()) && /logged out/.test(await o.textContent());
  });
  await sdkOk(second, 'completeInteraction', chat).catch(() => {});

  // A voice conference: the second agent invites the third.
  await env.setReady(second);
  await env.setReady(third);
  const call = await env.voiceCall('Quinn Quade', '+1 555 0199');
  await ws.getByTestId('incoming').waitFor();
  await sdkOk(second, 'acceptInteraction', call.id);
  await waitText(ws.getByTestId('active-state'), 'connected');
  await waitFor(`${thirdName} is a choosable target`, async () => (await ws.getByTestId('transfer-target').locator(`option[value="${thirdName}"]:not([disabled])`).count()) === 1);
  await ws.getByTestId('transfer-target').selectOption(thirdName);
  await ws.getByTestId('conference-invite').click();
  await wt.getByTestId('incoming').waitFor();
  await waitText(wt.getByTestId('incoming-from'), 'invites you to a conference');
  await wt.getByTestId('incoming-accept').click();
  await waitFor('the conference shows', async () => /You — connected · in the conference/.test(await visibleText(third)));
  await waitText(ws.getByTestId('transfer-status-item').first(), 'Conference to');
  await assertPlain(second, secondName);
  await assertPlain(third, thirdName);
  // A failed action reads as words, not as a method name and a code.
  await wt.getByTestId('dial-number').fill('no-such-person');
  await wt.getByTestId('dial-call').click();
  await waitText(wt.getByTestId('notice-text'), /^Could not start the call: [a-z ;]+\.$/);
  await assertPlain(third, thirdName);
}));

test('logging out with a live chat asks first', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  await env.setReady(alice);
  await chatFrom(env, 'Rosa Reyes');
  await w.getByTestId('incoming').waitFor();
  await w.getByTestId('incoming-accept').click();
  await waitText(w.getByTestId('active-state'), 'connected');

  await w.getByTestId('logout').click();
  await waitText(w.getByTestId('logout-confirm-text'), 'Rosa Reyes (chat, connected)');
  // Escape keeps the agent logged in, with the chat.
  await w.getByTestId('logout-cancel').press('Escape');
  await w.getByTestId('logout-confirm').waitFor({ state: 'hidden' });
  assert.ok(await w.getByTestId('desk').isVisible(), 'still logged in');
  assert.equal(await w.getByTestId('interaction-item').count(), 1);

  await w.getByTestId('logout').click();
  await w.getByTestId('logout-anyway').click();
  await w.getByTestId('login-form').waitFor();
}));

test('at 360 px wide nothing scrolls sideways and the keyboard alone answers a chat', (t) => withBaton(t, async (env) => {
  const context = await env.browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  env.pages.push({ page, label: 'narrow' });
  await page.goto(`${env.server.base}/widget/?tenant=demo&username=alice`);
  const noSideScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  assert.ok(await noSideScroll(), 'the login form fits');
  await page.getByTestId('login-password').fill(PASSWORD);
  await page.getByTestId('login-password').press('Enter');
  await page.getByTestId('desk').waitFor();
  await waitFor('the state is known', async () => (await page.getByTestId('agent-state-current').getAttribute('data-state')) !== '');
  await page.getByTestId('agent-state').selectOption('ready');
  await waitFor('ready', async () => (await page.getByTestId('agent-state-current').getAttribute('data-state')) === 'ready');

  await chatFrom(env, 'Sam Sato');
  await page.getByTestId('incoming').waitFor();
  assert.ok(await noSideScroll(), 'the ringing card fits');
  // The offer takes the keyboard: Enter answers it.
  await waitFor('Accept has the focus', async () => page.evaluate(() => document.activeElement && document.activeElement.textContent === 'Accept'));
  await page.keyboard.press('Enter');
  await waitText(page.getByTestId('active-state'), 'connected');
  assert.ok(await noSideScroll(), 'the desk with a chat fits');

  // Tab reaches the chat input and Enter sends.
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate(() => document.activeElement && document.activeElement.id === 'chat-input')) break;
    await page.keyboard.press('Tab');
  }
  assert.equal(await page.evaluate(() => document.activeElement.id), 'chat-input', 'Tab reaches the chat input');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused field shows its focus');
  await page.keyboard.type('Hello from the keyboard');
  await page.keyboard.press('Enter');
  await waitText(page.getByTestId('chat-transcript'), 'Hello from the keyboard');
  assert.ok(await noSideScroll(), 'the transcript fits');
  await context.close();
}));

test('typing shows both ways: the agent reads "Customer is typing…", the customer sees the agent type', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  await env.setReady(alice);
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Tara Tan');
  await chat.getByTestId('chat-email').fill('tara@example.com');
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  await w.getByTestId('incoming').waitFor();
  await w.getByTestId('incoming-accept').click();
  await waitText(w.getByTestId('active-state'), 'connected');
  await waitText(chat.getByTestId('chat-status'), 'Alice');

  await chat.getByTestId('chat-message-input').pressSequentially('Where is my');
  await waitText(w.getByTestId('typing-indicator'), 'Customer is typing…');
  await chat.getByTestId('chat-message-input').press('Enter');
  await waitText(w.getByTestId('chat-transcript'), 'Where is my');
  await waitFor('the indicator clears with the message', async () => (await w.getByTestId('typing-indicator').textContent()) === '');

  await w.getByTestId('chat-input').pressSequentially('Let me check');
  await waitText(chat.getByTestId('chat-typing'), 'Alice Adams is typing…');
  await w.getByTestId('chat-input').press('Enter');
  await waitText(chat.getByTestId('chat-transcript'), 'Let me check');
}));
