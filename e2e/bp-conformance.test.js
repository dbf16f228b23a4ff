// A host page written from Bright Pattern's API definition (e2e/pages/bp-conformance.*),
// served from its own origin under `script-src 'self' <server>`, drives the SDK the way a
// Bright Pattern integration does, against a real `baton serve`.
//
// Tests marked "merged server" use the wire ops of /work/wire-contract.md (startCall,
// getDispositionsList, …); before the server side is merged those answer 7 "unknown op".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitFor, waitText, PASSWORD } from './helpers.js';
import { bpHost, call, callOk, login, eventsOf } from './bp-host.js';

/** Bright Pattern's OperationResult: success with `data`, or error with numeric code and a name. */
function assertResult(method, r) {
  assert.ok(r && !r.threw, `${method} threw: ${JSON.stringify(r)}`);
  if (r.status === 'success') assert.ok('data' in r, `${method}: success without data`);
  else {
    assert.equal(r.status, 'error', `${method}: ${JSON.stringify(r)}`);
    assert.equal(typeof r.error.code, 'number', `${method}: ${JSON.stringify(r)}`);
    assert.equal(typeof r.error.name, 'string', `${method}: ${JSON.stringify(r)}`);
  }
}

const INTERACTION_STATES = ['unknown', 'queued', 'ivr', 'wrap_up', 'wrap_up_hold', 'delivered', 'delivery_pending', 'hold', 'completed'];
function assertInteraction(ix) {
  assert.equal(typeof ix.interactionId, 'string');
  assert.ok(['voice', 'chat', 'email'].includes(ix.type), ix.type);
  assert.ok(INTERACTION_STATES.includes(ix.state), ix.state);
  for (const k of ['callParties', 'chatParties']) assert.ok(Array.isArray(ix[k]), k);
  for (const k of ['callMuted', 'callRecording', 'internal']) assert.equal(typeof ix[k], 'boolean', k);
  assert.equal(typeof ix.attachedData, 'object');
  for (const v of Object.values(ix.attachedData)) assert.equal(typeof v, 'string');
  assert.equal(typeof ix.subject, 'string');
  assert.ok(Array.isArray(ix.associatedObjects.list) && Array.isArray(ix.associatedObjects.selected));
  assert.equal(typeof ix.startTime, 'number');
}

