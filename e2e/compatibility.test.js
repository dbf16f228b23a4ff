// docs/compatibility.md is kept true: it lists exactly Bright Pattern's methods and events
// (the names are written out below, from Bright Pattern's published definition) plus Baton's
// own, and the SDK has every one of them. Runs in Node without a browser or a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const BP_METHODS = [
  'injectMessageLogger', 'getLoginState', 'login', 'openLogin', 'logout', 'getAgentState', 'setAgentState',
  'acceptInteraction', 'rejectInteraction', 'startCall', 'startChat', 'startEmail', 'sendDtmf', 'consultCall',
  'blindTransfer', 'transfer', 'leaveInteraction', 'completeInteraction', 'leaveAndCompleteInteraction',
  'switchActiveInteraction', 'inviteToCallConference', 'removeFromCallConference', 'destroyCallConference',
  'mergeAllCallsIntoConference', 'inviteToChatConference', 'removeFromChatConference', 'getTeams',
  'getTeamMembers', 'getServicesList', 'getService', 'setService', 'getDIDNumbersList', 'getDIDNumber',
  'setDIDNumber', 'getDispositionsList', 'setDisposition', 'setRescheduleWindow', 'addNote', 'updateNote',
  'replaceNote', 'getConfig', 'setVariable', 'getVariables', 'addInteractionAssociatedObject',
  'setInteractionActiveScreen', 'getPhoneDevicesList', 'getPhoneDevice', 'setPhoneDevice', 'setCallHold',
  'setCallRecording', 'setCallMute', 'setScreenRecordingMute', 'getScreenRecordingState', 'setWidgetMinimized',
  'sendChatMessage', 'suggestChatMessage', 'getAgentNotReadyReasons', 'activatePage', 'getInteractionsState',
  'setCallRecordingMute', 'setDialCandidates',
];
const BP_EVENTS = [
  'ON_LOGIN', 'ON_LOGOUT', 'ON_NEW_INTERACTION', 'ON_INTERACTION_REMOVED', 'ON_INTERACTION_STATE_CHANGE',
  'ON_ACTIVE_INTERACTION_SWITCHED', 'ON_AGENT_STATE_CHANGE', 'ON_REQUEST_TRANSFER_DATA', 'ON_LOAD_TRANSFER_DATA',
  'ON_GET_KNOWLEDGE_BASE_FOLDER', 'ON_SEARCH_KNOWLEDGE_BASE', 'ON_GET_KNOWLEDGE_BASE_ARTICLE', 'ON_OPEN_RECORD',
  'ON_SEARCH_RECORDS', 'ON_SHOW_SCREEN', 'ON_SCREEN_RECORDING_STATE_CHANGE', 'ON_WIDGET_MINIMIZED_CHANGE',
  'ON_SERVER_ERROR', 'ON_SOFTPHONE_STATUS_CHANGE', 'ON_AUDIO_DEVICE_CHANGE', 'ON_PHONE_CAPABILITIES_CHANGE',
  'ON_CALL_AUDIO_QUALITY_ALERT', 'ON_SUMMARY_GENERATION_STARTED', 'ON_SUMMARY_GENERATION_COMPLETED',
  'ON_WEB_SCREEN_POP_CUSTOM', 'ON_SAVE_ACTIVITY_RECORD', 'ON_VALIDATE_ASSOCIATED_RECORDS',
  'ON_REQUEST_RECORD_INFO', 'ON_REQUEST_RECORD_ON_SCREEN',
];
const BP_RESULT_CODES = {
  not_enough_privileges: 1, not_logged_in: 2, invalid_args: 3, logged_without_phone: 4, banned: 5,
  api_not_answer: 6, invalid_request: 7, timeout: 8, no_chat_in_service: 9, empty_number: 10, no_service: 11,
  self_call: 12, no_interaction: 13, api_method_not_implemented: 14, not_suitable_state: 15, no_disposition: 16,
  object_not_found: 17, no_permissions_did_sms: 18, no_permissions_did_call: 19, no_channel_in_service: 20,
  unknown_error: 99,
};
const BP_SERVER_CODES = {
  forced_logout_by_other_client: 100, forced_logout_by_supervisor: 101, invalid_request: 102,
  phone_not_registered: 103, phone_not_in_dial_plan: 104, tenant_disabled: 105, destination_user_not_logged: 106,
  user_disabled_or_deleted: 107, user_already_logged_in: 108, invalid_credentials: 109,
  other_user_logged_with_phone: 110, invalid_token: 111, logged_users_limit_reached: 112,
  already_logged_in_with_the_same_session: 113, not_enough_privileges: 114, sip_server_error: 200, unknown_error: 300,
};

/** Evaluates adapi.js in a minimal window (no DOM needed until an AdApi is constructed). */
function loadSdk() {
  const sandbox = {
    location: { href: 'http://crm.test/', origin: 'http://crm.test' },
    addEventListener() {}, removeEventListener() {}, focus() {},
    URL, URLSearchParams, Promise, setTimeout, clearTimeout, JSON, Object, Array, Date, Math, console,
  };
  sandbox.window = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(readFileSync(resolve(root, 'web/sdk/adapi.js'), 'utf8'), sandbox);
  return sandbox;
}

