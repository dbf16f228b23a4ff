/**
 * Baton agent widget — the Agent Desktop UI.
 *
 * Runs inside the host CRM's iframe (`?embedded=1`, driven by `/sdk/adapi.js`) or alone at
 * `/widget/`. It owns the agent's WebSocket (`/ws/agent`) and is the only thing that talks
 * to the server; the host page talks to it with postMessage.
 *
 * # Host link (postMessage)
 * - The widget only listens to `window.parent`, and learns the host's origin from the
 *   SDK's handshake `{type:'baton:hello', integrationKey}` as `event.origin` (a host-supplied
 *   origin string is never trusted). It posts only to that origin.
 * - It says nothing to the host until the server has accepted the host's origin for the
 *   integration key (the WebSocket hello succeeded); then `{type:'baton:ready'}`.
 *   If the server refuses (error 1 or 17) it posts `{type:'baton:refused', code, name,
 *   message}` and never forwards host requests.
 * - Host calls `{type:'baton:request', id, method, argsJson}` become WebSocket frames
 *   `{"id":n,"op":method,"args":<argsJson verbatim>}`; answers go back as
 *   `{type:'baton:response', id, result}`.
 * - Server events go to the host as `{type:'baton:event', event, args, rid?}`; the host's
 *   `{type:'baton:reply', rid, value?: <JSON text>, error?: string}` becomes
 *   `{"reply":rid,"value":<JSON text verbatim>}` so the data is byte-exact.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var embedded = params.get('embedded') === '1' && window.parent !== window;
  /** A standalone `/widget/` inside someone else's frame never resumes a saved session. */
  var framedStandalone = !embedded && window.top !== window;
  var disablePopup = params.get('disablePopup') === '1';
  var REQUEST_TIMEOUT_MS = 20000;
  /** How long the widget waits for the host's answer to a record or knowledge-base callback. */
  var CALLBACK_TIMEOUT_MS = 10000;
  /** Host methods forwarded to the server (the wire `op` is the method's name). */
  var HOST_METHODS = [
    'getLoginState', 'logout', 'getAgentState', 'setAgentState', 'getTeams', 'getTeamMembers',
    'getServicesList', 'getInteractionsState', 'acceptInteraction', 'rejectInteraction',
    'switchActiveInteraction', 'sendChatMessage', 'setCallHold', 'leaveInteraction',
    'completeInteraction', 'addNote', 'getVariables', 'setVariable', 'blindTransfer',
    'consultCall', 'transfer', 'inviteToCallConference', 'mergeAllCallsIntoConference',
    'removeFromCallConference', 'inviteToChatConference', 'removeFromChatConference',
    'getTransferHistory',
    // Bright Pattern's methods added by the wire contract (docs/protocol.md).
    'startCall', 'startChat', 'startEmail', 'leaveAndCompleteInteraction', 'destroyCallConference',
    'getService', 'setService', 'getDIDNumbersList', 'getDIDNumber', 'setDIDNumber',
    'getDispositionsList', 'setDisposition', 'setRescheduleWindow', 'updateNote', 'replaceNote',
    'getConfig', 'addInteractionAssociatedObject', 'setInteractionActiveScreen',
    'getAgentNotReadyReasons', 'setDialCandidates',
  ];
  /** Host methods of the softphone, answered by the widget once logged in (onHostVoice). */
  var VOICE_METHODS = ['setCallMute', 'setCallRecording', 'setCallRecordingMute', 'sendDtmf',
    'getPhoneDevicesList', 'getPhoneDevice', 'setPhoneDevice'];
  /** Host methods the widget answers itself; they work before the login. */
  var LOCAL_METHODS = ['login', 'openLogin', 'suggestChatMessage'];

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === 'text') e.textContent = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else e.setAttribute(k, v === true ? '' : v);
    });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function errResult(code, name, message) { return { status: 'error', error: { code: code, name: name, message: message } }; }
  function fmtTime(ms) { try { return new Date(ms).toLocaleTimeString(); } catch (e) { return ''; } }
  function humanState(s) { return String(s || '—').replace(/_/g, ' '); }

  // ---------------------------------------------------------------- plain words
  // Everything an agent reads goes through these: no wire names, codes or ids.

  var AGENT_STATE_WORDS = { ready: 'ready', not_ready: 'not ready', after_call_work: 'after call work',
    ringing: 'ringing', busy: 'busy', offline: 'logged out' };
  var PARTY_STATE_WORDS = { ringing: 'ringing', connected: 'connected', hold: 'on hold', transferring: 'being transferred',
    wrap_up: 'wrapping up', completed: 'left', queued: 'waiting in the queue' };
  var KIND_WORDS = { blind: 'Transfer', consult: 'Consultation', transfer: 'Transfer after consulting',
    conference: 'Conference', merge: 'Conference (merged calls)', chat_invite: 'Invitation to the chat', queue: 'Back to the queue' };
  /** Why a hand-off leg failed or why an offer came back; `who` is the other agent's name. */
  function reasonWords(reason, who) {
    var w = who || 'the other agent';
    switch (reason) {
      case 'rejected': case 'transfer_rejected': return w + ' declined';
      case 'ring_timeout': case 'transfer_timeout': return w + ' did not answer in time';
      case 'target_logged_out': case 'transfer_target_logged_out': return w + ' is logged out';
      case 'missed': return 'missed an offer';
      case null: case undefined: case '': return '';
      default: return humanState(reason);
    }
  }
  function agentStateWords(state, reason) {
    var w = AGENT_STATE_WORDS[state] || humanState(state);
    return reason ? w + ' (' + notReadyReasonWords(reason) + ')' : w;
  }
  function notReadyReasonWords(r) { return r === 'missed' ? 'missed an offer' : String(r); }
  function channelWord(ch) { return ch === 'voice' ? 'call' : 'chat'; }
  function customerName(ix) { return (ix && ix.customer && ix.customer.name) || 'a customer'; }
  function mmss(ms) {
    var t = Math.max(0, Math.round(ms / 1000));
    var m = Math.floor(t / 60), sec = t % 60;
    return m + ':' + (sec < 10 ? '0' : '') + sec;
  }
  /** An agent's name from a username, agent id or `service:<name>` target. */
  function targetName(t) {
    if (!t) return 'someone';
    if (String(t).indexOf('service:') === 0) return 'the ' + String(t).slice(8) + ' queue';
    for (var i = 0; i < S.members.length; i++) {
      var m = S.members[i];
      if (m.username === t || m.id === t || m.extension === t) return m.displayName || m.username;
    }
    return String(t);
  }
  /** A failed request in words an agent can act on (the code stays in the console). */
  function errorWords(e) {
    e = e || {};
    switch (e.code) {
      case 1: return 'you are not allowed to do that';
      case 2: return 'you are not connected to the server';
      case 3: return 'the request was not valid';
      case 6: case 8: return 'the server did not answer in time; try again';
      case 11: return 'that queue does not exist';
      case 12: return 'you cannot call yourself';
      case 13: return 'this interaction is no longer available';
      case 15: return 'that is not possible in the current state of the interaction';
      case 17: return 'who or what you chose no longer exists';
      case 21: return 'it is too large';
      case 22: return 'too many requests; wait a moment and try again';
      case 106: return 'that agent is not logged in';
      default: return 'something went wrong';
    }
  }

  // ---------------------------------------------------------------- state

  /** Call audio: the peer connection per live voice interaction, and the mutes (see syncVoice). */
  var callAudio = { calls: {}, muted: {} };

  var S = {
    tenant: params.get('tenant') || '',
    username: params.get('username') || '',
    token: null,
    agentId: null,
    sessionId: null,
    displayName: '',
    extension: null,
    agentState: null,
    notReadyReason: null,
    interactions: new Map(),
    order: [],
    activeId: null,
    members: [],
    services: [],
    transfers: new Map(),
    loaded: {},        // interactionId -> last ON_LOAD_TRANSFER_DATA meta
    popped: {},        // interactionId -> true once the host was asked to pop records
    records: {},       // interactionId -> records attached from the widget (not yet echoed by the server)
    screenPops: {},    // interactionId -> URL the host did not handle
    dispositions: {},  // interactionId -> [DispositionData] | 'loading'
    activity: {},      // interactionId -> the host's ActivityRecordInfo
    ringSeen: {},      // interactionId -> when the widget first saw it ringing for this agent
    answered: {},      // interactionId -> true once this agent accepted or rejected the offer
    stateSince: Date.now(), // when the agent state last changed (for the state timer)
    wrapSince: {},     // interactionId -> when this agent's party went to wrap-up
    typing: {},        // interactionId -> {name, customer} while someone else types
    drafts: {},        // interactionId -> unsent chat text, while another chat is shown
    draftFor: null,    // the interaction whose draft the chat input shows
    reasons: ['Break', 'Lunch', 'Meeting', 'Training'], // not-ready reasons (the tenant's list when it has one)
    beeps: 0,          // ring sounds played (read by tests through __batonWidget)
    notifications: 0,  // browser notifications shown
    connected: false,
    stopped: false,    // no reconnect (logout, forced logout, refusal)
  };

  var host = {
    origin: null,
    // Fixed by the widget's URL: the handshake cannot change it. Without one (Bright
    // Pattern's key is optional) the server picks the tenant's one integration that lists
    // the host's origin (decision 0025).
    integrationKey: embedded ? (params.get('integrationKey') || null) : null,
    accepted: false,
    refused: null,
    queue: [],         // host requests waiting for the connection
    rids: new Set(),   // rids forwarded to the host and not answered yet
  };
  var hostKnownWaiters = [];

  // ---------------------------------------------------------------- session storage

  /**
   * Saved sessions are scoped to the page that embeds the widget (its origin and integration
   * key), so another host page framing the same widget cannot resume this agent's session.
   */
  function scope() { return embedded ? host.origin + '|' + host.integrationKey : 'standalone'; }
  function sessionKey(t, u) { return 'baton.session.' + scope() + '.' + t + '.' + u; }
  function lastKey() { return 'baton.last.' + scope(); }
  function loadSession() {
    if (!S.tenant || !S.username) {
      try {
        var last = JSON.parse(sessionStorage.getItem(lastKey()) || 'null');
        if (last && !S.tenant && !S.username) { S.tenant = last.tenant; S.username = last.username; }
      } catch (e) { /* ignore */ }
    }
    if (!S.tenant || !S.username) return null;
    try { return JSON.parse(sessionStorage.getItem(sessionKey(S.tenant, S.username)) || 'null'); } catch (e) { return null; }
  }
  function saveSession() {
    try {
      sessionStorage.setItem(sessionKey(S.tenant, S.username), JSON.stringify({ token: S.token, agentId: S.agentId }));
      sessionStorage.setItem(lastKey(), JSON.stringify({ tenant: S.tenant, username: S.username }));
    } catch (e) { /* storage may be unavailable */ }
  }
  function clearSession() {
    try { sessionStorage.removeItem(sessionKey(S.tenant, S.username)); } catch (e) { /* ignore */ }
    S.token = null;
  }

  // ---------------------------------------------------------------- host link

  function postHost(msg) {
    if (!embedded || !host.origin) return;
    if (!host.accepted && msg.type !== 'baton:refused') return;
    window.parent.postMessage(msg, host.origin);
  }

  function refusalMessage() {
    if (!host.integrationKey) return 'This page (' + host.origin + ') is not allowed to use an integration of this tenant.';
    return 'This page (' + host.origin + ') is not allowed to use integration "' + host.integrationKey + '".';
  }

  window.addEventListener('message', function (ev) {
    if (!embedded || ev.source !== window.parent) return;
    var m = ev.data;
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
    if (m.type === 'baton:hello') {
      if (host.origin === null) {
        host.origin = ev.origin;
        // Only now, with the host's origin known, may a saved session be resumed.
        resumeSaved();
        var w = hostKnownWaiters; hostKnownWaiters = [];
        w.forEach(function (f) { f(); });
        render();
        if (!host.accepted) postPresent();
        return;
      }
      if (ev.origin !== host.origin) return;
      if (host.refused) postHost(refusalPayload());
      else if (host.accepted && S.connected) postHost(readyPayload());
      else postPresent();
      return;
    }
    if (ev.origin !== host.origin) return;
    if (m.type === 'baton:request') onHostRequest(m);
    else if (m.type === 'baton:local') onHostLocal(m);
    else if (m.type === 'baton:reply') onHostReply(m);
    else if (m.type === 'baton:callback-reply') onCallbackReply(m);
  });

  /** Tells a host that is not accepted yet that the widget is there (nothing else). */
  function postPresent() {
    if (!embedded || !host.origin || host.refused) return;
    window.parent.postMessage({ type: 'baton:present' }, host.origin);
  }

  function readyPayload() {
    return { type: 'baton:ready', session: { agentId: S.agentId, username: S.username, tenant: S.tenant,
      sessionId: S.sessionId, displayName: S.displayName } };
  }

  /** Answers a host message even before the host is accepted (local methods only). */
  function answerHostAny(id, result) {
    if (!embedded || !host.origin) return;
    window.parent.postMessage({ type: 'baton:response', id: id, result: result }, host.origin);
  }

  function onHostLocal(m) {
    if (host.refused) return answerHostAny(m.id, errResult(host.refused.code, host.refused.name, host.refused.message));
    var args;
    try { args = JSON.parse(m.argsJson); } catch (e) { args = null; }
    if (LOCAL_METHODS.indexOf(m.method) < 0 || !Array.isArray(args)) {
      return answerHostAny(m.id, errResult(3, 'invalid_args', 'bad local call ' + String(m.method)));
    }
    if (m.method === 'login') {
      var d = args[0] || {};
      return doLogin(d.tenant || S.tenant, d.username, d.password).then(function (r) {
        if (r.status !== 'success') return answerHostAny(m.id, r);
        // Answered once the WebSocket hello is: success, or the host's refusal.
        pendingLogin.push(m.id);
      });
    }
    if (m.method === 'openLogin') {
      if (!S.token || S.stopped) { render(); setTimeout(function () { $('login-password').focus(); }, 0); }
      return answerHostAny(m.id, { status: 'success', data: null });
    }
    if (m.method === 'suggestChatMessage') {
      if (!host.accepted) return answerHostAny(m.id, errResult(2, 'not_logged_in', 'the agent is not logged in'));
      return answerHostAny(m.id, suggestChatMessage(args[0], args[1], args[2]));
    }
  }

  function refusalPayload() {
    return { type: 'baton:refused', code: host.refused.code, name: host.refused.name, message: host.refused.message };
  }

  function answerHost(id, result) { postHost({ type: 'baton:response', id: id, result: result }); }

  function onHostRequest(m) {
    if (host.refused) {
      // Only the refused page itself hears this; nothing reaches the server.
      window.parent.postMessage({ type: 'baton:response', id: m.id, result: errResult(host.refused.code, host.refused.name, host.refused.message) }, host.origin);
      return;
    }
    if (LOCAL_METHODS.indexOf(m.method) >= 0) return onHostLocal(m);
    if (HOST_METHODS.indexOf(m.method) < 0 && VOICE_METHODS.indexOf(m.method) < 0) {
      return answerHost(m.id, errResult(14, 'api_method_not_implemented', 'unknown method ' + String(m.method)));
    }
    var args;
    try { args = JSON.parse(m.argsJson); } catch (e) { args = null; }
    if (typeof m.argsJson !== 'string' || !Array.isArray(args)) {
      return answerHost(m.id, errResult(3, 'invalid_args', 'arguments must be a JSON array'));
    }
    if (m.method === 'setDialCandidates') rememberDialCandidates(args[0]);
    if (VOICE_METHODS.indexOf(m.method) >= 0 && S.connected && host.accepted) return onHostVoice(m, args);
    if (S.connected && host.accepted) return sendHostRequest(m);
    if (!S.token && !loginInFlight) return answerNotLoggedIn(m);
    host.queue.push(m);
  }

  /**
   * Nobody is logged in and no login is under way: Bright Pattern answers `not_logged_in` at
   * once. This also answers a host the server has not accepted yet, which learns nothing
   * beyond what `baton:present` already told it.
   */
  function answerNotLoggedIn(m) {
    if (m.method === 'getLoginState') return answerHostAny(m.id, { status: 'success', data: { loggedIn: false, agentId: null, username: null } });
    answerHostAny(m.id, errResult(2, 'not_logged_in', 'the agent is not logged in'));
  }

  /** Answers the host requests queued for a login that did not happen. */
  function failHostQueueUnlessLoggedIn() {
    if (S.token || loginInFlight) return;
    var q = host.queue; host.queue = [];
    q.forEach(answerNotLoggedIn);
  }

  /**
   * The softphone methods: Baton's phone is the browser (`phone_type_browser`), and mute is
   * the server not forwarding this agent's audio on the call (docs/voice.md).
   */
  function onHostVoice(m, args) {
    var ok = function (data) { answerHost(m.id, { status: 'success', data: data === undefined ? null : data }); };
    switch (m.method) {
      case 'getPhoneDevicesList':
        return ok(window.RTCPeerConnection ? ['phone_type_browser'] : ['phone_type_none']);
      case 'getPhoneDevice':
        return ok({ type: window.RTCPeerConnection ? 'phone_type_browser' : 'phone_type_none' });
      case 'setPhoneDevice': {
        var d = args[0];
        if (!d || d.type !== 'phone_type_browser') {
          return answerHost(m.id, errResult(3, 'invalid_args', "Baton's phone is the browser: only {type: 'phone_type_browser'} can be set"));
        }
        return ok();
      }
      case 'sendDtmf': {
        var digits = args[0];
        var callId = args[1] || S.activeId;
        if (typeof digits !== 'string' || !/^[0-9*#A-D]{1,40}$/.test(digits)) {
          return answerHost(m.id, errResult(3, 'invalid_args', 'DTMF digits are 0-9, *, #, A-D (1 to 40 of them)'));
        }
        if (!callId) return answerHost(m.id, errResult(13, 'no_interaction', 'no active interaction'));
        var vc = callAudio.calls[callId];
        if (!vc || !vc.dtmf(digits)) return answerHost(m.id, errResult(15, 'not_suitable_state', 'the call has no connected audio'));
        return ok();
      }
      case 'setCallMute': {
        var id = args[1] || S.activeId;
        if (!id) return answerHost(m.id, errResult(13, 'no_interaction', 'no active interaction'));
        var on = !!args[0];
        return call('setCallMute', on, id).then(function (r) {
          if (r.status === 'success') { callAudio.muted[id] = on; render(); }
          answerHost(m.id, r);
        });
      }
      case 'setCallRecording':
      case 'setCallRecordingMute': {
        // The server records the call's audio (docs/voice.md, "Recording").
        var rid = args[1] || S.activeId;
        if (!rid) return answerHost(m.id, errResult(13, 'no_interaction', 'no active interaction'));
        return call(m.method, !!args[0], rid).then(function (r) { answerHost(m.id, r); });
      }
    }
  }

  function sendHostRequest(m) {
    var id = nextId++;
    pending.set(id, { host: m.id, timer: setTimeout(function () {
      pending.delete(id);
      answerHost(m.id, errResult(6, 'api_not_answer', 'the server did not answer ' + m.method));
    }, REQUEST_TIMEOUT_MS) });
    sendText('{"id":' + id + ',"op":' + JSON.stringify(m.method) + ',"args":' + m.argsJson + '}');
  }

  function flushHostQueue() {
    var q = host.queue; host.queue = [];
    q.forEach(onHostRequest);
  }

  function onHostReply(m) {
    if (!host.accepted || typeof m.rid !== 'string' && typeof m.rid !== 'number') return;
    if (!host.rids.has(m.rid)) return;
    host.rids.delete(m.rid);
    var head = '{"reply":' + JSON.stringify(m.rid);
    if (typeof m.error === 'string') return sendText(head + ',"error":' + JSON.stringify(m.error) + '}');
    if (typeof m.value === 'string') {
      try { JSON.parse(m.value); } catch (e) {
        return sendText(head + ',"error":' + JSON.stringify('invalid: ' + e.message) + '}');
      }
      return sendText(head + ',"value":' + m.value + '}');
    }
    sendText(head + '}');
  }

  // ---------------------------------------------------------------- host callbacks

  var callbacks = new Map();  // cid -> {resolve, timer}
  var nextCid = 1;

  /**
   * Asks the host's handlers of a Bright Pattern callback (records, knowledge base, activity)
   * for an answer. Resolves the answer, or `undefined` without a host, when no handler answers
   * or after CALLBACK_TIMEOUT_MS.
   */
  function askHost(event, args) {
    return new Promise(function (resolve) {
      if (!embedded || !host.accepted) return resolve(undefined);
      var cid = nextCid++;
      callbacks.set(cid, { resolve: resolve, timer: setTimeout(function () {
        callbacks.delete(cid);
        resolve(undefined);
      }, CALLBACK_TIMEOUT_MS) });
      postHost({ type: 'baton:callback', cid: cid, event: event, args: args });
    });
  }

  function onCallbackReply(m) {
    var c = callbacks.get(m.cid);
    if (!c) return;
    callbacks.delete(m.cid);
    clearTimeout(c.timer);
    c.resolve(m.value === null ? undefined : m.value);
  }

  /**
   * The chat input is shared by every chat, so it shows the active chat's own draft: what the
   * agent typed (or a host suggested) for one chat is kept for it, never shown under another.
   */
  function syncDraft() {
    var input = $('chat-input');
    var ix = active();
    var id = ix && ix.channel === 'chat' ? ix.id : null;
    if (id === S.draftFor) return;
    if (S.draftFor !== null && S.interactions.has(S.draftFor) && input.value) S.drafts[S.draftFor] = input.value;
    else if (S.draftFor !== null) delete S.drafts[S.draftFor];
    input.value = (id !== null && S.drafts[id]) || '';
    if (id !== null) delete S.drafts[id];
    S.draftFor = id;
  }

  /** Puts `text` in the chat input of the (active) chat interaction. */
  function suggestChatMessage(text, allowOverwrite, id) {
    var ix = id ? S.interactions.get(id) : active();
    if (!ix) return errResult(13, 'no_interaction', 'no such interaction');
    if (ix.channel !== 'chat') return errResult(15, 'not_suitable_state', 'the interaction is not a chat');
    if (typeof text !== 'string') return errResult(3, 'invalid_args', 'message must be a string');
    if (S.activeId !== ix.id) { S.activeId = ix.id; render(); }
    syncDraft();
    var input = $('chat-input');
    if (input.value && !allowOverwrite) return errResult(15, 'not_suitable_state', 'the agent is already typing a message');
    input.value = text;
    return { status: 'success', data: null };
  }

  /** Tells the host's handlers about something the agent did (no answer expected). */
  function tellHost(event, args) {
    if (embedded && host.accepted) postHost({ type: 'baton:callback', cid: 0, event: event, args: args });
  }

  // ---------------------------------------------------------------- records, screen pop, activity

  function recordsOf(ix) {
    var list = (ix.associatedObjects && Array.isArray(ix.associatedObjects.list)) ? ix.associatedObjects.list.slice() : [];
    (S.records[ix.id] || []).forEach(function (r) {
      if (!list.some(function (x) { return x.id === r.id && x.type === r.type; })) list.push(r);
    });
    return list;
  }
  function selectedOf(ix) {
    var sel = ix.associatedObjects && Array.isArray(ix.associatedObjects.selected) ? ix.associatedObjects.selected.slice() : [];
    recordsOf(ix).forEach(function (r) { if (sel.indexOf(r.id) < 0) sel.push(r.id); });
    return sel;
  }
  function isRecord(o) { return o && typeof o === 'object' && typeof o.id === 'string' && o.id !== ''; }
  function asRecord(o, source) {
    return { id: o.id, type: String(o.type || ''), displayName: String(o.displayName || o.id), displayType: String(o.displayType || o.type || ''),
      customFields: o.customFields && typeof o.customFields === 'object' ? o.customFields : {}, source: source || host.integrationKey || '' };
  }

  /** Screen pop for a new interaction: the host searches its records; the widget lists what it knows. */
  function screenPop(ix) {
    if (!ix || !ix.id || S.popped[ix.id]) return;
    S.popped[ix.id] = true;
    var c = ix.customer || {};
    tellHost('ON_SEARCH_RECORDS', [{ text: String(c.phone || c.email || c.name || ''), types: [] }, ix.id, false]);
    recordsOf(ix).forEach(function (r) {
      askHost('ON_REQUEST_RECORD_INFO', [{ id: r.id, type: r.type }]).then(function (info) {
        if (isRecord(info)) { Object.assign(r, asRecord(info, r.source)); render(); }
      });
    });
    var url = ix.attachedData && ix.attachedData.screenPopUrl;
    if (typeof url === 'string' && /^https?:\/\//.test(url)) {
      askHost('ON_WEB_SCREEN_POP_CUSTOM', [ix.id, { action: 'OPEN_WEB_PAGE', url: url, content: '', label: 'Screen pop',
        popUponAnswer: false, keepPopupOpenAfterFinish: false, popup: false }]).then(function (handled) {
        if (handled !== true) { S.screenPops[ix.id] = url; render(); }
      });
    }
  }

  function attachRecord(ix, rec) {
    var list = S.records[ix.id] = S.records[ix.id] || [];
    if (!list.some(function (x) { return x.id === rec.id && x.type === rec.type; })) list.push(rec);
    render();
    var data = { id: rec.id, type: rec.type, displayName: rec.displayName, displayType: rec.displayType, customFields: rec.customFields };
    call('addInteractionAssociatedObject', data, ix.id).then(function (r) {
      if (r.status === 'error' && r.error.code !== 7) report('attach the record')(r);
    });
  }

  function serviceOf(ix) {
    for (var i = 0; i < S.services.length; i++) if (S.services[i].name === ix.serviceName) return S.services[i];
    return null;
  }

  /**
   * Completes the active interaction the way a CRM integration expects: a required
   * disposition first, then the host validates its records (an invalid answer blocks the
   * completion and shows the host's message), then the host saves its activity record.
   */
  function completeWithHost(ix) {
    var svc = serviceOf(ix);
    if (svc && svc.requireDisposition && !ix.disposition) {
      return showNotice('Choose a disposition before completing this interaction.');
    }
    $('complete').disabled = true;
    var done = function () { $('complete').disabled = false; };
    askHost('ON_VALIDATE_ASSOCIATED_RECORDS', [ix.id, { list: recordsOf(ix), selected: selectedOf(ix) }]).then(function (v) {
      if (v && typeof v === 'object' && v.valid === false) {
        done();
        return showNotice(String(v.message || 'The CRM did not accept the records of this interaction.'));
      }
      return askHost('ON_SAVE_ACTIVITY_RECORD', [ix]).then(function (saved) {
        if (saved && typeof saved === 'object') S.activity[ix.id] = saved;
        return call('completeInteraction', ix.id).then(report('complete the interaction')).then(done);
      });
    }, done);
  }

  function loadDispositions(ix) {
    if (S.dispositions[ix.id]) return;
    S.dispositions[ix.id] = 'loading';
    call('getDispositionsList', { interactionId: ix.id }).then(function (r) {
      S.dispositions[ix.id] = r.status === 'success' && Array.isArray(r.data) ? r.data : [];
      render();
    });
  }

  // ---------------------------------------------------------------- dialing

  /** The host's dial candidates (setDialCandidates) become suggestions of the dial input. */
  function rememberDialCandidates(list) {
    var dl = $('dial-candidates');
    var opts = [];
    (Array.isArray(list) ? list : []).forEach(function (c) {
      if (!c || !Array.isArray(c.phones)) return;
      c.phones.forEach(function (p) {
        if (p && p.phone) opts.push(el('option', { value: String(p.phone), label: String(c.displayName || '') + ' (' + String(p.displayType || p.type || '') + ')' }));
      });
    });
    dl.replaceChildren.apply(dl, opts);
  }
  $('dial-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var n = $('dial-number').value.trim();
    if (!n) return;
    call('startCall', n).then(report('start the call')).then(function (r) {
      if (r.status === 'success') { $('dial-number').value = ''; if (r.data && r.data.id) { S.activeId = r.data.id; render(); } }
    });
  });

  // ---------------------------------------------------------------- knowledge base

  var kbLoaded = false;
  function kbList(items) {
    var ul = $('kb-results');
    ul.replaceChildren.apply(ul, (Array.isArray(items) ? items : []).filter(function (it) { return it && it.id; }).map(function (it) {
      var folder = it.type === 'folder';
      return el('li', { 'data-testid': 'kb-item', 'data-kb-id': String(it.id) }, [
        el('button', { type: 'button', class: 'small', text: (folder ? 'Folder: ' : '') + String(it.title || it.id),
          onclick: function () { if (folder) kbFolder(String(it.id)); else kbArticle(String(it.id)); } }),
        folder || !it.text ? null : el('span', { class: 'muted', text: String(it.text) }),
      ]);
    }));
  }
  function kbFolder(folderId) {
    askHost('ON_GET_KNOWLEDGE_BASE_FOLDER', [folderId ? { folderId: folderId } : {}]).then(kbList);
  }
  function kbArticle(id) {
    askHost('ON_GET_KNOWLEDGE_BASE_ARTICLE', [id]).then(function (a) {
      if (!a || typeof a !== 'object') return showNotice('The article is not available.');
      $('kb-article-title').textContent = String(a.title || '');
      $('kb-article-answer').textContent = String(a.answer || '');
      $('kb-article').hidden = false;
    });
  }
  $('kb').addEventListener('toggle', function () {
    if ($('kb').open && !kbLoaded) { kbLoaded = true; kbFolder(null); }
  });
  $('kb-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var q = $('kb-query').value.trim();
    if (q) askHost('ON_SEARCH_KNOWLEDGE_BASE', [q, undefined, undefined]).then(kbList);
  });
  $('kb-paste').addEventListener('click', function () {
    var r = suggestChatMessage($('kb-article-answer').textContent, true);
    if (r.status === 'error') showNotice('Open a chat to paste the article into it.');
  });

  // ---------------------------------------------------------------- call audio

  /**
   * Each voice interaction this agent is live on (connected or holding) has one peer
   * connection to Baton's media plane (`../voice/voice.js`, docs/voice.md); it is closed
   * when the agent's part ends. What is heard follows the call's state on the server.
   */
  var VOICE_WORDS = { connecting: 'Connecting audio…', connected: 'Audio connected', failed: 'Audio lost', closed: 'Audio closed' };
  var softphone = { sent: null, error: '', afterLogin: false };

  /**
   * `ON_SOFTPHONE_STATUS_CHANGE`: the browser phone is usable (logged in, WebRTC, a
   * microphone). As on Bright Pattern it follows `ON_LOGIN` (the host learns of the agent
   * first), and a logout tells a host that heard `true` that the phone is gone (`false`).
   */
  function reportSoftphone() {
    var ready = !!(S.connected && window.RTCPeerConnection && navigator.mediaDevices) && !softphone.error;
    var key = ready + '|' + softphone.error;
    reportCapabilities();
    if (!S.connected) {
      // A reconnect stays quiet (the next ON_LOGIN reports again); a logout does not.
      if (S.stopped && softphone.sent && softphone.sent.indexOf('true|') === 0) {
        relayEvent('ON_SOFTPHONE_STATUS_CHANGE', [false, 'logged out']);
      }
      softphone.sent = null;
      softphone.afterLogin = false;
      return;
    }
    if (!softphone.afterLogin || (embedded && !host.accepted) || softphone.sent === key) return;
    softphone.sent = key;
    relayEvent('ON_SOFTPHONE_STATUS_CHANGE', ready ? [true] : [false, softphone.error || 'this browser has no WebRTC']);
  }

  /**
   * The phone around the calls (docs/voice.md, "Devices and quality"): whether the server
   * carries audio (`mediaPlane`, learned from `voiceConfig` after each hello), the devices,
   * the page's quality thresholds (InitOptions `callQualityThresholds`, over the server's).
   */
  var phone = { mediaPlane: null, capsSent: null, devices: { inputs: [], outputs: [] }, quality: null };
  try { phone.quality = JSON.parse(params.get('quality') || 'null'); } catch (e) { phone.quality = null; }
  try { callAudio.deviceId = localStorage.getItem('baton.microphone') || ''; } catch (e) { callAudio.deviceId = ''; }

  /**
   * `ON_PHONE_CAPABILITIES_CHANGE`: Baton's phone is the browser, so the agent can dial,
   * answer, hold and retrieve with audio exactly when the browser can carry it: WebRTC,
   * a microphone that is not refused, and a server with its media plane on. Sent once the
   * answer is known and again on each change.
   */
  function reportCapabilities() {
    if (!S.connected) { phone.capsSent = null; return; }
    if (phone.mediaPlane === null || (embedded && !host.accepted)) return;
    var can = !!(window.BatonVoice && window.BatonVoice.supported() && phone.mediaPlane && !softphone.error);
    if (phone.capsSent === can) return;
    phone.capsSent = can;
    relayEvent('ON_PHONE_CAPABILITIES_CHANGE', [{ canDial: can, canAnswer: can, canHold: can, canRetrieve: can }]);
  }

  /** After each hello: does this server carry audio (`voiceConfig` answers 14 when not)? */
  function probeMediaPlane() {
    call('voiceConfig').then(function (r) {
      phone.mediaPlane = r.status === 'success' || !(r.error && r.error.code === 14);
      reportSoftphone();
    });
  }

  /** The microphone permission, watched: a refusal makes the phone unusable until it is lifted. */
  function watchMicrophonePermission() {
    if (!navigator.permissions || !navigator.permissions.query) return;
    navigator.permissions.query({ name: 'microphone' }).then(function (st) {
      function apply() {
        if (st.state === 'denied') softphone.error = 'microphone: permission denied';
        else if (softphone.error === 'microphone: permission denied') softphone.error = '';
        reportSoftphone();
        refreshDevices(false);
      }
      st.onchange = apply;
      apply();
    }).catch(function () { /* this browser cannot say */ });
  }

  function deviceName(list, id) {
    for (var i = 0; i < list.length; i++) if (list[i].deviceId === id) return list[i].label || undefined;
    return undefined;
  }

  /** The microphone and speaker in use now, by name (`ON_AUDIO_DEVICE_CHANGE`'s arguments). */
  function devicesInUse() {
    var track = null;
    Object.keys(callAudio.calls).some(function (id) { track = callAudio.calls[id].micTrack(); return !!track; });
    var ins = phone.devices.inputs, outs = phone.devices.outputs;
    var input = track && track.label ? track.label
      : deviceName(ins, callAudio.deviceId) || (ins[0] && ins[0].label) || undefined;
    return [input, (outs[0] && outs[0].label) || undefined];
  }

  function refreshDevices(announce) {
    if (!window.BatonVoice) return;
    window.BatonVoice.devices().then(function (d) {
      phone.devices = d;
      renderMicrophones();
      if (announce) relayEvent('ON_AUDIO_DEVICE_CHANGE', devicesInUse());
    });
  }

  function renderMicrophones() {
    var sel = $('microphone');
    if (!sel) return;
    var ins = phone.devices.inputs;
    var want = callAudio.deviceId || (ins[0] && ins[0].deviceId) || '';
    sel.textContent = '';
    ins.forEach(function (d, i) {
      sel.appendChild(el('option', { value: d.deviceId, text: d.label || 'Microphone ' + (i + 1) }));
    });
    sel.value = want;
    sel.disabled = ins.length < 2;
  }

  /**
   * Uses microphone `deviceId` from now on: live calls switch to it at once (the sender's
   * track is replaced, nothing is renegotiated), later calls open it. The choice is kept.
   */
  function chooseMicrophone(deviceId) {
    callAudio.deviceId = deviceId || '';
    try { localStorage.setItem('baton.microphone', callAudio.deviceId); } catch (e) { /* private mode */ }
    var calls = Object.keys(callAudio.calls).map(function (id) { return callAudio.calls[id]; });
    Promise.all(calls.map(function (vc) {
      return vc.setMicrophone(callAudio.deviceId).catch(function (e) {
        showNotice('That microphone cannot be used: ' + ((e && e.message) || e));
      });
    })).then(function () { refreshDevices(true); render(); });
  }

  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener('devicechange', function () {
      if (!window.BatonVoice) return;
      window.BatonVoice.devices().then(function (d) {
        phone.devices = d;
        // The chosen microphone was unplugged: live calls go back to the default one.
        if (callAudio.deviceId && !d.inputs.some(function (x) { return x.deviceId === callAudio.deviceId; })) {
          chooseMicrophone('');
          return;
        }
        renderMicrophones();
        if (S.connected) relayEvent('ON_AUDIO_DEVICE_CHANGE', devicesInUse());
      });
    });
  }
  watchMicrophonePermission();

  function voiceSignal(id) {
    return function (op, args) {
      return call.apply(null, [op, id].concat(args)).then(function (r) {
        if (r.status !== 'success') throw new Error((r.error && r.error.message) || op + ' failed');
        return r.data;
      });
    };
  }

  function syncVoice() {
    if (!window.BatonVoice) return;
    var live = {};
    if (S.connected) {
      S.interactions.forEach(function (ix) {
        var st = myState(ix);
        if (ix.channel === 'voice' && (st === 'connected' || st === 'hold')) live[ix.id] = true;
      });
    }
    Object.keys(callAudio.calls).forEach(function (id) {
      if (live[id]) return;
      callAudio.calls[id].hangup();
      delete callAudio.calls[id];
      delete callAudio.muted[id];
      if (S.connected && S.interactions.has(id)) call('voiceHangup', id);
    });
    Object.keys(live).forEach(function (id) {
      if (callAudio.calls[id]) return;
      var vc = callAudio.calls[id] = window.BatonVoice.start({
        signal: voiceSignal(id),
        container: $('call-audio'),
        deviceId: callAudio.deviceId,
        quality: phone.quality,
        onStatus: function () { setTimeout(render, 0); },
        // `ON_CALL_AUDIO_QUALITY_ALERT (callId, alert)`: on crossing into bad and back.
        onQuality: function (alert) { relayEvent('ON_CALL_AUDIO_QUALITY_ALERT', [id, alert]); render(); },
        onError: function (e) {
          showNotice('No call audio: ' + e.message);
          if (e && (e.name === 'NotAllowedError' || e.name === 'NotFoundError')) { softphone.error = 'microphone: ' + e.message; reportSoftphone(); }
        },
      });
      // Device names are readable once a microphone was opened.
      vc.ready.then(function () { refreshDevices(false); });
    });
    window.batonCalls = callAudio.calls;
    reportSoftphone();
  }

  // ---------------------------------------------------------------- WebSocket

  var ws = null;
  var nextId = 1;
  var pending = new Map();
  var early = [];
  var attempt = 0;
  var retryTimer = null;
  var retryAt = 0;

  function sendText(text) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(text); return true; }
    return false;
  }

  /** A request from the widget itself; resolves with the OperationResult. */
  function call(method) {
    var args = Array.prototype.slice.call(arguments, 1).map(function (a) { return a === undefined ? null : a; });
    return new Promise(function (resolve) {
      if (!S.connected) return resolve(errResult(2, 'not_logged_in', 'not connected'));
      var id = nextId++;
      pending.set(id, { resolve: resolve, timer: setTimeout(function () {
        pending.delete(id);
        resolve(errResult(6, 'api_not_answer', 'the server did not answer ' + method));
      }, REQUEST_TIMEOUT_MS) });
      // A socket already closing (say, after an oversize frame) takes nothing: say so now
      // rather than after the request time-out.
      if (!sendText(JSON.stringify({ id: id, op: method, args: args }))) {
        clearTimeout(pending.get(id).timer);
        pending.delete(id);
        resolve(errResult(2, 'not_logged_in', 'not connected to the server'));
      }
    });
  }

  function failPending(reason, error) {
    pending.forEach(function (p) {
      clearTimeout(p.timer);
      var r = error || errResult(6, 'api_not_answer', reason);
      if (p.resolve) p.resolve(r); else answerHost(p.host, r);
    });
    pending.clear();
  }

  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/agent';
  }

  function whenHostKnown(f) {
    if (!embedded || host.origin) return f();
    hostKnownWaiters.push(f);
    render();
  }

  function connect() {
    if (!S.token || S.stopped) return;
    clearTimeout(retryTimer); retryTimer = null;
    whenHostKnown(function () {
      if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
      var sock = new WebSocket(wsUrl());
      ws = sock;
      early = [];
      sock.onopen = function () {
        sock.send(JSON.stringify({ op: 'hello', args: {
          token: S.token,
          integrationKey: embedded ? host.integrationKey : null,
          hostOrigin: embedded ? host.origin : null,
          protocol: 1,
        } }));
      };
      sock.onmessage = function (ev) {
        if (ws !== sock) return;
        var f;
        try { f = JSON.parse(ev.data); } catch (e) { return; }
        onFrame(f);
      };
      sock.onclose = function (ev) {
        if (ws !== sock) return;
        ws = null;
        var was = S.connected;
        S.connected = false;
        // 1009: the server refused a frame far over its limit; say so, not "no answer".
        failPending('the connection to the server was lost', ev && ev.code === 1009
          ? errResult(21, 'payload_too_large', 'the request was too large for the connection') : null);
        if (!S.stopped && S.token) scheduleReconnect(was);
        render();
      };
      render();
    });
  }

  function scheduleReconnect(reset) {
    if (reset) attempt = 0;
    var delay = Math.min(15000, 500 * Math.pow(2, attempt)) * (0.8 + Math.random() * 0.4);
    attempt++;
    retryAt = Date.now() + delay;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  function stop() {
    S.stopped = true;
    S.connected = false;
    clearTimeout(retryTimer);
    if (ws) { var w = ws; ws = null; try { w.close(1000); } catch (e) { /* ignore */ } }
    failPending('disconnected');
  }

  function onFrame(f) {
    if (f && Object.prototype.hasOwnProperty.call(f, 'id') && f.result) {
      if (f.id === 0) return onHelloResult(f.result);
      var p = pending.get(f.id);
      if (!p) { if (f.id === null) console.warn('Baton: the server rejected a frame', f.result); return; }
      pending.delete(f.id);
      clearTimeout(p.timer);
      if (p.resolve) p.resolve(f.result); else answerHost(p.host, f.result);
      return;
    }
    if (f && typeof f.event === 'string') {
      // Events that arrive before the hello's answer wait for it, so the host (accepted by
      // that answer) gets them too.
      if (!S.connected) { early.push(f); return; }
      onEvent(f.event, Array.isArray(f.args) ? f.args : [], f.rid);
    }
  }

  function onHelloResult(r) {
    if (r.status === 'success') {
      var d = r.data || {};
      S.connected = true;
      attempt = 0;
      S.agentId = d.agentId || S.agentId;
      if (d.sessionId) S.sessionId = d.sessionId;
      if (d.username) S.username = d.username;
      if (d.tenant) S.tenant = d.tenant;
      if (d.displayName) S.displayName = d.displayName;
      if (d.extension !== undefined) S.extension = d.extension;
      // The server's limits (Baton addition to the hello answer), for refusing before sending.
      S.limits = d.limits || null;
      if (embedded) {
        host.accepted = true;
        postHost(readyPayload());
        settleLogins({ status: 'success', data: { agentId: S.agentId, username: S.username, sessionId: S.sessionId, tenant: S.tenant,
          displayName: S.displayName } });
        flushHostQueue();
      }
      var ev = early; early = [];
      ev.forEach(function (f) { onEvent(f.event, Array.isArray(f.args) ? f.args : [], f.rid); });
      resync();
      probeMediaPlane();
      render();
      return;
    }
    early = [];
    var e = r.error || {};
    if (e.code === 1 || e.code === 17) {
      host.refused = { code: e.code, name: e.name || (e.code === 1 ? 'not_enough_privileges' : 'object_not_found'),
        message: refusalMessage() + (e.message ? ' (' + e.message + ')' : '') };
      stop();
      console.error('Baton: ' + host.refused.message);
      if (embedded) {
        postHost(refusalPayload());
        settleLogins(errResult(e.code, host.refused.name, host.refused.message));
        var q = host.queue; host.queue = [];
        q.forEach(function (m) { window.parent.postMessage({ type: 'baton:response', id: m.id, result: errResult(e.code, host.refused.name, host.refused.message) }, host.origin); });
      }
      render();
      return;
    }
    settleLogins(errResult(e.code || 99, e.name || 'unknown_error', e.message || 'the server refused the connection'));
    if (e.code === 111 || e.code === 109 || e.code === 2) {
      stop();
      clearSession();
      failHostQueueUnlessLoggedIn();
      showLoginError('Your session has ended. Please log in again.');
      return;
    }
    stop();
    showLoginError((e.message || 'The server refused the connection') + (e.code ? ' (code ' + e.code + ')' : ''));
  }

  /** Replaces the state menu's not-ready reasons with the tenant's list (when it has one). */
  function loadNotReadyReasons() {
    call('getAgentNotReadyReasons').then(function (r) {
      if (r.status !== 'success' || !Array.isArray(r.data) || !r.data.length) return;
      S.reasons = r.data.map(String);
      render();
    });
  }

  function resync() {
    loadNotReadyReasons();
    call('getAgentState').then(function (r) {
      if (r.status === 'success' && r.data) { noteAgentState(r.data.state, r.data.notReadyReason || null); render(); }
    });
    call('getInteractionsState').then(function (r) {
      if (r.status !== 'success' || !r.data) return;
      S.interactions = new Map();
      S.order = [];
      (r.data.interactions || []).forEach(upsert);
      S.activeId = r.data.activeInteractionId || S.activeId;
      render();
    });
    refreshDirectory();
  }

  function refreshDirectory() {
    call('getTeamMembers', 'all').then(function (r) {
      if (r.status === 'success' && Array.isArray(r.data)) { S.members = r.data; render(); }
    });
    call('getServicesList').then(function (r) {
      if (r.status === 'success' && Array.isArray(r.data)) { S.services = r.data; render(); }
    });
  }

  function upsert(ix) {
    if (!ix || !ix.id) return;
    if (!S.interactions.has(ix.id)) S.order.push(ix.id);
    var old = S.interactions.get(ix.id);
    var was = old ? myState(old) : null;
    var now = myState(ix);
    if (now === 'ringing' && was !== 'ringing') {
      S.ringSeen[ix.id] = Date.now();
      delete S.answered[ix.id];
      // A new offer of an interaction seen before: its old hand-off banner is not this offer's.
      if (was && S.loaded[ix.id] && S.loaded[ix.id].receivedAt < S.ringSeen[ix.id] - 1000) delete S.loaded[ix.id];
      setTimeout(function () { ringAlert(ix.id); }, 0);
    }
    if (now !== 'ringing') delete S.ringSeen[ix.id];
    if (now === 'wrap_up' && was !== 'wrap_up') S.wrapSince[ix.id] = Date.now();
    if (now !== 'wrap_up') delete S.wrapSince[ix.id];
    if (old && (!ix.messages || !ix.messages.length) && old.messages && old.messages.length) ix.messages = old.messages;
    S.interactions.set(ix.id, ix);
  }

  function removeInteraction(id) {
    var old = S.interactions.get(id);
    if (old && myState(old) === 'ringing' && !S.answered[id]) {
      // The offer ended without an answer from this agent: remember it for the "missed" notice.
      S.lastMissed = { name: customerName(old), channel: old.channel, at: Date.now() };
      missedNotice();
    }
    delete S.ringSeen[id]; delete S.wrapSince[id]; delete S.typing[id]; delete S.answered[id];
    delete S.drafts[id];
    S.interactions.delete(id);
    S.order = S.order.filter(function (x) { return x !== id; });
    if (S.activeId === id) S.activeId = null;
    delete S.loaded[id];
  }

  function onEvent(name, args, rid) {
    var a0 = args[0];
    var forcedLogout = false;
    switch (name) {
      case 'ON_LOGIN':
        softphone.afterLogin = true; // reported by the render after this event's relay
        if (a0) {
          S.agentId = a0.agentId || S.agentId;
          S.displayName = a0.displayName || S.displayName;
          S.extension = a0.extension;
          noteAgentState(a0.state || S.agentState, a0.notReadyReason || null);
        }
        break;
      case 'ON_LOGOUT':
        stop();
        reportSoftphone(); // the phone goes before the agent does
        if (a0 === 'forced') showNotice('You were logged out: this agent logged in somewhere else.');
        else clearSession();
        showLoginError(a0 === 'forced' ? 'Logged out because this agent logged in elsewhere.' : '');
        break;
      case 'ON_AGENT_STATE_CHANGE':
        if (a0) noteAgentState(a0.state, a0.notReadyReason || null);
        break;
      case 'ON_NEW_INTERACTION':
      case 'ON_INTERACTION_STATE_CHANGE':
        upsert(a0);
        // After the relay below, so the host has the interaction before it is asked about it.
        if (name === 'ON_NEW_INTERACTION') setTimeout(function () { screenPop(a0); }, 0);
        if (a0 && a0.state === 'completed') { /* keep until removed */ }
        break;
      case 'ON_INTERACTION_REMOVED':
        removeInteraction(a0);
        break;
      case 'ON_ACTIVE_INTERACTION_SWITCHED':
        S.activeId = a0 || null;
        break;
      case 'ON_CHAT_MESSAGE': {
        var ix = S.interactions.get(a0);
        if (ix && args[1]) { ix.messages = (ix.messages || []).concat([args[1]]); }
        delete S.typing[a0];
        break;
      }
      case 'ON_TYPING':
        if (a0 && args[1] && args[1].typing) S.typing[a0] = { name: String(args[1].name || 'Someone'), customer: args[1].partyId === 'customer' };
        else delete S.typing[a0];
        break;
      case 'ON_LOAD_TRANSFER_DATA':
        if (args[2]) S.loaded[a0] = Object.assign({ receivedAt: Date.now() }, args[2]);
        break;
      case 'ON_TRANSFER_STATUS':
        if (a0 && a0.transferId) {
          var prevT = S.transfers.get(a0.transferId);
          var tix = S.interactions.get(a0.interactionId);
          // Remember the customer's name: the interaction may be gone from this desk later.
          a0.customerName = tix ? customerName(tix) : prevT && prevT.customerName;
          S.transfers.set(a0.transferId, a0);
        }
        if (S.connected) refreshDirectory();
        break;
      case 'ON_SERVER_ERROR':
        if (a0 && a0.code === 100) {
          stop();
          showNotice('You were logged out: this agent logged in somewhere else.');
          showLoginError('Logged out because this agent logged in elsewhere.');
          // The server's ON_LOGOUT "forced" follows on the socket just closed: tell the host
          // after this error, as the server would have.
          forcedLogout = true;
        } else if (a0) {
          console.warn('Baton: server error', a0);
          showNotice('The server reported a problem: ' + errorWords(a0) + '.');
        }
        break;
      default:
        break;
    }
    relayEvent(name, args, rid);
    if (forcedLogout) relayEvent('ON_LOGOUT', ['forced']);
    render();
  }

  /** Relays a server event to the host; answers the ones that want a reply when there is no host. */
  function relayEvent(name, args, rid) {
    var hasHost = embedded && host.accepted;
    if (rid != null) {
      if (hasHost) {
        host.rids.add(rid);
        postHost({ type: 'baton:event', event: name, args: args, rid: rid });
      } else {
        sendText('{"reply":' + JSON.stringify(rid) + '}');
      }
      return;
    }
    if (hasHost) postHost({ type: 'baton:event', event: name, args: args });
  }

  // ---------------------------------------------------------------- login

  function showLoginError(msg) {
    S.connected = false;
    $('login-error').textContent = msg || '';
    render();
  }

  var noticeTimer = null;
  /**
   * Shows one message above the desk (a newer one replaces it). Errors fade after 10 s; a
   * `sticky` message (a missed offer) stays until the agent dismisses it or acts.
   */
  function showNotice(msg, sticky) {
    var n = $('notice');
    $('notice-text').textContent = msg;
    n.hidden = false;
    n.setAttribute('data-sticky', sticky ? 'true' : 'false');
    clearTimeout(noticeTimer);
    if (!sticky) noticeTimer = setTimeout(hideNotice, 10000);
  }
  function hideNotice() { clearTimeout(noticeTimer); $('notice').hidden = true; $('notice-text').textContent = ''; }
  $('notice-close').addEventListener('click', hideNotice);

  function noteAgentState(state, reason) {
    if (state !== S.agentState || reason !== S.notReadyReason) {
      S.stateSince = Date.now();
      S.agentState = state; S.notReadyReason = reason;
      if (state === 'not_ready' && reason === 'missed') missedNotice();
    }
  }

  /** Says plainly that an offer rang out and what that did to the agent's state. */
  function missedNotice() {
    // The offer that rang out is still listed when the state change comes first.
    var r = ringingOne();
    var m = r && !S.answered[r.id] ? { name: customerName(r), channel: r.channel } : S.lastMissed;
    var missedState = S.agentState === 'not_ready' && S.notReadyReason === 'missed';
    if (!m && !missedState) return;
    var what = m ? 'You missed a ' + channelWord(m.channel) + ' from ' + m.name : 'You missed an offer';
    if (missedState) {
      showNotice(what + '; you are now Not ready. Choose Ready when you can take interactions again.', true);
    } else {
      showNotice('The ' + channelWord(m.channel) + ' from ' + m.name + ' stopped ringing before you answered.', true);
    }
  }

  // ---------------------------------------------------------------- ringing alerts

  var audio = null;
  /** A short two-tone beep made with WebAudio (no sound file to ship). */
  function beep() {
    try {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      audio = audio || new AC();
      if (audio.state === 'suspended') audio.resume();
      [0, 0.25].forEach(function (at, i) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.type = 'sine'; o.frequency.value = i ? 660 : 880;
        g.gain.setValueAtTime(0.0001, audio.currentTime + at);
        g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + at + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + at + 0.18);
        o.connect(g); g.connect(audio.destination);
        o.start(audio.currentTime + at); o.stop(audio.currentTime + at + 0.2);
      });
      S.beeps++;
    } catch (e) { /* no sound is not an error */ }
  }

  /** Sound, browser notification (when permitted) and focus for a new offer. */
  function ringAlert(id) {
    var ix = S.interactions.get(id);
    if (!ix || !isRinging(ix)) return;
    beep();
    try {
      if (window.Notification && Notification.permission === 'granted') {
        var n = new Notification('Incoming ' + channelWord(ix.channel) + ' — ' + customerName(ix), {
          body: (ix.serviceName ? ix.serviceName + ' · ' : '') + 'Open the agent desktop to answer.', tag: 'baton-' + id });
        n.onclick = function () { window.focus(); n.close(); };
        S.notifications++;
      }
    } catch (e) { /* notifications may be blocked in a frame */ }
    // Take the keyboard to the offer unless the agent is typing somewhere: not in a field of
    // the widget, and not in the host page (then this frame does not have the focus).
    var a = document.activeElement;
    if (document.hasFocus() && (!a || a === document.body || (a.tagName !== 'INPUT' && a.tagName !== 'TEXTAREA' && a.tagName !== 'SELECT'))) {
      var btn = document.querySelector('#incoming-list [data-id="' + CSS.escape(id) + '"] .accept');
      if (btn) btn.focus();
    }
  }
  $('notify-enable').addEventListener('click', function () {
    if (!window.Notification) return;
    Notification.requestPermission().then(render, render);
  });

  var baseTitle = document.title;
  var ringTick = 0;
  /** Every second: countdowns, the state and wrap-up timers, the tab title, a repeat beep. */
  setInterval(function () {
    if (!S.token || S.stopped) { document.title = baseTitle; return; }
    ringTick++;
    var r = ringingOne();
    document.title = r ? '(Ringing) ' + customerName(r) + ' — ' + baseTitle : baseTitle;
    if (r && ringTick % 4 === 0) beep();
    renderTimers();
  }, 1000);

  var pendingLogin = [];   // host ids of login() calls waiting for the WebSocket hello
  /** True while a login's REST step runs: host requests wait for it instead of failing. */
  var loginInFlight = false;
  function settleLogins(result) {
    var ids = pendingLogin; pendingLogin = [];
    ids.forEach(function (id) { answerHostAny(id, result); });
  }

  /**
   * Creates a session over REST and connects; resolves an OperationResult for the REST step
   * (the WebSocket hello settles `pendingLogin`). Used by the form and by the host's login().
   */
  function doLogin(tenant, username, password) {
    tenant = String(tenant || '').trim(); username = String(username || '').trim();
    if (!tenant) {
      return Promise.resolve(errResult(3, 'invalid_args', 'no tenant: pass loginData.tenant, InitOptions.tenant or ?tenant= in the widget URL'));
    }
    if (!username || !password) return Promise.resolve(errResult(3, 'invalid_args', 'username and password are required'));
    $('login-error').textContent = '';
    $('login-submit').disabled = true;
    loginInFlight = true;
    return fetch('/api/v1/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: tenant, username: username, password: String(password) }),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { return { ok: res.ok, status: res.status, body: body }; });
    }).then(function (r) {
      $('login-submit').disabled = false;
      loginInFlight = false;
      if (!r.ok || !r.body.token) {
        failHostQueueUnlessLoggedIn();
        var e = (r.body && r.body.error) || {};
        $('login-error').textContent = e.code === 109 ? 'Wrong tenant, username or password.' :
          (e.message || ('Login failed (HTTP ' + r.status + ')'));
        return errResult(e.code || 99, e.name || (e.code === 109 ? 'invalid_credentials' : 'unknown_error'), e.message || ('login failed (HTTP ' + r.status + ')'));
      }
      S.tenant = tenant; S.username = username;
      S.token = r.body.token; S.agentId = r.body.agentId;
      S.stopped = false;
      $('login-password').value = '';
      saveSession();
      connect();
      render();
      return { status: 'success', data: null };
    }, function (err) {
      $('login-submit').disabled = false;
      loginInFlight = false;
      failHostQueueUnlessLoggedIn();
      $('login-error').textContent = 'Cannot reach the server: ' + err.message;
      return errResult(6, 'api_not_answer', 'cannot reach the server: ' + err.message);
    });
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    doLogin($('login-tenant').value, $('login-username').value, $('login-password').value);
  });

  /** Interactions that logging out would hand back to a queue or drop. */
  function liveInteractions() {
    return S.order.map(function (id) { return S.interactions.get(id); }).filter(function (ix) {
      var st = ix && myState(ix);
      return st && st !== 'completed' && st !== 'wrap_up';
    });
  }
  function logoutNow() {
    $('logout-confirm').hidden = true;
    var done = function () {
      stop();
      clearSession();
      S.interactions = new Map(); S.order = []; S.activeId = null; S.transfers = new Map();
      S.loaded = {}; S.typing = {}; S.lastMissed = null;
      S.drafts = {}; S.draftFor = null; $('chat-input').value = '';
      hideNotice();
      render();
    };
    if (S.connected) call('logout').then(done); else done();
  }
  $('logout').addEventListener('click', function () {
    var live = liveInteractions();
    if (!live.length) return logoutNow();
    var names = live.map(function (ix) { return customerName(ix) + ' (' + channelWord(ix.channel) + ', ' + (PARTY_STATE_WORDS[myState(ix)] || humanState(myState(ix))) + ')'; });
    $('logout-confirm-text').textContent = (live.length === 1 ? 'You have a live interaction: ' : 'You have ' + live.length + ' live interactions: ') +
      names.join(', ') + '. If you log out now, ' + (live.length === 1 ? 'it goes' : 'they go') +
      ' back to the queue and another agent picks ' + (live.length === 1 ? 'it' : 'them') + ' up. Complete or transfer ' +
      (live.length === 1 ? 'it' : 'them') + ' first, or log out anyway.';
    $('logout-confirm').hidden = false;
    $('logout-cancel').focus();
  });
  $('logout-cancel').addEventListener('click', function () { $('logout-confirm').hidden = true; $('logout').focus(); });
  $('logout-anyway').addEventListener('click', logoutNow);
  $('logout-confirm').addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') { ev.preventDefault(); $('logout-cancel').click(); }
  });

  $('offline-retry').addEventListener('click', function () { attempt = 0; connect(); });
  window.addEventListener('online', function () { if (!S.connected && S.token && !S.stopped) connect(); });

  // ---------------------------------------------------------------- actions

  /** `what` is the action in words ("transfer the chat"); errors become "Could not …: why". */
  function report(what) {
    return function (r) {
      if (r && r.status === 'error') {
        console.warn('Baton: ' + what + ' failed', r.error);
        showNotice('Could not ' + what + ': ' + errorWords(r.error) + '.');
      } else if (r && r.status === 'success') {
        var n = $('notice');
        if (!n.hidden && n.getAttribute('data-sticky') !== 'true') hideNotice();
      }
      return r;
    };
  }
  function active() { return S.activeId ? S.interactions.get(S.activeId) : null; }
  function myParty(ix) {
    if (!ix || !ix.parties) return null;
    for (var i = 0; i < ix.parties.length; i++) if (ix.parties[i].type === 'agent' && ix.parties[i].agentId === S.agentId) return ix.parties[i];
    return null;
  }
  function myState(ix) { var p = myParty(ix); return p && p.state ? p.state : ix.state; }
  function isRinging(ix) { return myState(ix) === 'ringing'; }

  /**
   * The state menu only offers changes ("Change to…"); what the agent is now is the pill next
   * to it, which shows the server's state and nothing else. Values: `ready`,
   * `after_call_work`, `not_ready` and `not_ready:<reason>`.
   */
  function applyAgentState() {
    var v = $('agent-state').value;
    if (!v) return;
    var i = v.indexOf(':');
    var st = i < 0 ? v : v.slice(0, i);
    var reason = i < 0 ? null : v.slice(i + 1);
    $('agent-state').value = '';
    if (st === 'ready' && S.notReadyReason === 'missed') hideNotice();
    call('setAgentState', st, reason).then(report('change your state')).then(function (r) {
      // The pill follows the server: ask it rather than assume.
      return call('getAgentState').then(function (g) {
        if (g.status === 'success' && g.data) noteAgentState(g.data.state, g.data.notReadyReason || null);
        render();
      });
    });
  }
  $('agent-state').addEventListener('change', applyAgentState);

  var stateMenuKey = '';
  function renderStateMenu() {
    var cur = S.agentState, reason = S.notReadyReason;
    var choices = [];
    if (cur !== 'ready') choices.push(['ready', 'Ready']);
    if (!(cur === 'not_ready' && !reason)) choices.push(['not_ready', 'Not ready']);
    S.reasons.forEach(function (r) {
      if (!(cur === 'not_ready' && reason && reason.toLowerCase() === r.toLowerCase())) choices.push(['not_ready:' + r, 'Not ready — ' + r]);
    });
    if (cur !== 'after_call_work') choices.push(['after_call_work', 'After call work']);
    var key = JSON.stringify(choices);
    if (key === stateMenuKey) return;
    stateMenuKey = key;
    var sel = $('agent-state');
    sel.replaceChildren.apply(sel, [el('option', { value: '', text: 'Change to…' })]
      .concat(choices.map(function (c) { return el('option', { value: c[0], text: c[1] }); })));
    sel.value = '';
  }

  function ringingOne() {
    for (var i = 0; i < S.order.length; i++) {
      var ix = S.interactions.get(S.order[i]);
      if (ix && isRinging(ix)) return ix;
    }
    return null;
  }

  function accept(id) {
    S.answered[id] = true;
    call('acceptInteraction', id).then(report('accept')).then(function (r) {
      if (r.status !== 'success') delete S.answered[id];
      if (r.status === 'success') { S.activeId = id; render(); }
    });
  }
  function reject(id) { S.answered[id] = true; call('rejectInteraction', id).then(report('reject')); }
  $('accept').addEventListener('click', function () { var ix = active(); if (ix) accept(ix.id); });
  $('reject').addEventListener('click', function () { var ix = active(); if (ix) reject(ix.id); });
  $('hold').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('setCallHold', myState(ix) !== 'hold', ix.id).then(report('change the hold'));
  });
  $('mute').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    var on = !callAudio.muted[ix.id];
    call('setCallMute', on, ix.id).then(function (r) {
      if (r.status === 'success') { callAudio.muted[ix.id] = on; render(); }
      report('change the mute')(r);
    });
  });
  $('keypad').addEventListener('click', function (ev) {
    var d = ev.target && ev.target.getAttribute('data-digit');
    var ix = active();
    if (!d || !ix) return;
    var vc = callAudio.calls[ix.id];
    if (!vc || !vc.dtmf(d)) showNotice('The keypad needs the call audio connected.');
  });
  $('leave').addEventListener('click', function () { var ix = active(); if (ix) call('leaveInteraction', ix.id).then(report('leave the interaction')); });
  $('complete').addEventListener('click', function () { var ix = active(); if (ix) completeWithHost(ix); });
  $('microphone').addEventListener('change', function () { chooseMicrophone($('microphone').value); });
  $('disposition').addEventListener('change', function () {
    var ix = active(); var v = $('disposition').value;
    if (!ix || !v) return;
    call('setDisposition', v, ix.id).then(report('set the disposition')).then(function (r) {
      if (r.status !== 'success') return;
      var list = S.dispositions[ix.id];
      var d = Array.isArray(list) ? list.filter(function (x) { return x.id === v; })[0] : null;
      ix.dispositionId = v; ix.disposition = d ? d.name : v;
      render();
    });
  });
  $('record-on-screen').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    askHost('ON_REQUEST_RECORD_ON_SCREEN', []).then(function (rec) {
      if (isRecord(rec)) attachRecord(ix, asRecord(rec));
      else showNotice('The CRM has no record on screen.');
    });
  });

  // Typing indicator (docs/protocol.md `setTyping`): true on the first keystroke, false after
  // TYPING_IDLE_MS without one or when the message is sent. A server without the method
  // answers an error once, and the widget stops asking.
  var TYPING_IDLE_MS = 3000;
  var typingFor = null, typingTimer = null, typingUnsupported = false;
  function sendTyping(on, id) {
    if (typingUnsupported || !id) return;
    call('setTyping', on, id).then(function (r) {
      if (r.status === 'error' && (r.error.code === 14 || r.error.code === 3 || r.error.code === 7)) typingUnsupported = true;
    });
  }
  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingFor) { sendTyping(false, typingFor); typingFor = null; }
  }
  $('chat-input').addEventListener('input', function () {
    var ix = active();
    if (!ix || ix.channel !== 'chat' || myState(ix) !== 'connected') return;
    if (typingFor !== ix.id) { stopTyping(); typingFor = ix.id; sendTyping(true, ix.id); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  $('chat-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var ix = active(); var text = $('chat-input').value;
    if (!ix || !text.trim()) return;
    var tooLong = overLimit(text);
    if (tooLong) { showNotice(tooLong, true); return; } // the text stays in the input
    stopTyping();
    call('sendChatMessage', text, ix.id).then(report('send the message')).then(function (r) {
      if (r.status !== 'success') return;
      // The agent may have switched chats meanwhile: clear only the sent chat's draft.
      if (S.draftFor === ix.id) $('chat-input').value = '';
      else delete S.drafts[ix.id];
    });
  });
  /** Why `text` cannot be sent as a chat message under the server's limits, or null. */
  function overLimit(text) {
    var L = S.limits;
    if (!L) return null;
    var chars = Array.from(text).length; // the server counts characters, not UTF-16 units
    var fmt = function (n) { return Number(n).toLocaleString('en-US'); };
    if (L.maxMessageChars && chars > L.maxMessageChars) {
      return 'This message is too long: ' + fmt(chars) + ' characters; the most is ' +
        fmt(L.maxMessageChars) + ' characters. Shorten it and send again.';
    }
    // The request frame around it: the text JSON-escaped, plus a little for the envelope.
    if (L.maxFrameBytes && new TextEncoder().encode(JSON.stringify(text)).length + 256 > L.maxFrameBytes) {
      return 'This message is too long to send. Shorten it and send again.';
    }
    return null;
  }

  // ----- chat attachments (decision 0014): REST with the session token, never the socket ---

  function fileSize(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : n >= 1024 ? Math.round(n / 1024) + ' KB' : n + ' bytes';
  }

  /** A download link for a file in the transcript; fetched with the token, saved as a blob. */
  function attachmentLink(ixId, a) {
    return el('a', { href: '#', class: 'file', 'data-testid': 'chat-attachment', 'data-attachment-id': a.id,
      text: a.name + ' (' + fileSize(a.size) + ')', onclick: function (ev) {
        ev.preventDefault();
        fetch('/api/v1/interactions/' + encodeURIComponent(ixId) + '/attachments/' + encodeURIComponent(a.id), {
          headers: { Authorization: 'Bearer ' + S.token },
        }).then(function (res) {
          if (!res.ok) throw new Error(res.status === 404 ? 'it is no longer available' : 'HTTP ' + res.status);
          return res.blob();
        }).then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = el('a', { href: url, download: a.name });
          document.body.appendChild(save); save.click(); save.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        }, function (e) { showNotice('Could not download ' + a.name + ': ' + e.message + '.'); });
      } });
  }

  $('chat-file').addEventListener('change', function () {
    var f = $('chat-file').files && $('chat-file').files[0];
    $('chat-file').value = '';
    var ix = active();
    if (!f || !ix || !S.token) return;
    fetch('/api/v1/interactions/' + encodeURIComponent(ix.id) + '/attachments?filename=' + encodeURIComponent(f.name), {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + S.token, 'Content-Type': f.type || 'application/octet-stream' },
      body: f,
    }).then(function (res) {
      if (res.ok) return;
      return res.json().catch(function () { return null; }).then(function (j) {
        throw new Error((j && j.error && j.error.message) || 'HTTP ' + res.status);
      });
    }).catch(function (e) { showNotice('Could not send ' + f.name + ': ' + e.message + '.'); });
  });

  $('note-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var ix = active(); var text = $('note-input').value;
    if (!ix || !text.trim()) return;
    call('addNote', text, ix.id).then(report('add the note')).then(function (r) {
      if (r.status === 'success') {
        $('note-input').value = '';
        if (!(r.data && r.data.id)) { ix.notes = (ix.notes || []).concat([{ agentId: S.agentId, text: text, at: Date.now() }]); render(); }
      }
    });
  });

  function target() { return $('transfer-target').value; }
  function targetMember() {
    var t = target();
    for (var i = 0; i < S.members.length; i++) if (S.members[i].username === t) return S.members[i];
    return null;
  }
  $('refresh-members').addEventListener('click', refreshDirectory);
  $('transfer-target').addEventListener('change', function () { render(); });
  $('transfer-target').addEventListener('focus', function () { if (S.connected) refreshDirectory(); });
  $('blind-transfer').addEventListener('click', function () {
    var ix = active(); if (ix && target()) call('blindTransfer', target(), null, ix.id).then(report('transfer'));
  });
  $('consult').addEventListener('click', function () {
    var ix = active(); if (!ix || !target()) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('consultCall', target()); }).then(report('start the consultation'));
  });
  $('complete-transfer').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('transfer', null); }).then(report('complete the transfer'));
  });
  $('conference').addEventListener('click', function () {
    var ix = active(); if (ix && target()) call('inviteToCallConference', target(), null, ix.id).then(report('start the conference'));
  });
  $('merge').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('mergeAllCallsIntoConference', null); }).then(report('merge the calls'));
  });
  $('chat-invite').addEventListener('click', function () {
    var ix = active(); var m = targetMember();
    if (!ix) return;
    if (!m) return showNotice('Choose an agent to invite.');
    call('inviteToChatConference', m.id, ix.id).then(report('invite to the chat'));
  });

  // ---------------------------------------------------------------- rendering

  function show(id, on) { $(id).hidden = !on; }

  function render() {
    syncVoice();
    var loggedIn = !!S.token && !S.stopped;
    show('refused', !!host.refused);
    if (host.refused) $('refused-text').textContent = host.refused.message;
    show('waiting-host', !host.refused && embedded && !host.origin && loggedIn);
    show('login', !host.refused && !loggedIn);
    show('desk', !host.refused && loggedIn);
    if (!loggedIn) {
      if (!$('login-tenant').value && S.tenant) $('login-tenant').value = S.tenant;
      if (!$('login-username').value && S.username) $('login-username').value = S.username;
    }
    var offline = loggedIn && !S.connected && (!embedded || host.origin);
    show('offline', !!offline);
    if (offline) {
      var secs = Math.max(0, Math.round((retryAt - Date.now()) / 1000));
      $('offline-text').textContent = ws && ws.readyState === WebSocket.CONNECTING
        ? 'Offline — connecting to the server…'
        : 'Offline — the connection to the server was lost. Reconnecting' + (secs ? ' in ' + secs + ' s' : '') + '…';
    }
    if (!loggedIn) return;

    $('agent-name').textContent = S.displayName || S.username;
    $('agent-ext').textContent = S.extension ? 'ext. ' + S.extension : '';
    var cur = $('agent-state-current');
    cur.textContent = S.agentState ? agentStateWords(S.agentState, S.notReadyReason) : '—';
    cur.className = 'pill big state-' + (S.agentState || 'none');
    cur.setAttribute('data-state', S.agentState || '');
    cur.setAttribute('data-reason', S.notReadyReason || '');
    cur.setAttribute('aria-label', 'Your state: ' + cur.textContent);
    renderStateMenu();
    show('notify-enable', !!window.Notification && Notification.permission === 'default');

    renderIncoming();
    renderList();
    syncDraft();
    renderActive();
    renderTeam();
    renderTransfers();
  }

  /** Who handed this interaction over and how, in words; '' for an offer from the queue. */
  function fromText(id) {
    var meta = S.loaded[id];
    if (!meta) return '';
    var who = meta.fromAgentName || 'another agent';
    var t;
    switch (meta.kind) {
      case 'consult': t = who + ' wants to consult you'; break;
      case 'conference': case 'merge': t = who + ' invites you to a conference'; break;
      case 'chat_invite': t = who + ' invites you to join this chat'; break;
      case 'queue': t = 'Back from the queue (was with ' + who + ')'; break;
      default: t = 'Transferred by ' + who;
    }
    return t + (meta.replay ? ' · case details restored' : '');
  }
  function returnedText(ix) {
    return ix.reason ? 'Returned to you: ' + reasonWords(ix.reason) : '';
  }

  /**
   * One card per ringing offer (and no Accept/Reject anywhere else while the cards show).
   * Cards are kept by interaction id and only their text changes, so keyboard focus stays.
   */
  function renderIncoming() {
    var list = $('incoming-list');
    var ringing = disablePopup ? [] : S.order.map(function (id) { return S.interactions.get(id); }).filter(function (ix) { return ix && isRinging(ix); });
    var keep = {};
    ringing.forEach(function (ix) {
      keep[ix.id] = true;
      var card = list.querySelector('[data-id="' + CSS.escape(ix.id) + '"]');
      if (!card) {
        var title = 'incoming-title-' + ix.id;
        card = el('section', { class: 'incoming', role: 'alertdialog', 'aria-labelledby': title, 'aria-describedby': 'incoming-desc-' + ix.id,
          'data-testid': 'incoming', 'data-id': ix.id }, [
          el('h2', { id: title, class: 'incoming-title' }),
          el('p', { id: 'incoming-desc-' + ix.id }, [
            el('strong', { class: 'customer', 'data-testid': 'incoming-customer' }), ' ',
            el('span', { class: 'service muted', 'data-testid': 'incoming-service' }),
          ]),
          el('p', { class: 'from muted', 'data-testid': 'incoming-from' }),
          el('p', { class: 'reason warn', 'data-testid': 'incoming-reason' }),
          el('p', { class: 'countdown', role: 'timer', 'aria-live': 'off', 'data-testid': 'ring-countdown' }),
          el('div', { class: 'actions' }, [
            el('button', { type: 'button', class: 'primary accept', 'data-testid': 'incoming-accept', 'aria-keyshortcuts': 'Enter',
              onclick: function () { accept(ix.id); } }, ['Accept']),
            el('button', { type: 'button', class: 'reject', 'data-testid': 'incoming-reject', 'aria-keyshortcuts': 'Escape',
              onclick: function () { reject(ix.id); } }, ['Reject']),
          ]),
        ]);
        card.addEventListener('keydown', function (ev) {
          if (ev.key === 'Escape') { ev.preventDefault(); reject(ix.id); }
        });
        list.appendChild(card);
      }
      card.querySelector('.incoming-title').textContent = 'Incoming ' + channelWord(ix.channel);
      card.querySelector('.customer').textContent = customerName(ix);
      card.querySelector('.service').textContent = ix.serviceName ? '· ' + ix.serviceName : '';
      var from = fromText(ix.id), why = returnedText(ix);
      card.querySelector('.from').textContent = from; card.querySelector('.from').hidden = !from;
      card.querySelector('.reason').textContent = why; card.querySelector('.reason').hidden = !why;
    });
    Array.prototype.slice.call(list.children).forEach(function (c) {
      if (!keep[c.getAttribute('data-id')]) {
        var hadFocus = c.contains(document.activeElement);
        c.remove();
        if (hadFocus) { var b = document.querySelector('#interaction-list .item.selected') || $('logout'); b.focus(); }
      }
    });
    renderTimers();
  }

  /** The ring time-out of an offer: the server's deadline if it sends one, else the service's. */
  function ringDeadline(ix) {
    if (typeof ix.ringDeadline === 'number') return ix.ringDeadline;
    var svc = serviceOf(ix);
    if (svc && typeof svc.ringTimeoutMs === 'number' && S.ringSeen[ix.id]) return S.ringSeen[ix.id] + svc.ringTimeoutMs;
    return null;
  }

  /** Updates only the text of the timers, so focus and selections are untouched. */
  function renderTimers() {
    var now = Date.now();
    Array.prototype.slice.call($('incoming-list').children).forEach(function (card) {
      var ix = S.interactions.get(card.getAttribute('data-id'));
      if (!ix) return;
      var cd = card.querySelector('.countdown');
      var dl = ringDeadline(ix);
      if (dl) {
        cd.textContent = 'Rings out in ' + mmss(Math.max(0, dl - now));
        cd.setAttribute('data-remaining-ms', String(Math.max(0, dl - now)));
      } else {
        cd.textContent = 'Ringing for ' + mmss(now - (S.ringSeen[ix.id] || now));
        cd.removeAttribute('data-remaining-ms');
      }
    });
    if (S.agentState) $('state-timer').textContent = 'for ' + mmss(now - S.stateSince);
    var ix = active();
    var since = ix && S.wrapSince[ix.id];
    $('wrapup').hidden = !since;
    if (since) $('wrapup').textContent = 'Wrap-up: ' + mmss(now - since) + ' — add a note or disposition, then Complete.';
  }

  function renderList() {
    var ul = $('interaction-list');
    var items = S.order.map(function (id) {
      var ix = S.interactions.get(id);
      var st = myState(ix);
      var b = el('button', {
        type: 'button', class: 'item' + (id === S.activeId ? ' selected' : ''), 'data-testid': 'interaction-item',
        'data-id': id, 'data-state': st, 'aria-current': id === S.activeId ? 'true' : null,
        'aria-label': customerName(ix) + ', ' + channelWord(ix.channel) + ', ' + (PARTY_STATE_WORDS[st] || humanState(st)),
        onclick: function () { S.activeId = id; render(); call('switchActiveInteraction', id); },
      }, [
        el('span', { class: 'icon', 'aria-hidden': 'true', text: ix.channel === 'voice' ? 'Call' : 'Chat' }),
        el('span', { class: 'name', text: (ix.customer && ix.customer.name) || 'Customer' }),
        el('span', { class: 'pill state-' + st, text: PARTY_STATE_WORDS[st] || humanState(st) }),
      ]);
      return el('li', null, [b]);
    });
    ul.replaceChildren.apply(ul, items);
    show('no-interactions', items.length === 0);
  }

  function renderActive() {
    var ix = active();
    if (!ix && S.order.length) { S.activeId = S.order[0]; ix = active(); }
    show('active', !!ix);
    if (!ix) return;
    var st = myState(ix);
    var ringing = st === 'ringing';
    var c = ix.customer || {};
    $('active').setAttribute('data-id', ix.id);
    $('active-customer').textContent = c.name || 'Customer';
    $('active-state').textContent = PARTY_STATE_WORDS[st] || humanState(st);
    $('active-state').className = 'pill state-' + st;
    $('active-state').setAttribute('data-state', st);
    $('active-channel').textContent = ix.channel === 'voice' ? (ix.internal ? 'Internal call' : 'Call') : 'Chat';
    $('active-service').textContent = ix.serviceName || '';
    $('active-contact').textContent = [c.phone, c.email].filter(Boolean).join(' · ');
    $('active-from').textContent = ringing || st === 'connected' || st === 'hold' ? fromText(ix.id) : '';
    $('active-reason').textContent = ringing ? returnedText(ix) : '';
    // The ringing card has Accept/Reject; here they only show when the host turned the card off.
    show('accept', ringing && disablePopup); show('reject', ringing && disablePopup);
    show('hold', !ringing && ix.channel === 'voice' && (st === 'connected' || st === 'hold'));
    $('hold').textContent = st === 'hold' ? 'Unhold' : 'Hold';
    $('hold').setAttribute('aria-pressed', st === 'hold' ? 'true' : 'false');
    var audible = ix.channel === 'voice' && (st === 'connected' || st === 'hold');
    show('mute', audible);
    $('mute').textContent = callAudio.muted[ix.id] ? 'Unmute' : 'Mute';
    $('mute').setAttribute('aria-pressed', callAudio.muted[ix.id] ? 'true' : 'false');
    var vc = callAudio.calls[ix.id];
    show('call-audio-status', audible && !!vc);
    show('keypad', audible && !!vc && vc.status() === 'connected');
    var poor = !!(vc && vc.status() === 'connected' && vc.quality() && vc.quality().alert);
    $('call-audio-status').textContent = vc ? (VOICE_WORDS[vc.status()] || vc.status()) + (poor ? ' · poor connection' : '') : '';
    $('call-audio-status').setAttribute('data-state', vc ? vc.status() : '');
    $('call-audio-status').setAttribute('data-quality', poor ? 'poor' : 'good');
    $('call-audio-status').className = poor ? 'hint warn' : 'hint';
    show('microphone-row', audible && !!vc);
    show('leave', !ringing && st !== 'wrap_up' && st !== 'completed');
    show('complete', !ringing);

    var svc = serviceOf(ix);
    var useDisp = !!(svc && svc.useDispositions) && !ringing;
    show('disposition-row', useDisp);
    if (useDisp) {
      loadDispositions(ix);
      var dl = Array.isArray(S.dispositions[ix.id]) ? S.dispositions[ix.id] : [];
      var dsel = $('disposition');
      dsel.replaceChildren.apply(dsel, [el('option', { value: '', text: svc.requireDisposition ? '— required —' : '— none —' })]
        .concat(dl.map(function (d) { return el('option', { value: d.id, text: d.name }); })));
      dsel.value = ix.dispositionId || '';
    }
    var recs = recordsOf(ix);
    var rl = $('record-list');
    rl.replaceChildren.apply(rl, recs.map(function (r) {
      return el('li', { 'data-testid': 'record', 'data-record-id': r.id }, [
        el('button', { type: 'button', class: 'small', text: r.displayName + (r.displayType ? ' (' + r.displayType + ')' : ''),
          'aria-label': 'Open record ' + r.displayName,
          onclick: function () { tellHost('ON_OPEN_RECORD', [{ id: r.id, type: r.type, displayName: r.displayName, displayType: r.displayType, customFields: r.customFields }, ix.id, { inNewTab: false, source: 'user' }]); } }),
      ]);
    }));
    show('record-on-screen', embedded && !ringing);
    show('records', recs.length > 0 || (embedded && !ringing));
    var pop = S.screenPops[ix.id];
    show('screen-pop', !!pop);
    if (pop) {
      var link = el('a', { href: pop, target: '_blank', rel: 'noopener noreferrer', text: pop });
      $('screen-pop').replaceChildren('Screen pop: ', link);
    }

    var parties = $('parties');
    var mine = myParty(ix);
    var iAmPrimary = !!mine && mine.role !== 'consult' && mine.role !== 'conference';
    parties.replaceChildren.apply(parties, (ix.parties || []).filter(function (p) { return p.state !== 'completed'; }).map(function (p) {
      var me = p.type === 'agent' && p.agentId === S.agentId;
      var role = p.role === 'consult' ? 'consulting' : p.role === 'conference' ? 'in the conference' : p.type === 'agent' ? 'handling it' : '';
      var who = me ? 'You' : (p.name || (p.type === 'customer' ? 'Customer' : 'Agent'));
      // A consulting agent talks to the primary agent, not to the customer: their own party
      // state says nothing useful to them, so they read their role.
      var stateWords = me && p.role === 'consult' ? 'consulting' :
        p.type === 'customer' && p.state === 'ringing' ? 'waiting for an agent' : (PARTY_STATE_WORDS[p.state] || humanState(p.state));
      var showRole = role && p.state !== 'ringing' && role !== stateWords && !(me && p.role === 'consult');
      var text = who + ' — ' + stateWords + (showRole ? ' · ' + role : '');
      var li = el('li', { 'data-testid': 'party', 'data-party-id': p.id, 'data-role': p.role || '', 'data-me': me ? 'true' : null }, [text]);
      // Remove is for agents someone added (consult, conference), by the agent who handles it.
      if (!me && p.type === 'agent' && !ringing && iAmPrimary && (p.role === 'consult' || p.role === 'conference')) {
        li.appendChild(el('button', { type: 'button', class: 'small', 'aria-label': 'Remove ' + (p.name || 'party'),
          'data-testid': 'remove-party', onclick: function () {
            call(ix.channel === 'voice' ? 'removeFromCallConference' : 'removeFromChatConference', p.id, ix.id).then(report('remove the agent'));
          } }, ['Remove']));
      }
      return li;
    }));

    show('chat', ix.channel === 'chat');
    if (ix.channel === 'chat') {
      var t = $('chat-transcript');
      var atBottom = t.scrollTop + t.clientHeight >= t.scrollHeight - 4;
      t.replaceChildren.apply(t, (ix.messages || []).map(function (m) {
        return el('li', { class: 'msg from-' + m.from, 'data-testid': 'chat-message' }, [
          el('span', { class: 'who', text: (m.name || m.from) + ' ' }),
          el('span', { class: 'at muted', text: fmtTime(m.at) + ' ' }),
          m.attachment ? attachmentLink(ix.id, m.attachment) : el('span', { class: 'text', text: m.text }),
        ]);
      }));
      if (atBottom) t.scrollTop = t.scrollHeight;
    }
    var notes = $('notes');
    notes.replaceChildren.apply(notes, (ix.notes || []).map(function (n) {
      return el('li', { 'data-testid': 'note' }, [el('span', { class: 'muted', text: fmtTime(n.at) + ' ' }), n.text]);
    }));

    var sel = $('transfer-target');
    var prev = sel.value;
    var opts = [el('option', { value: '', text: '— choose who —' })];
    var agents = el('optgroup', { label: 'Agents' });
    var inIx = {};
    (ix.parties || []).forEach(function (p) { if (p.type === 'agent' && p.state !== 'completed') inIx[p.agentId] = true; });
    S.members.forEach(function (m) {
      if (m.id === S.agentId) return;
      // Agents who cannot take it are listed, but not choosable, with the reason.
      var why = m.state === 'offline' || m.state === 'logged_out' ? 'logged out' : inIx[m.id] ? 'already in this interaction' : '';
      agents.appendChild(el('option', { value: m.username, disabled: !!why, 'data-state': m.state,
        text: (m.displayName || m.username) + ' — ' + (why || agentStateWords(m.state)) + (m.extension ? ' · ext. ' + m.extension : '') }));
    });
    var svcs = el('optgroup', { label: 'Queues' });
    S.services.filter(function (q) { return !q.channels || q.channels.indexOf(ix.channel) >= 0; })
      .forEach(function (q) { svcs.appendChild(el('option', { value: 'service:' + q.name, text: q.name + ' queue' })); });
    opts.push(agents, svcs);
    var key = opts.map(function (o) { return o.outerHTML; }).join('');
    if (sel.getAttribute('data-key') !== key) {
      sel.replaceChildren.apply(sel, opts);
      sel.setAttribute('data-key', key);
      if (prev) sel.value = prev;
      if (sel.selectedOptions.length && sel.selectedOptions[0].disabled) sel.value = '';
    }
    show('transfer-panel', !ringing && st !== 'wrap_up' && st !== 'completed');
    show('note-form', !ringing);
    show('chat-form', !ringing);
    var voice = ix.channel === 'voice';
    var consulting = (ix.parties || []).some(function (p) { return p.role === 'consult' && p.state !== 'completed'; });
    var tv = sel.value, toQueue = tv.indexOf('service:') === 0;
    $('merge').hidden = !voice; $('conference').hidden = !voice; $('consult').hidden = !voice;
    $('complete-transfer').hidden = !voice; $('chat-invite').hidden = voice;
    // Hand-offs are for the agent who handles the interaction; a consulted or invited agent
    // only sees why they cannot start one.
    var canHand = iAmPrimary && (st === 'connected' || st === 'hold');
    $('blind-transfer').disabled = !canHand || !tv;
    $('consult').disabled = !canHand || !tv || toQueue || consulting;
    $('conference').disabled = !canHand || !tv || toQueue;
    $('chat-invite').disabled = !canHand || !tv || toQueue;
    $('complete-transfer').disabled = !canHand || !consulting; $('merge').disabled = !canHand || !consulting;
    var hint = '';
    if (!iAmPrimary) hint = mine && mine.role === 'consult' ? 'You are consulting: the agent who asked you can transfer or conference.' :
      'You joined this interaction: the agent who handles it can transfer it.';
    else if (!canHand) hint = 'Hand-offs are possible while you are connected.';
    else if (!tv) hint = 'Choose an agent or a queue to transfer to.';
    else if (toQueue) hint = voice ? 'A queue can take a transfer; consult and conference need an agent.' : 'A queue can take a transfer; invitations need an agent.';
    else if (voice && !consulting) hint = 'Complete transfer and Merge calls work once you are consulting someone.';
    $('transfer-hint').textContent = hint;
    var ty = S.typing[ix.id];
    $('typing').textContent = ty ? (ty.customer ? 'Customer is typing…' : ty.name + ' is typing…') : '';
  }

  function renderTeam() {
    var ul = $('team-members');
    ul.replaceChildren.apply(ul, S.members.map(function (m) {
      // The directory is polled; this agent's own line follows the live state instead.
      var me = m.id === S.agentId;
      var st = me && S.agentState ? S.agentState : m.state;
      return el('li', { 'data-testid': 'team-member', 'data-username': m.username, 'data-state': st }, [
        el('span', { text: (m.displayName || m.username) + (me ? ' (you)' : '') + (m.extension ? ' · ext. ' + m.extension : '') + ' ' }),
        el('span', { class: 'pill state-' + st, text: me ? agentStateWords(st, S.notReadyReason) : agentStateWords(st) }),
      ]);
    }));
  }

  /** What happened to the case details (transfer data) of a hand-off, in one phrase. */
  function dataWords(outcomes) {
    if (!outcomes || !outcomes.length) return '';
    var got = outcomes.filter(function (o) { return ['provided', 'delivered', 'acknowledged'].indexOf(o.outcome) >= 0; }).length;
    var bad = outcomes.filter(function (o) { return ['timeout', 'error', 'invalid', 'too_large'].indexOf(o.outcome) >= 0; });
    if (bad.length) {
      var o = bad[0].outcome;
      return 'case details not sent (' + (o === 'timeout' ? 'the CRM did not answer in time' : o === 'too_large' ? 'too large' : 'the CRM could not provide them') + ')';
    }
    return got ? 'case details sent' : 'no case details to send';
  }

  function renderTransfers() {
    var ul = $('transfer-status');
    var list = Array.from(S.transfers.values()).reverse();
    ul.replaceChildren.apply(ul, list.map(function (t) {
      var who = targetName(t.target);
      var phase = t.phase === 'collecting' ? 'preparing' : t.phase === 'offered' ? 'ringing ' + who :
        t.phase === 'accepted' ? (t.kind === 'queue' || String(t.target).indexOf('service:') === 0 ? 'in the queue' : who + ' accepted') :
        t.phase === 'failed' ? 'did not go through' + (t.reason ? ': ' + reasonWords(t.reason, who) : '') : humanState(t.phase);
      var data = dataWords(t.outcomes);
      return el('li', { 'data-testid': 'transfer-status-item', 'data-phase': t.phase, 'data-kind': t.kind }, [
        el('strong', { text: (KIND_WORDS[t.kind] || humanState(t.kind)) + ' to ' + who + (t.customerName ? ' (' + t.customerName + ')' : '') + ': ' }),
        el('span', { class: 'pill phase-' + t.phase, text: phase }),
        data ? ' · ' + data : '',
      ]);
    }));
  }

  setInterval(function () {
    if (S.connected) refreshDirectory();
    else if (S.token && !S.stopped) render();
  }, 3000);

  // ---------------------------------------------------------------- start

  /** Resumes a saved session: embedded only after the handshake, never in a foreign frame. */
  function resumeSaved() {
    if (framedStandalone || S.token) return;
    var saved = loadSession();
    if (saved && saved.token) {
      S.token = saved.token; S.agentId = saved.agentId;
      S.stopped = false;
      connect();
    }
  }
  if (!embedded) resumeSaved();
  render();

  /** For tests and debugging only: read-only view of the widget's state. */
  window.__batonWidget = { state: S, host: host };
})();