test('a Bright Pattern host: getLoginState answers at once, login() logs in, every method answers an OperationResult', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-alice');
  // Before the login: at once, without waiting for the widget or the server.
  assert.deepEqual(await call(page, 'getLoginState'), { status: 'success', data: { isLoggedIn: false } });
  await login(page, 'alice');
  const [loginState] = (await waitFor('ON_LOGIN', () => eventsOf(page, 'ON_LOGIN').then((l) => l[0])));
  assert.equal(loginState.isLoggedIn, true);
  assert.equal(loginState.username, 'alice');
  assert.equal(typeof loginState.agentId, 'string');
  const state = await callOk(page, 'getLoginState');
  assert.equal(state.isLoggedIn, true);
  assert.equal(state.agentId, loginState.agentId);
  assert.equal(typeof state.sessionId, 'string');

  // The browser is the phone: ready once logged in, told after ON_LOGIN.
  await waitFor('ON_SOFTPHONE_STATUS_CHANGE', async () => (await eventsOf(page, 'ON_SOFTPHONE_STATUS_CHANGE')).length > 0);
  assert.deepEqual(await eventsOf(page, 'ON_SOFTPHONE_STATUS_CHANGE'), [[true]]);
  const order = () => page.evaluate(() => window.conf.events.map((e) => e.event)
    .filter((n) => n === 'ON_LOGIN' || n === 'ON_LOGOUT' || n === 'ON_SOFTPHONE_STATUS_CHANGE'));
  assert.deepEqual(await order(), ['ON_LOGIN', 'ON_SOFTPHONE_STATUS_CHANGE']);

  // The widget sits in the side panel at a usable width.
  const width = await page.locator('iframe[data-testid="baton-widget-frame"]').evaluate((f) => f.getBoundingClientRect().width);
  assert.ok(width >= 340, `the widget is ${width} px wide`);

  const agentState = await callOk(page, 'getAgentState');
  assert.equal(typeof agentState.reservedForIncomingInteraction, 'boolean');
  await callOk(page, 'setAgentState', 'ready');
  await waitFor('ON_AGENT_STATE_CHANGE(state)', async () => (await eventsOf(page, 'ON_AGENT_STATE_CHANGE')).some((a) => a[0] === 'ready'));
  // `(state, notReadyReason?)`: no second argument without a reason.
  assert.deepEqual((await eventsOf(page, 'ON_AGENT_STATE_CHANGE')).find((a) => a[0] === 'ready'), ['ready']);
  const teams = await callOk(page, 'getTeams');
  const all = teams.find((x) => x.id === 'all');
  assert.ok(all, JSON.stringify(teams));
  assert.equal(typeof all.displayName, 'string');
  assert.equal(typeof all.isSupervised, 'boolean');
  const users = await callOk(page, 'getTeamMembers', 'all');
  const bob = users.find((u) => u.firstName === 'Bob');
  assert.deepEqual([bob.lastName, bob.teamId, typeof bob.id, bob.state], ['Brown', 'all', 'string', 'offline']);
  const services = await callOk(page, 'getServicesList');
  assert.equal(services[0].name, 'Sales');
  assert.equal(typeof services[0].useDispositions, 'boolean');
  assert.equal(typeof services[0].requireDisposition, 'boolean');
  const st = await callOk(page, 'getInteractionsState');
  assert.deepEqual(st, { activeInteractionId: null, interactions: [] });

  // The softphone is the browser; mute needs a call (docs/voice.md).
  assert.deepEqual(await callOk(page, 'getPhoneDevicesList'), ['phone_type_browser']);
  assert.deepEqual(await callOk(page, 'getPhoneDevice'), { type: 'phone_type_browser' });
  await callOk(page, 'setPhoneDevice', { type: 'phone_type_browser' });
  assert.equal((await call(page, 'setPhoneDevice', { type: 'phone_type_external', phone: '+1 555' })).error.code, 3);
  assert.equal((await call(page, 'setCallMute', true)).error.code, 13, 'no interaction to mute');
  assert.equal((await call(page, 'sendDtmf', '1')).error.code, 13, 'no interaction for DTMF');
  assert.equal((await call(page, 'sendDtmf', 'x')).error.code, 3, 'not a DTMF digit');

  // Call recording needs a call: error 13 without one.
  assert.equal((await call(page, 'setCallRecording', true)).error.code, 13, 'no interaction to record');
  assert.equal((await call(page, 'setCallRecordingMute', true)).error.code, 13, 'no interaction to record');
  // Screen recording is not there: error 14, never a throw.
  for (const [m, args] of [['setScreenRecordingMute', [true]], ['getScreenRecordingState', []]]) {
    const r = await call(page, m, ...args);
    assert.equal(r.status, 'error', m);
    assert.equal(r.error.code, 14, m);
    assert.equal(r.error.name, 'api_method_not_implemented', m);
    assert.match(r.error.message, /voice media/, m);
  }

  // Every other method, called as an integration would: each answers an OperationResult.
  const calls = [
    ['getService'], ['setService', null], ['getDIDNumbersList'], ['getDIDNumber'], ['setDIDNumber', null],
    ['getDispositionsList', {}], ['setDisposition', 'x'], ['setRescheduleWindow', { numberToDial: '1', fromTime: 'a', untilTime: 'b' }],
    ['addNote', 'n'], ['updateNote', 'n'], ['replaceNote', 'n'], ['getConfig'], ['setVariable', 'k', 'v'],
    ['getVariables', ['k']], ['addInteractionAssociatedObject', { id: '1', type: 't', displayName: 'd', displayType: 'T', customFields: {} }],
    ['setInteractionActiveScreen', { a: 1 }], ['setCallHold', true], ['sendChatMessage', 'hi'], ['suggestChatMessage', 'hi', true],
    ['getAgentNotReadyReasons'], ['activatePage'], ['setDialCandidates', []], ['acceptInteraction'], ['rejectInteraction', ''],
    ['leaveInteraction', ''], ['completeInteraction'], ['leaveAndCompleteInteraction'], ['switchActiveInteraction', 'nope'],
    ['consultCall', 'bob'], ['blindTransfer', 'bob'], ['transfer'], ['inviteToCallConference', 'bob'],
    ['removeFromCallConference', 'x'], ['destroyCallConference'], ['mergeAllCallsIntoConference'],
    ['inviteToChatConference', 'x'], ['removeFromChatConference', 'x'], ['startEmail', 'a@b.c'], ['openLogin'],
    ['setWidgetMinimized', true], ['setWidgetMinimized', false],
  ];
  for (const [m, ...args] of calls) assertResult(m, await call(page, m, ...args));
  // No interaction: the "" id means the active one, and there is none.
  const r = await call(page, 'leaveInteraction', '');
  assert.equal(r.status, 'error');
  assert.ok([13, 15].includes(r.error.code), JSON.stringify(r));
  assert.deepEqual(await eventsOf(page, 'ON_WIDGET_MINIMIZED_CHANGE'), [[true], [false]]);
  // Dial candidates become suggestions of the widget's Dial input.
  assertResult('setDialCandidates', await call(page, 'setDialCandidates', [{ id: 'c1', displayName: 'Carol Chen',
    phones: [{ phone: '+1 555 0101', type: 'mobile' }], associatedObjects: [] }]));
  await waitFor('the dial suggestion', async () =>
    (await widget(page).locator('#dial-candidates option').getAttribute('value').catch(() => null)) === '+1 555 0101');

  // The message logger saw Bright Pattern's names, requests and responses.
  const names = await page.evaluate(() => window.conf.messages.map((m) => m.name));
  for (const n of ['GET_LOGIN_STATE', 'GET_LOGIN_STATE_RESPONSE', 'LOGIN', 'LOGIN_RESPONSE', 'ON_LOGIN', 'GET_DID_LIST',
    'SET_RESCHEDULE_RESPONSE', 'SET_CALL_MUTE_RESPONSE', 'ON_AGENT_STATE_CHANGE', 'GET_TEAM_MEMBERS_RESPONSE']) {
    assert.ok(names.includes(n), `logged ${n}`);
  }
  const loginMsg = await page.evaluate(() => window.conf.messages.find((m) => m.name === 'LOGIN'));
  assert.equal(loginMsg.data[0].password, '***', 'the password is not logged');
  assert.equal(loginMsg.data[0].username, 'alice');

  await callOk(page, 'logout');
  await waitFor('ON_LOGOUT()', async () => (await eventsOf(page, 'ON_LOGOUT')).some((a) => a.length === 0));
  // The phone goes with the agent: [false] before ON_LOGOUT.
  assert.deepEqual(await eventsOf(page, 'ON_SOFTPHONE_STATUS_CHANGE'), [[true], [false, 'logged out']]);
  assert.deepEqual(await order(), ['ON_LOGIN', 'ON_SOFTPHONE_STATUS_CHANGE', 'ON_SOFTPHONE_STATUS_CHANGE', 'ON_LOGOUT']);
}));