/** Rows `| \`name\` | status | notes |` of the section `## title` of docs/compatibility.md. */
function tableRows(title) {
  const md = readFileSync(resolve(root, 'docs/compatibility.md'), 'utf8');
  const section = md.split(/^## /m).find((s) => s.startsWith(title + '\n'));
  assert.ok(section, `docs/compatibility.md has a "## ${title}" section`);
  const rows = new Map();
  for (const line of section.split('\n')) {
    const m = line.match(/^\| `([A-Za-z_]+)` \| (\w+) \|(.*)\|$/);
    if (!m) continue;
    assert.ok(!rows.has(m[1]), `${m[1]} is listed once`);
    rows.set(m[1], { status: m[2], notes: m[3].trim() });
  }
  return rows;
}

test('the compatibility table lists exactly Bright Pattern\'s methods and Baton\'s own, and the SDK has them', () => {
  const w = loadSdk();
  const AdApi = w.brightpattern.AdApi;
  assert.equal(AdApi, w.Baton.AdApi);
  const rows = tableRows('Methods');
  const baton = AdApi.BATON_METHODS;
  assert.deepEqual([...rows.keys()].sort(), [...BP_METHODS, ...baton].sort());
  for (const [name, row] of rows) {
    assert.equal(typeof AdApi.prototype[name], 'function', `AdApi.prototype.${name}`);
    assert.ok(['same', 'extended', 'unavailable', 'baton'].includes(row.status), `${name}: status ${row.status}`);
    assert.equal(row.status === 'baton', baton.includes(name), `${name}: "baton" status iff Baton's own`);
    if (row.status === 'unavailable') assert.ok(row.notes, `${name}: says why it is unavailable`);
  }
  const unavailable = [...rows].filter(([, r]) => r.status === 'unavailable').map(([n]) => n).sort();
  assert.deepEqual(unavailable, [...AdApi.VOICE_DEVICE_METHODS, 'startEmail'].sort());
  // The SDK's own list of Bright Pattern's request methods (60, injectMessageLogger is not a request).
  assert.deepEqual([...AdApi.BP_METHODS].sort(), BP_METHODS.filter((m) => m !== 'injectMessageLogger').sort());
});

test('the compatibility table lists exactly Bright Pattern\'s events and Baton\'s own, and the SDK knows them', () => {
  const AdApi = loadSdk().brightpattern.AdApi;
  const rows = tableRows('Events');
  assert.deepEqual([...rows.keys()].sort(), [...BP_EVENTS, ...AdApi.BATON_EVENTS].sort());
  assert.deepEqual([...AdApi.BP_EVENTS].sort(), [...BP_EVENTS].sort());
  for (const [name, row] of rows) {
    assert.equal(AdApi.EVENTS[name], name, `AdApi.EVENTS.${name}`);
    assert.equal(row.status === 'baton', AdApi.BATON_EVENTS.includes(name), `${name}: "baton" status iff Baton's own`);
  }
});

test('the SDK has Bright Pattern\'s result and server error codes', () => {
  const AdApi = loadSdk().brightpattern.AdApi;
  for (const [k, v] of Object.entries(BP_RESULT_CODES)) assert.equal(AdApi.ResultErrorCodes[k], v, k);
  assert.deepEqual(structuredClone(AdApi.ServerErrorCodes), BP_SERVER_CODES);
});

test('wire interactions become Bright Pattern\'s InteractionData in the SDK\'s one mapping', () => {
  const { Shapes } = loadSdk().Baton;
  const wire = {
    id: 'ix1', channel: 'voice', state: 'connected', serviceName: 'Sales', createdAt: 1000, completedAt: 4000,
    customer: { name: 'Carol', phone: '+1 555' }, attachedData: { a: 'x', n: 2 },
    parties: [{ id: 'customer', type: 'customer', name: 'Carol', state: 'connected' },
      { id: 'p1', type: 'agent', agentId: 'ag1', name: 'Alice', state: 'ringing' }],
  };
  // structuredClone: the SDK's objects come from another realm (vm context).
  const ix = structuredClone(Shapes.interaction(wire, 'ag1'));
  assert.equal(ix.interactionId, 'ix1');
  assert.equal(ix.type, 'voice');
  assert.equal(ix.state, 'delivery_pending', 'the agent\'s own party state wins');
  assert.equal(Shapes.interaction(wire, 'other').state, 'delivered');
  assert.deepEqual(ix.attachedData, { a: 'x', n: '2' });
  assert.equal(ix.duration, 3000);
  assert.equal(ix.ANI, '+1 555');
  assert.equal(ix.callDirection, 'inbound');
  assert.equal(ix.interactionKind, 'scenario');
  assert.deepEqual(ix.callParties.map((p) => p.userId), [undefined, 'ag1']);
  assert.deepEqual(ix.chatParties, []);
  assert.deepEqual(ix.associatedObjects, { list: [], selected: [] });
  assert.deepEqual(ix.baton, wire);
  const states = ['queued', 'ringing', 'connected', 'hold', 'wrap_up', 'completed', 'odd'].map((s) => Shapes.interactionState(s));
  assert.deepEqual(states, ['queued', 'delivery_pending', 'delivered', 'hold', 'wrap_up', 'completed', 'unknown']);
  const chat = structuredClone(Shapes.interaction({ ...wire, channel: 'chat', customer: { name: 'C', email: 'c@x' } }, 'ag1'));
  assert.equal(chat.type, 'chat');
  assert.equal(chat.interactionKind, 'chat');
  assert.deepEqual(chat.chatParties.map((p) => p.type), ['external', 'internal']);
  assert.equal(chat.email, 'c@x');
});
