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

  // ---------------------------------------------------------------- state

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
    connected: false,
    stopped: false,    // no reconnect (logout, forced logout, refusal)
  };

  var host = {
    origin: null,
    // Fixed by the widget's URL: the handshake cannot change it.
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
    return 'This page (' + host.origin + ') is not allowed to use integration "' + host.integrationKey + '".';
  }

  window.addEventListener('message', function (ev) {
    if (!embedded || ev.source !== window.parent) return;
    var m = ev.data;
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
    if (m.type === 'baton:hello') {
      if (host.origin === null) {
        host.origin = ev.origin;
        if (!host.integrationKey) {
          host.refused = { code: 1, name: 'not_enough_privileges',
            message: 'An embedded agent desktop needs an integration key (InitOptions.integrationKey).' };
          console.error('Baton: ' + host.refused.message);
          postHost(refusalPayload());
          render();
          return;
        }
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
    if (HOST_METHODS.indexOf(m.method) < 0) {
      return answerHost(m.id, errResult(14, 'api_method_not_implemented', 'unknown method ' + String(m.method)));
    }
    var args;
    try { args = JSON.parse(m.argsJson); } catch (e) { args = null; }
    if (typeof m.argsJson !== 'string' || !Array.isArray(args)) {
      return answerHost(m.id, errResult(3, 'invalid_args', 'arguments must be a JSON array'));
    }
    if (m.method === 'setDialCandidates') rememberDialCandidates(args[0]);
    if (S.connected && host.accepted) return sendHostRequest(m);
    if (!S.token && host.accepted) {
      // Logged out after the host was accepted.
      if (m.method === 'getLoginState') return answerHost(m.id, { status: 'success', data: { loggedIn: false, agentId: null, username: null } });
      return answerHost(m.id, errResult(2, 'not_logged_in', 'the agent is not logged in'));
    }
    host.queue.push(m);
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

  /** Puts `text` in the chat input of the (active) chat interaction. */
  function suggestChatMessage(text, allowOverwrite, id) {
    var ix = id ? S.interactions.get(id) : active();
    if (!ix) return errResult(13, 'no_interaction', 'no such interaction');
    if (ix.channel !== 'chat') return errResult(15, 'not_suitable_state', 'the interaction is not a chat');
    if (typeof text !== 'string') return errResult(3, 'invalid_args', 'message must be a string');
    if (S.activeId !== ix.id) { S.activeId = ix.id; render(); }
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
      if (r.status === 'error' && r.error.code !== 7) report('Attach record')(r);
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
        return call('completeInteraction', ix.id).then(report('Complete')).then(done);
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
    call('startCall', n).then(report('Call')).then(function (r) {
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
    if (r.status === 'error') showNotice('Open a chat to paste the article (' + r.error.message + ').');
  });

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
      sendText(JSON.stringify({ id: id, op: method, args: args }));
    });
  }

  function failPending(reason) {
    pending.forEach(function (p) {
      clearTimeout(p.timer);
      var r = errResult(6, 'api_not_answer', reason);
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
      sock.onclose = function () {
        if (ws !== sock) return;
        ws = null;
        var was = S.connected;
        S.connected = false;
        failPending('the connection to the server was lost');
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
      if (embedded) {
        host.accepted = true;
        postHost(readyPayload());
        settleLogins({ status: 'success', data: { agentId: S.agentId, username: S.username, sessionId: S.sessionId, tenant: S.tenant } });
        flushHostQueue();
      }
      var ev = early; early = [];
      ev.forEach(function (f) { onEvent(f.event, Array.isArray(f.args) ? f.args : [], f.rid); });
      resync();
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
      var sel = $('not-ready-reason');
      var prev = sel.value;
      var opts = [el('option', { value: '', text: '(no reason)' })].concat(r.data.map(function (x) { return el('option', { value: String(x), text: String(x) }); }));
      sel.replaceChildren.apply(sel, opts);
      if (prev && r.data.indexOf(prev) >= 0) sel.value = prev;
    });
  }

  function resync() {
    loadNotReadyReasons();
    call('getAgentState').then(function (r) {
      if (r.status === 'success' && r.data) { S.agentState = r.data.state; S.notReadyReason = r.data.notReadyReason; render(); }
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
    if (old && (!ix.messages || !ix.messages.length) && old.messages && old.messages.length) ix.messages = old.messages;
    S.interactions.set(ix.id, ix);
  }

  function removeInteraction(id) {
    S.interactions.delete(id);
    S.order = S.order.filter(function (x) { return x !== id; });
    if (S.activeId === id) S.activeId = null;
    delete S.loaded[id];
  }

  function onEvent(name, args, rid) {
    var a0 = args[0];
    switch (name) {
      case 'ON_LOGIN':
        if (a0) {
          S.agentId = a0.agentId || S.agentId;
          S.displayName = a0.displayName || S.displayName;
          S.extension = a0.extension;
          S.agentState = a0.state || S.agentState;
          S.notReadyReason = a0.notReadyReason || null;
        }
        break;
      case 'ON_LOGOUT':
        stop();
        if (a0 === 'forced') showNotice('You were logged out: this agent logged in somewhere else.');
        else clearSession();
        showLoginError(a0 === 'forced' ? 'Logged out because this agent logged in elsewhere.' : '');
        break;
      case 'ON_AGENT_STATE_CHANGE':
        if (a0) { S.agentState = a0.state; S.notReadyReason = a0.notReadyReason || null; }
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
        break;
      }
      case 'ON_LOAD_TRANSFER_DATA':
        if (args[2]) S.loaded[a0] = args[2];
        break;
      case 'ON_TRANSFER_STATUS':
        if (a0 && a0.transferId) S.transfers.set(a0.transferId, a0);
        if (S.connected) refreshDirectory();
        break;
      case 'ON_SERVER_ERROR':
        if (a0 && a0.code === 100) {
          stop();
          showNotice('You were logged out: this agent logged in somewhere else.');
          showLoginError('Logged out because this agent logged in elsewhere.');
        } else if (a0) {
          showNotice((a0.message || a0.name || 'Server error') + (a0.code ? ' (code ' + a0.code + ')' : ''));
        }
        break;
      default:
        break;
    }
    relayEvent(name, args, rid);
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
  function showNotice(msg) {
    var n = $('notice');
    n.textContent = msg;
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.hidden = true; }, 8000);
  }

  var pendingLogin = [];   // host ids of login() calls waiting for the WebSocket hello
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
    return fetch('/api/v1/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tenant: tenant, username: username, password: String(password) }),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { return { ok: res.ok, status: res.status, body: body }; });
    }).then(function (r) {
      $('login-submit').disabled = false;
      if (!r.ok || !r.body.token) {
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
      $('login-error').textContent = 'Cannot reach the server: ' + err.message;
      return errResult(6, 'api_not_answer', 'cannot reach the server: ' + err.message);
    });
  }

  $('login').addEventListener('submit', function (ev) {
    ev.preventDefault();
    doLogin($('login-tenant').value, $('login-username').value, $('login-password').value);
  });

  $('logout').addEventListener('click', function () {
    var done = function () {
      stop();
      clearSession();
      S.interactions = new Map(); S.order = []; S.activeId = null; S.transfers = new Map();
      render();
    };
    if (S.connected) call('logout').then(done); else done();
  });

  $('offline-retry').addEventListener('click', function () { attempt = 0; connect(); });
  window.addEventListener('online', function () { if (!S.connected && S.token && !S.stopped) connect(); });

  // ---------------------------------------------------------------- actions

  function report(what) {
    return function (r) {
      if (r && r.status === 'error') showNotice(what + ' failed: ' + (r.error.message || r.error.name) + ' (code ' + r.error.code + ')');
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

  function applyAgentState() {
    var st = $('agent-state').value;
    var reason = st === 'not_ready' ? ($('not-ready-reason').value || null) : null;
    call('setAgentState', st, reason).then(report('Changing state')).then(function (r) {
      if (r.status === 'success') { S.agentState = st; S.notReadyReason = reason; render(); }
    });
  }
  $('agent-state').addEventListener('change', applyAgentState);
  $('not-ready-reason').addEventListener('change', function () { if ($('agent-state').value === 'not_ready') applyAgentState(); });

  function ringingOne() {
    for (var i = 0; i < S.order.length; i++) {
      var ix = S.interactions.get(S.order[i]);
      if (ix && isRinging(ix)) return ix;
    }
    return null;
  }

  function accept(id) {
    call('acceptInteraction', id).then(report('Accept')).then(function (r) {
      if (r.status === 'success') { S.activeId = id; render(); }
    });
  }
  function reject(id) { call('rejectInteraction', id).then(report('Reject')); }

  $('incoming-accept').addEventListener('click', function () { var ix = ringingOne(); if (ix) accept(ix.id); });
  $('incoming-reject').addEventListener('click', function () { var ix = ringingOne(); if (ix) reject(ix.id); });
  $('accept').addEventListener('click', function () { var ix = active(); if (ix) accept(ix.id); });
  $('reject').addEventListener('click', function () { var ix = active(); if (ix) reject(ix.id); });
  $('hold').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('setCallHold', myState(ix) !== 'hold', ix.id).then(report('Hold'));
  });
  $('leave').addEventListener('click', function () { var ix = active(); if (ix) call('leaveInteraction', ix.id).then(report('Leave')); });
  $('complete').addEventListener('click', function () { var ix = active(); if (ix) completeWithHost(ix); });
  $('disposition').addEventListener('change', function () {
    var ix = active(); var v = $('disposition').value;
    if (!ix || !v) return;
    call('setDisposition', v, ix.id).then(report('Disposition')).then(function (r) {
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

  $('chat-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var ix = active(); var text = $('chat-input').value;
    if (!ix || !text.trim()) return;
    call('sendChatMessage', text, ix.id).then(report('Send')).then(function (r) { if (r.status === 'success') $('chat-input').value = ''; });
  });
  $('note-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var ix = active(); var text = $('note-input').value;
    if (!ix || !text.trim()) return;
    call('addNote', text, ix.id).then(report('Note')).then(function (r) {
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
  $('transfer-target').addEventListener('focus', function () { if (S.connected) refreshDirectory(); });
  $('blind-transfer').addEventListener('click', function () {
    var ix = active(); if (ix && target()) call('blindTransfer', target(), null, ix.id).then(report('Blind transfer'));
  });
  $('consult').addEventListener('click', function () {
    var ix = active(); if (!ix || !target()) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('consultCall', target()); }).then(report('Consult'));
  });
  $('complete-transfer').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('transfer', null); }).then(report('Transfer'));
  });
  $('conference').addEventListener('click', function () {
    var ix = active(); if (ix && target()) call('inviteToCallConference', target(), null, ix.id).then(report('Conference'));
  });
  $('merge').addEventListener('click', function () {
    var ix = active(); if (!ix) return;
    call('switchActiveInteraction', ix.id).then(function () { return call('mergeAllCallsIntoConference', null); }).then(report('Merge'));
  });
  $('chat-invite').addEventListener('click', function () {
    var ix = active(); var m = targetMember();
    if (!ix) return;
    if (!m) return showNotice('Choose an agent to invite.');
    call('inviteToChatConference', m.id, ix.id).then(report('Chat invite'));
  });

  // ---------------------------------------------------------------- rendering

  function show(id, on) { $(id).hidden = !on; }

  function render() {
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
    $('agent-state-current').textContent = humanState(S.agentState) + (S.notReadyReason ? ' (' + S.notReadyReason + ')' : '');
    $('agent-state-current').className = 'pill state-' + (S.agentState || 'none');
    if (document.activeElement !== $('agent-state') && ['ready', 'not_ready', 'after_call_work'].indexOf(S.agentState) >= 0) {
      $('agent-state').value = S.agentState;
    }
    $('not-ready-reason').hidden = $('agent-state').value !== 'not_ready';

    renderIncoming();
    renderList();
    renderActive();
    renderTeam();
    renderTransfers();
  }

  function fromText(id) {
    var meta = S.loaded[id];
    if (!meta) return '';
    return 'Transferred by ' + (meta.fromAgentName || meta.fromAgentId) + ' (' + meta.kind + ')' + (meta.replay ? ' · replayed' : '');
  }

  function renderIncoming() {
    var ix = disablePopup ? null : ringingOne();
    show('incoming', !!ix);
    if (!ix) return;
    $('incoming-channel').textContent = ix.channel === 'voice' ? 'call' : 'chat';
    $('incoming-customer').textContent = (ix.customer && ix.customer.name) || 'Customer';
    $('incoming-service').textContent = ix.serviceName ? ' · ' + ix.serviceName : '';
    $('incoming-from').textContent = fromText(ix.id);
    $('incoming-reason').textContent = ix.reason ? 'Returned: ' + humanState(ix.reason) : '';
  }

  function renderList() {
    var ul = $('interaction-list');
    var items = S.order.map(function (id) {
      var ix = S.interactions.get(id);
      var st = myState(ix);
      var b = el('button', {
        type: 'button', class: 'item' + (id === S.activeId ? ' selected' : ''), 'data-testid': 'interaction-item',
        'data-id': id, 'data-state': st, 'aria-current': id === S.activeId ? 'true' : null,
        'aria-label': ((ix.customer && ix.customer.name) || 'Customer') + ', ' + ix.channel + ', ' + humanState(st),
        onclick: function () { S.activeId = id; render(); call('switchActiveInteraction', id); },
      }, [
        el('span', { class: 'icon', 'aria-hidden': 'true', text: ix.channel === 'voice' ? 'Call' : 'Chat' }),
        el('span', { class: 'name', text: (ix.customer && ix.customer.name) || 'Customer' }),
        el('span', { class: 'pill state-' + st, text: humanState(st) }),
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
    $('active-state').textContent = humanState(st);
    $('active-state').className = 'pill state-' + st;
    $('active-channel').textContent = ix.channel;
    $('active-service').textContent = ix.serviceName || '';
    $('active-contact').textContent = [c.phone, c.email].filter(Boolean).join(' · ');
    $('active-from').textContent = fromText(ix.id);
    $('active-reason').textContent = ix.reason ? 'Returned: ' + humanState(ix.reason) : '';
    show('accept', ringing); show('reject', ringing);
    show('hold', !ringing && ix.channel === 'voice' && (st === 'connected' || st === 'hold'));
    $('hold').textContent = st === 'hold' ? 'Unhold' : 'Hold';
    $('hold').setAttribute('aria-pressed', st === 'hold' ? 'true' : 'false');
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
    if (S.activity[ix.id] && S.activity[ix.id].id) $('active-from').textContent += ' · activity ' + S.activity[ix.id].id;

    var parties = $('parties');
    parties.replaceChildren.apply(parties, (ix.parties || []).map(function (p) {
      var me = p.type === 'agent' && p.agentId === S.agentId;
      var li = el('li', { 'data-testid': 'party', 'data-party-id': p.id }, [
        (p.name || p.type) + (me ? ' (you)' : '') + ' — ' + humanState(p.state) + (p.role ? ' · ' + p.role : ''),
      ]);
      if (!me && p.type === 'agent' && !ringing) {
        li.appendChild(el('button', { type: 'button', class: 'small', 'aria-label': 'Remove ' + (p.name || 'party'),
          'data-testid': 'remove-party', onclick: function () {
            call(ix.channel === 'voice' ? 'removeFromCallConference' : 'removeFromChatConference', p.id, ix.id).then(report('Remove'));
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
          el('span', { class: 'text', text: m.text }),
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
    var opts = [el('option', { value: '', text: '— choose —' })];
    var agents = el('optgroup', { label: 'Agents' });
    S.members.forEach(function (m) {
      if (m.id === S.agentId) return;
      agents.appendChild(el('option', { value: m.username, text: (m.displayName || m.username) + ' (' + (m.extension ? m.extension + ', ' : '') + humanState(m.state) + ')' }));
    });
    var svcs = el('optgroup', { label: 'Services' });
    S.services.forEach(function (s) { svcs.appendChild(el('option', { value: 'service:' + s.name, text: s.name + ' (queue)' })); });
    opts.push(agents, svcs);
    sel.replaceChildren.apply(sel, opts);
    if (prev) sel.value = prev;
    show('transfer-panel', !ringing && st !== 'wrap_up' && st !== 'completed');
    show('note-form', !ringing);
    show('chat-form', !ringing);
    var voice = ix.channel === 'voice';
    var consulting = (ix.parties || []).some(function (p) { return p.role === 'consult'; });
    $('merge').hidden = !voice; $('conference').hidden = !voice; $('consult').hidden = !voice;
    $('complete-transfer').hidden = !voice; $('chat-invite').hidden = voice;
    $('complete-transfer').disabled = !consulting; $('merge').disabled = !consulting;
  }

  function renderTeam() {
    var ul = $('team-members');
    ul.replaceChildren.apply(ul, S.members.map(function (m) {
      return el('li', { 'data-testid': 'team-member', 'data-username': m.username }, [
        el('span', { text: (m.displayName || m.username) + (m.extension ? ' · ' + m.extension : '') + ' ' }),
        el('span', { class: 'pill state-' + m.state, text: humanState(m.state) }),
      ]);
    }));
  }

  function renderTransfers() {
    var ul = $('transfer-status');
    var list = Array.from(S.transfers.values()).reverse();
    ul.replaceChildren.apply(ul, list.map(function (t) {
      return el('li', { 'data-testid': 'transfer-status-item', 'data-phase': t.phase, 'data-transfer-id': t.transferId }, [
        el('strong', { text: t.kind + ' → ' + t.target + ': ' }),
        el('span', { class: 'pill phase-' + t.phase, text: t.phase }),
        ' ',
        (t.outcomes || []).map(function (o) { return (o.integrationKey || 'no integration') + ': ' + o.outcome + (o.bytes ? ' (' + o.bytes + ' B)' : ''); }).join(', ') +
          (t.reason ? ' — ' + humanState(t.reason) : ''),
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