test('standalone: login() through the API with a hidden widget; a wrong password answers an error', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-standalone', '&standalone=1');
  const bad = await call(page, 'login', { username: 'alice', password: 'wrong' });
  assert.equal(bad.status, 'error');
  assert.equal(bad.error.code, 109);
  await login(page, 'alice');
  const frame = page.locator('iframe[data-testid="baton-widget-frame"]');
  assert.equal(await frame.isVisible(), false, 'the standalone widget stays hidden');
  await callOk(page, 'setAgentState', 'ready');
  const { id } = await env.voiceCall('Carol Chen', '+1 555 0101');
  const [ix] = await waitFor('ON_NEW_INTERACTION', () => eventsOf(page, 'ON_NEW_INTERACTION').then((l) => l[0]));
  assertInteraction(ix);
  assert.equal(ix.interactionId, id);
  assert.equal(ix.state, 'delivery_pending');
  assert.equal(ix.type, 'voice');
  assert.equal(ix.phoneNumber, '+1 555 0101');
  assert.equal(ix.service, 'Sales');
  // "" and undefined mean the active interaction.
  await callOk(page, 'acceptInteraction', '');
  await waitFor('delivered', async () => (await eventsOf(page, 'ON_INTERACTION_STATE_CHANGE')).some((a) => a[0].state === 'delivered'));
  await callOk(page, 'setCallHold', true, '');
  await waitFor('hold', async () => (await eventsOf(page, 'ON_INTERACTION_STATE_CHANGE')).some((a) => a[0].state === 'hold'));
  await callOk(page, 'setCallHold', false);
  await callOk(page, 'setVariable', 'caseId', 'C-9', '');
  assert.deepEqual(await callOk(page, 'getVariables', ['caseId']), { caseId: 'C-9' });
  await callOk(page, 'completeInteraction', '');
  const [removed] = await waitFor('ON_INTERACTION_REMOVED(interaction)', () => eventsOf(page, 'ON_INTERACTION_REMOVED').then((l) => l[0]));
  assert.equal(removed.interactionId, id);
  assert.equal(removed.type, 'voice');
  assert.equal(removed.state, 'completed');
}));

test('before a login and after a failed one, methods answer not_logged_in at once; a call made with the login waits for it', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-nologin');
  const notLoggedIn = { code: 2, name: 'not_logged_in' };
  for (const [method, args] of [['getAgentState', []], ['setAgentState', ['ready']], ['getTeams', []], ['getInteractionsState', []], ['logout', []]]) {
    const r = await call(page, method, ...args);
    assert.equal(r.status, 'error', `${method}: ${JSON.stringify(r)}`);
    assert.deepEqual({ code: r.error.code, name: r.error.name }, notLoggedIn, `${method}: ${JSON.stringify(r)}`);
  }
  // A call made together with a failing login fails as not logged in, after the login's error.
  const [bad, afterBad] = await page.evaluate(() => Promise.all([
    window.conf.api.login({ username: 'alice', password: 'wrong' }), window.conf.api.getAgentState()]));
  assert.equal(bad.error.code, 109, JSON.stringify(bad));
  assert.deepEqual({ code: afterBad.error.code, name: afterBad.error.name }, notLoggedIn, JSON.stringify(afterBad));
  // A call made together with a good login is answered once the agent is logged in.
  const [good, state] = await page.evaluate((password) => Promise.all([
    window.conf.api.login({ username: 'alice', password }), window.conf.api.getAgentState()]), PASSWORD);
  assert.deepEqual(good, { status: 'success', data: null });
  assert.equal(state.status, 'success', JSON.stringify(state));
  assert.equal(typeof state.data.reservedForIncomingInteraction, 'boolean');
  // getLoginState has the extras the table promises, like ON_LOGIN.
  const login = await callOk(page, 'getLoginState');
  assert.deepEqual([login.isLoggedIn, login.username, login.displayName, login.tenant], [true, 'alice', 'Alice Adams', 'demo']);
  await callOk(page, 'logout');
  const out = await call(page, 'getAgentState');
  assert.deepEqual({ code: out.error.code, name: out.error.name }, notLoggedIn, JSON.stringify(out));
}));

test('standalone: openLogin() shows the hidden widget\'s login form; the agent logs in there', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-openlogin', '&standalone=1');
  const frame = page.locator('iframe[data-testid="baton-widget-frame"]');
  assert.equal(await frame.isVisible(), false);
  assert.deepEqual(await call(page, 'openLogin'), { status: 'success', data: null });
  assert.equal(await frame.isVisible(), true);
  const w = widget(page);
  await w.getByTestId('login-tenant').fill('demo');
  await w.getByTestId('login-username').fill('bob');
  await w.getByTestId('login-password').fill(PASSWORD);
  await w.getByTestId('login-submit').click();
  const [state] = await waitFor('ON_LOGIN', () => eventsOf(page, 'ON_LOGIN').then((l) => l[0]));
  assert.equal(state.username, 'bob');
  assert.equal((await callOk(page, 'getLoginState')).isLoggedIn, true);
}));

/** Two or three logged-in conformance pages and a voice call accepted by the first. */
async function voiceSetup(t, env, names) {
  const open = await bpHost(t, env);
  const pages = [];
  for (const n of names) { const p = await open(`bp-${n}`); await login(p, n); await callOk(p, 'setAgentState', 'ready'); pages.push(p); }
  for (const p of pages.slice(1)) await callOk(p, 'setAgentState', 'not_ready');
  const { id } = await env.voiceCall('Dan Okafor', '+1 555 0102');
  await waitFor('the call rings', () => eventsOf(pages[0], 'ON_NEW_INTERACTION').then((l) => l.length));
  await callOk(pages[0], 'acceptInteraction', id);
  for (const p of pages.slice(1)) await callOk(p, 'setAgentState', 'ready');
  return { pages, id };
}

async function loadOn(page, kind) {
  const l = await waitFor(`ON_LOAD_TRANSFER_DATA (${kind})`, async () =>
    (await eventsOf(page, 'ON_LOAD_TRANSFER_DATA')).find((a) => a[2] && a[2].kind === kind));
  return l;
}

test('transfer data crosses a blind transfer, and a handler answering null means no data', (t) => withBaton(t, async (env) => {
  const { pages: [alice, bob], id } = await voiceSetup(t, env, ['alice', 'bob']);
  await alice.evaluate(() => { window.conf.transferData = { caseId: 'C-7', n: 1 }; });
  await callOk(alice, 'blindTransfer', 'bob', undefined, '');
  const [ixId, data] = await loadOn(bob, 'blind');
  assert.equal(ixId, id);
  assert.deepEqual(data, { caseId: 'C-7', n: 1 });
  const req = await eventsOf(alice, 'ON_REQUEST_TRANSFER_DATA');
  assert.equal(req[0][0], id);
  assert.equal(req[0][1].kind, 'blind', 'Baton passes meta as the second argument');
  // Bob sends it back with a handler that answers null: bob has no data for alice.
  await callOk(bob, 'acceptInteraction', id);
  await callOk(alice, 'setAgentState', 'ready');
  await callOk(bob, 'blindTransfer', 'alice', undefined, id);
  await waitFor('bob was asked for data', async () => (await eventsOf(bob, 'ON_REQUEST_TRANSFER_DATA')).length === 1);
  const leg = await waitFor('the second leg is recorded with no data', async () => {
    const h = await callOk(alice, 'getTransferHistory', id);
    const l = h.filter((x) => x.kind === 'blind')[1];
    return l && l.outcomes.length && l;
  });
  assert.deepEqual(leg.outcomes.map((o) => [o.integrationKey, o.outcome]), [['bp-conf', 'none']]);
}));

test('transfer data crosses a consult, the transfer, a conference invite', (t) => withBaton(t, async (env) => {
  const { pages: [alice, bob, dave], id } = await voiceSetup(t, env, ['alice', 'bob', 'dave']);
  await alice.evaluate(() => { window.conf.transferData = { step: 'consult' }; });
  await callOk(alice, 'consultCall', 'bob');
  const [consultId, consultData] = await loadOn(bob, 'consult');
  assert.deepEqual(consultData, { step: 'consult' });
  await callOk(bob, 'acceptInteraction', consultId);
  await alice.evaluate(() => { window.conf.transferData = { step: 'transfer' }; });
  await callOk(alice, 'transfer');
  const [, trData] = await loadOn(bob, 'transfer');
  assert.deepEqual(trData, { step: 'transfer' });
  await waitFor('bob has the call', async () => {
    const st = await callOk(bob, 'getInteractionsState');
    return st.interactions.some((i) => i.interactionId === id && i.state === 'delivered');
  });
  await bob.evaluate(() => { window.conf.transferData = { step: 'conference' }; });
  await callOk(bob, 'inviteToCallConference', 'dave', undefined, '');
  const [confId, confData] = await loadOn(dave, 'conference');
  assert.equal(confId, id);
  assert.deepEqual(confData, { step: 'conference' });
}));

test('transfer data crosses a chat invite; chat interactions have chat parties', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const alice = await open('bp-alice');
  const bob = await open('bp-bob');
  await login(alice, 'alice');
  await login(bob, 'bob');
  await callOk(alice, 'setAgentState', 'ready');
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Erin Novak').catch(() => {});
  const r = await env.server.rest('POST', '/interactions', 'test-ingress', { channel: 'chat', service: 'Sales', customer: { name: 'Erin Novak', email: 'erin@example.com' } });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r));
  const id = r.body.id;
  const [ix] = await waitFor('ON_NEW_INTERACTION', () => eventsOf(alice, 'ON_NEW_INTERACTION').then((l) => l.find((a) => a[0].interactionId === id)));
  assertInteraction(ix);
  assert.equal(ix.type, 'chat');
  assert.equal(ix.email, 'erin@example.com');
  assert.ok(ix.chatParties.some((p) => p.type === 'external' && p.name === 'Erin Novak'), JSON.stringify(ix.chatParties));
  await callOk(alice, 'acceptInteraction', id);
  await callOk(bob, 'setAgentState', 'ready');
  const users = await callOk(alice, 'getTeamMembers', 'all');
  const bobUser = users.find((u) => u.username === 'bob');
  await alice.evaluate(() => { window.conf.transferData = { step: 'chat_invite' }; });
  await callOk(alice, 'inviteToChatConference', bobUser.id, '');
  const [invId, invData] = await loadOn(bob, 'chat_invite');
  assert.equal(invId, id);
  assert.deepEqual(invData, { step: 'chat_invite' });
  // suggestChatMessage puts the text in alice's chat input.
  await callOk(alice, 'suggestChatMessage', 'How can I help?');
  assert.equal(await widget(alice).getByTestId('chat-input').inputValue(), 'How can I help?');
  const no = await call(alice, 'suggestChatMessage', 'other');
  assert.equal(no.error.code, 15, 'no overwrite without allowOverwrite');
  await callOk(alice, 'suggestChatMessage', 'other', true);
  assert.equal(await widget(alice).getByTestId('chat-input').inputValue(), 'other');
}));

test('merged server: the wire-contract methods answer Bright Pattern shapes', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-alice');
  await login(page, 'alice');
  assert.ok(Array.isArray(await callOk(page, 'getAgentNotReadyReasons')));
  assert.ok(Array.isArray(await callOk(page, 'getDIDNumbersList')));
  assert.equal(await callOk(page, 'getDIDNumber'), null);
  assert.deepEqual(await callOk(page, 'getConfig'), {});
  await callOk(page, 'setService', 'Sales');
  assert.equal((await callOk(page, 'getService')).name, 'Sales');
  assert.ok(Array.isArray(await callOk(page, 'getDispositionsList', { service: 'Sales' })));
  const empty = await call(page, 'startCall', '');
  assert.equal(empty.error.code, 10);
  assert.equal(empty.error.name, 'empty_number');
  await page.evaluate(() => {
    window.conf.answers.ON_REQUEST_RECORD_INFO = { id: 'C-5', type: 'case', displayName: 'Case five', displayType: 'Case', customFields: {} };
  });
  const started = await callOk(page, 'startCall', '+1 555 0199', { id: 'C-5', type: 'case', displayName: 'C-5', displayType: 'Case', customFields: {} });
  assert.equal(typeof started.id, 'string');
  const [ix] = await waitFor('the outbound call', () => eventsOf(page, 'ON_NEW_INTERACTION').then((l) => l.find((a) => a[0].interactionId === started.id)));
  assert.equal(ix.callDirection, 'outbound');
  assert.equal(ix.interactionKind, 'outbound');
  assert.deepEqual(ix.associatedObjects.list.map((o) => o.id), ['C-5']);
  // The widget lists the record and asks the host for its details.
  const [info] = await waitFor('ON_REQUEST_RECORD_INFO', () => eventsOf(page, 'ON_REQUEST_RECORD_INFO').then((l) => l[0]));
  assert.deepEqual(info, { id: 'C-5', type: 'case' });
  await waitText(widget(page).getByTestId('record-list'), 'Case five');
  const email = await call(page, 'startEmail', 'a@b.c');
  assert.equal(email.error.code, 14);
}));

test('merged server: setInteractionActiveScreen shows the screen to the other agent (ON_SHOW_SCREEN)', (t) => withBaton(t, async (env) => {
  const { pages: [alice, bob], id } = await voiceSetup(t, env, ['alice', 'bob']);
  await callOk(alice, 'inviteToCallConference', 'bob', undefined, '');
  await waitFor('bob is invited', () => eventsOf(bob, 'ON_NEW_INTERACTION').then((l) => l.some((a) => a[0].interactionId === id)));
  await callOk(bob, 'acceptInteraction', id);
  await callOk(alice, 'setInteractionActiveScreen', { page: 'case', caseId: 'C-1' }, '');
  const [screen, screenIx] = await waitFor('ON_SHOW_SCREEN on bob', () => eventsOf(bob, 'ON_SHOW_SCREEN').then((l) => l[0]));
  assert.deepEqual(screen, { page: 'case', caseId: 'C-1' });
  assert.equal(screenIx, id);
  assert.equal((await eventsOf(alice, 'ON_SHOW_SCREEN')).length, 0, 'not to the agent who set it');
}));

test('a second login of the agent: the first host gets ON_SERVER_ERROR 100 with Bright Pattern\'s shape', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const first = await open('bp-first');
  await login(first, 'alice');
  const second = await open('bp-second');
  await login(second, 'alice');
  const [err] = await waitFor('ON_SERVER_ERROR', () => eventsOf(first, 'ON_SERVER_ERROR').then((l) => l[0]));
  assert.equal(err.code, 100);
  assert.equal(err.name, 'forced_logout_by_other_client');
  assert.equal(typeof err.timestamp, 'number');
  assert.equal((await callOk(second, 'getLoginState')).isLoggedIn, true);
}));
