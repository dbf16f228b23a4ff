/**
 * Baton host SDK — `adapi.js`.
 *
 * A CRM page (the "host") loads this file as a classic script:
 *
 *     <script src="https://baton.example.com/sdk/adapi.js"></script>
 *     const adApi = new brightpattern.AdApi({ integrationKey: 'my-crm', mountRoot: el });
 *     adApi.on('ON_REQUEST_TRANSFER_DATA', async (interactionId) => ({ caseId: 'C-1' }));
 *
 * Its surface is Bright Pattern's Agent Desktop client-side API ("AdApi"): the same methods,
 * argument order, events, result codes and data shapes, so an integration written for Bright
 * Pattern runs unchanged. `window.Baton.AdApi` and `window.brightpattern.AdApi` are the same
 * class. `docs/compatibility.md` lists every method and event with Baton's status.
 *
 * # How it works
 * The SDK inserts the agent widget (`<server>/widget/?embedded=1&…`) as an iframe and talks
 * to it with `postMessage`, with strict origins both ways: it only accepts messages whose
 * `source` is its own iframe's window and whose `origin` is the server's origin, and posts
 * only to that origin. The widget talks to the server over a WebSocket, whose frames carry
 * Baton's wire shapes; this file maps them to Bright Pattern's shapes in one place (the
 * `Shapes` section below). The message shapes are listed in `docs/protocol.md`
 * ("Browser SDK additions").
 *
 * Every method returns `Promise<OperationResult<T>>` and never rejects or throws: either
 * `{status: 'success', data}` or `{status: 'error', error: {code, name, message}}`.
 */
(function (global) {
  'use strict';

  // ================================================================ constants

  /** Bright Pattern's result error codes, plus Baton's additions (21, 22). */
  var ResultErrorCodes = Object.freeze({
    not_enough_privileges: 1,
    not_logged_in: 2,
    invalid_args: 3,
    logged_without_phone: 4,
    banned: 5,
    api_not_answer: 6,
    invalid_request: 7,
    timeout: 8,
    no_chat_in_service: 9,
    empty_number: 10,
    no_service: 11,
    self_call: 12,
    no_interaction: 13,
    api_method_not_implemented: 14,
    not_suitable_state: 15,
    no_disposition: 16,
    object_not_found: 17,
    no_permissions_did_sms: 18,
    no_permissions_did_call: 19,
    no_channel_in_service: 20,
    payload_too_large: 21,
    rate_limited: 22,
    unknown_error: 99,
  });

  /** Bright Pattern's server error codes (carried by `ON_SERVER_ERROR`). */
  var ServerErrorCodes = Object.freeze({
    forced_logout_by_other_client: 100,
    forced_logout_by_supervisor: 101,
    invalid_request: 102,
    phone_not_registered: 103,
    phone_not_in_dial_plan: 104,
    tenant_disabled: 105,
    destination_user_not_logged: 106,
    user_disabled_or_deleted: 107,
    user_already_logged_in: 108,
    invalid_credentials: 109,
    other_user_logged_with_phone: 110,
    invalid_token: 111,
    logged_users_limit_reached: 112,
    already_logged_in_with_the_same_session: 113,
    not_enough_privileges: 114,
    sip_server_error: 200,
    unknown_error: 300,
  });

  /**
   * Every request method of Bright Pattern's definition, in its order. The value is the
   * position of the method's optional `interactionId` argument (-1: none); `""`, `null` and
   * `undefined` there all mean "the active interaction".
   */
  var BP_METHODS = Object.freeze({
    getLoginState: -1, login: -1, openLogin: -1, logout: -1, getAgentState: -1, setAgentState: -1,
    acceptInteraction: 0, rejectInteraction: 0, startCall: -1, startChat: -1, startEmail: -1,
    sendDtmf: 1, consultCall: -1, blindTransfer: 2, transfer: -1, leaveInteraction: 0,
    completeInteraction: 0, leaveAndCompleteInteraction: 2, switchActiveInteraction: -1,
    inviteToCallConference: 2, removeFromCallConference: 1, destroyCallConference: 0,
    inviteToChatConference: 1, removeFromChatConference: 1, mergeAllCallsIntoConference: -1,
    getTeams: -1, getTeamMembers: -1, getServicesList: -1, getService: -1, setService: -1,
    getDIDNumbersList: -1, getDIDNumber: -1, setDIDNumber: -1, getDispositionsList: -1,
    setDisposition: 1, setRescheduleWindow: 1, addNote: 1, updateNote: 1, replaceNote: 1,
    getConfig: -1, getVariables: 1, setVariable: 2, addInteractionAssociatedObject: 1,
    setInteractionActiveScreen: 1, getPhoneDevicesList: -1, getPhoneDevice: -1, setPhoneDevice: -1,
    setCallHold: 1, setCallRecording: 1, setCallMute: 1, setScreenRecordingMute: -1,
    getScreenRecordingState: -1, setWidgetMinimized: -1, sendChatMessage: 1, suggestChatMessage: 2,
    getAgentNotReadyReasons: -1, activatePage: -1, getInteractionsState: -1,
    setCallRecordingMute: 1, setDialCandidates: -1,
  });

  /** Baton's own request methods (not in Bright Pattern's definition). */
  var BATON_METHODS = Object.freeze({ getTransferHistory: 0 });

  /**
   * Voice-device methods Baton does not have (screen recording): they answer 14 at once.
   * `setCallMute`, `setCallRecording`, `setCallRecordingMute`, `sendDtmf` and the
   * phone-device methods go to the widget, whose softphone is the browser (docs/voice.md).
   */
  var VOICE_DEVICE_METHODS = ['setScreenRecordingMute', 'getScreenRecordingState'];
  var VOICE_DEVICE_MESSAGE = 'Baton has no screen recording (its voice media is the browser ' +
    'softphone), so this method is not available.';

  /** Methods the widget answers itself (they work before the login or never reach the server). */
  var WIDGET_LOCAL_METHODS = ['login', 'openLogin', 'suggestChatMessage'];

  /** Bright Pattern's message names where they are not the method name in UPPER_SNAKE case. */
  var MESSAGE_NAMES = { getDIDNumbersList: 'GET_DID_LIST', getDIDNumber: 'GET_DID', setDIDNumber: 'SET_DID', setRescheduleWindow: 'SET_RESCHEDULE' };

  /** Every event of Bright Pattern's definition; `true` marks the ones whose handlers answer. */
  var BP_EVENTS = Object.freeze({
    ON_LOGIN: false, ON_LOGOUT: false, ON_NEW_INTERACTION: false, ON_INTERACTION_REMOVED: false,
    ON_INTERACTION_STATE_CHANGE: false, ON_ACTIVE_INTERACTION_SWITCHED: false, ON_AGENT_STATE_CHANGE: false,
    ON_REQUEST_TRANSFER_DATA: true, ON_LOAD_TRANSFER_DATA: false, ON_GET_KNOWLEDGE_BASE_FOLDER: true,
    ON_SEARCH_KNOWLEDGE_BASE: true, ON_GET_KNOWLEDGE_BASE_ARTICLE: true, ON_OPEN_RECORD: false,
    ON_SEARCH_RECORDS: false, ON_SHOW_SCREEN: false, ON_SCREEN_RECORDING_STATE_CHANGE: false,
    ON_WIDGET_MINIMIZED_CHANGE: false, ON_SERVER_ERROR: false, ON_SOFTPHONE_STATUS_CHANGE: false,
    ON_AUDIO_DEVICE_CHANGE: false, ON_PHONE_CAPABILITIES_CHANGE: false, ON_CALL_AUDIO_QUALITY_ALERT: false,
    ON_SUMMARY_GENERATION_STARTED: false, ON_SUMMARY_GENERATION_COMPLETED: false, ON_WEB_SCREEN_POP_CUSTOM: true,
    ON_SAVE_ACTIVITY_RECORD: true, ON_VALIDATE_ASSOCIATED_RECORDS: true, ON_REQUEST_RECORD_INFO: true,
    ON_REQUEST_RECORD_ON_SCREEN: true,
  });

  /** Baton's own events: chat messages, transfer progress, the host refusal, typing, and
   *  DTMF digits keyed on a call (a browser cannot surface received DTMF). */
  var BATON_EVENTS = Object.freeze({ ON_CHAT_MESSAGE: false, ON_TRANSFER_STATUS: false, ON_HOST_REFUSED: false, ON_TYPING: false, ON_DTMF: false });

  var EVENTS = {};
  Object.keys(BP_EVENTS).concat(Object.keys(BATON_EVENTS)).forEach(function (e) { EVENTS[e] = e; });
  Object.freeze(EVENTS);

  /** How long a request may wait for the widget's answer before it is `api_not_answer`. */
  var REQUEST_TIMEOUT_MS = 20000;
  /** How often the handshake is repeated until the widget answers. */
  var HELLO_INTERVAL_MS = 250;

  var codeNames = {};
  Object.keys(ServerErrorCodes).forEach(function (k) { codeNames[ServerErrorCodes[k]] = k; });
  Object.keys(ResultErrorCodes).forEach(function (k) { codeNames[ResultErrorCodes[k]] = k; });

  function errorResult(code, message) {
    return { status: 'error', error: { code: code, name: codeNames[code] || 'unknown_error', message: message } };
  }
  function ok(data) { return { status: 'success', data: data === undefined ? null : data }; }

  /** `getDIDNumbersList` → `GET_DID_LIST`, `acceptInteraction` → `ACCEPT_INTERACTION`. */
  function messageName(method) {
    return MESSAGE_NAMES[method] || method.replace(/([A-Z])/g, '_$1').toUpperCase();
  }

  // ================================================================ Shapes
  // The one place where Baton's wire shapes become Bright Pattern's shapes. Baton's extra
  // fields stay next to Bright Pattern's where the names do not clash; an InteractionData
  // also carries the untouched wire object as `baton` (its `id`, `state` and `channel` clash).

  var INTERACTION_STATES = {
    queued: 'queued', ringing: 'delivery_pending', connected: 'delivered', hold: 'hold',
    wrap_up: 'wrap_up', completed: 'completed', ivr: 'ivr',
  };

  /** Bright Pattern's UserState values; Baton's `logged_out` (and anything else) is `offline`. */
  var USER_STATES = ['supervising', 'ready', 'not_ready', 'busy', 'after_call_work', 'reserved', 'ringing', 'offline'];

  function str(v) { return v == null ? '' : String(v); }
  function optStr(v) { return v == null || v === '' ? undefined : String(v); }

  var Shapes = {
    /** Wire `ringing|connected|hold|wrap_up|completed|queued` → Bright Pattern's InteractionState. */
    interactionState: function (s) { return INTERACTION_STATES[s] || 'unknown'; },

    /** Wire InteractionData → Bright Pattern's InteractionData, seen by agent `agentId`. */
    interaction: function (w, agentId) {
      if (!w || typeof w !== 'object') return w;
      var parties = Array.isArray(w.parties) ? w.parties : [];
      var me = null;
      for (var i = 0; i < parties.length; i++) {
        if (parties[i].type === 'agent' && agentId && parties[i].agentId === agentId) { me = parties[i]; break; }
      }
      var c = w.customer || {};
      var voice = w.channel === 'voice';
      var attached = {};
      if (w.attachedData && typeof w.attachedData === 'object') {
        Object.keys(w.attachedData).forEach(function (k) {
          var v = w.attachedData[k];
          attached[k] = typeof v === 'string' ? v : JSON.stringify(v);
        });
      }
      var direction = w.direction === 'outbound' ? 'outbound' : 'inbound';
      var kind = w.internal ? 'direct_call' : !voice ? 'chat' : direction === 'outbound' ? 'outbound' : 'scenario';
      var endTime = typeof w.completedAt === 'number' ? w.completedAt : undefined;
      var startTime = typeof w.createdAt === 'number' ? w.createdAt : undefined;
      var ao = w.associatedObjects && typeof w.associatedObjects === 'object' ? w.associatedObjects : {};
      return {
        interactionId: str(w.id),
        globalInteractionId: str(w.id),
        state: Shapes.interactionState(me && me.state ? me.state : w.state),
        type: voice ? 'voice' : 'chat',
        callParties: voice ? parties.map(function (p) {
          return { id: str(p.id), name: str(p.name), phone: p.type === 'customer' ? str(c.phone) : '', userId: optStr(p.agentId) };
        }) : [],
        callMuted: !!w.callMuted,
        callRecording: !!w.callRecording,
        chatParties: voice ? [] : parties.map(function (p) {
          var ext = p.type === 'customer';
          return { id: str(p.id), type: ext ? 'external' : 'internal', name: str(p.name), userId: optStr(p.agentId),
            email: ext ? optStr(c.email) : undefined, phone: ext ? optStr(c.phone) : undefined };
        }),
        attachedData: attached,
        internal: !!w.internal,
        interactionKind: kind,
        phoneNumber: optStr(c.phone),
        email: optStr(c.email),
        callDirection: voice ? direction : undefined,
        startTime: startTime,
        endTime: endTime,
        duration: startTime === undefined ? undefined : Math.max(0, (endTime || Date.now()) - startTime),
        disposition: optStr(w.disposition),
        service: optStr(w.serviceName),
        ANI: voice ? optStr(w.ani || c.phone) : undefined,
        DNIS: voice ? optStr(w.dnis || w.serviceName) : undefined,
        origination: w.direction === 'outbound' ? 'integration-api' : undefined,
        subject: '',
        associatedObjects: { list: Array.isArray(ao.list) ? ao.list : [], selected: Array.isArray(ao.selected) ? ao.selected : [] },
        /** Baton's wire object, untouched (parties with roles, customer, notes, …). It has the
         *  chat transcript (`messages`) only from ON_NEW_INTERACTION and getInteractionsState;
         *  a state change leaves it out, and new messages come as ON_CHAT_MESSAGE. */
        baton: w,
      };
    },

    /** Wire InteractionData → InteractionActivityData (for ON_SAVE_ACTIVITY_RECORD). */
    activity: function (w, agentId) {
      var ix = Shapes.interaction(w, agentId);
      if (!ix || typeof ix !== 'object') return ix;
      var c = (w && w.customer) || {};
      ix.contactName = str(c.name);
      ix.formValues = {};
      return ix;
    },

    /** Args of a widget-driven callback → the args Bright Pattern's handlers get. */
    callbackArgs: function (event, args, ctx) {
      if (event === 'ON_SAVE_ACTIVITY_RECORD') return [Shapes.activity(args[0], ctx.agentId())];
      return args.map(function (a) { return a === null ? undefined : a; });
    },

    /** Wire `{loggedIn, agentId, username}` (+ the session) → LoginStateData. */
    loginState: function (w, session) {
      w = w || {};
      var s = session || {};
      var out = {
        isLoggedIn: !!(w.loggedIn || w.isLoggedIn),
        agentId: optStr(w.agentId || s.agentId),
        username: optStr(w.username || s.username),
        sessionId: optStr(w.sessionId || s.sessionId),
      };
      if (!out.isLoggedIn) return { isLoggedIn: false };
      if (w.displayName || s.displayName) out.displayName = w.displayName || s.displayName;
      if (s.tenant || w.tenant) out.tenant = w.tenant || s.tenant;
      return out;
    },

    /** Wire `{state, notReadyReason, reservedForIncomingInteraction?}` → AgentStateData. */
    agentState: function (w) {
      w = w || {};
      var out = { state: w.state, reservedForIncomingInteraction: !!w.reservedForIncomingInteraction };
      if (w.notReadyReason) out.notReadyReason = w.notReadyReason;
      return out;
    },

    team: function (w) {
      return { id: str(w.id), displayName: str(w.displayName || w.name || w.id), isSupervised: !!w.isSupervised,
        usersCount: typeof w.usersCount === 'number' ? w.usersCount : undefined };
    },

    /** Wire team member → User; Baton's `username`, `displayName`, `extension` stay as extras. */
    user: function (w, teamId) {
      var name = str(w.displayName || w.username).trim();
      var cut = name.indexOf(' ');
      return {
        id: str(w.id), teamId: str(w.teamId || teamId), firstName: cut < 0 ? name : name.slice(0, cut),
        lastName: cut < 0 ? '' : name.slice(cut + 1), phone: str(w.extension),
        state: USER_STATES.indexOf(w.state) >= 0 ? w.state : 'offline',
        username: w.username, displayName: w.displayName, extension: w.extension,
      };
    },

    service: function (w) {
      if (!w) return null;
      return { id: str(w.id), name: str(w.name), useDispositions: !!w.useDispositions,
        requireDisposition: !!w.requireDisposition, channels: w.channels };
    },

    did: function (w) {
      if (!w) return null;
      return { id: str(w.id), number: str(w.number), isSMS: !!w.isSMS, isVoice: !!w.isVoice };
    },

    disposition: function (w) {
      return { id: str(w.id), code: str(w.code), name: str(w.name), type: w.type || 'SUCCESS' };
    },

    serverError: function (w) {
      w = w || {};
      return { code: w.code, name: w.name || codeNames[w.code] || 'unknown_error',
        timestamp: typeof w.timestamp === 'number' ? w.timestamp : Date.now(), message: w.message };
    },

    /** A successful result's `data`, per method. `args` are the call's arguments. */
    result: function (method, data, ctx, args) {
      var list = function (f) { return Array.isArray(data) ? data.map(f) : []; };
      switch (method) {
        case 'getLoginState': return Shapes.loginState(data, ctx.session);
        case 'getAgentState': return Shapes.agentState(data);
        case 'getTeams': return list(Shapes.team);
        case 'getTeamMembers': return list(function (u) { return Shapes.user(u, args[0]); });
        case 'getServicesList': return list(Shapes.service);
        case 'getService': return Shapes.service(data);
        case 'getDIDNumbersList': return list(Shapes.did);
        case 'getDIDNumber': return Shapes.did(data);
        case 'getDispositionsList': return list(Shapes.disposition);
        case 'getAgentNotReadyReasons': return Array.isArray(data) ? data.map(str) : [];
        case 'getConfig': return data == null ? {} : data;
        case 'startCall': case 'startChat': case 'startEmail':
          return { id: data && data.id != null ? str(data.id) : null };
        case 'getInteractionsState': {
          var d = data || {};
          return {
            activeInteractionId: d.activeInteractionId || null,
            interactions: (Array.isArray(d.interactions) ? d.interactions : []).map(function (w) {
              return ctx.remember(Shapes.interaction(w, ctx.agentId()));
            }),
          };
        }
        default: return data === undefined ? null : data;
      }
    },

    /** A wire event's args → the args Bright Pattern's handlers get. */
    eventArgs: function (event, args, ctx) {
      var a0 = args[0];
      switch (event) {
        case 'ON_LOGIN': return [Shapes.loginState(Object.assign({ loggedIn: true }, a0 || {}), ctx.session)];
        case 'ON_LOGOUT': return [];
        case 'ON_AGENT_STATE_CHANGE':
          // The reason only when there is one, as Bright Pattern's `(state, notReadyReason?)`.
          if (a0 && typeof a0 === 'object') return a0.notReadyReason ? [a0.state, a0.notReadyReason] : [a0.state];
          return args[1] ? [a0, args[1]] : [a0];
        case 'ON_NEW_INTERACTION':
        case 'ON_INTERACTION_STATE_CHANGE':
          return [ctx.remember(Shapes.interaction(a0, ctx.agentId()))].concat(args.slice(1));
        case 'ON_INTERACTION_REMOVED': {
          if (a0 && typeof a0 === 'object') return [Shapes.interaction(a0, ctx.agentId())];
          return [ctx.forget(str(a0))];
        }
        case 'ON_ACTIVE_INTERACTION_SWITCHED': return [a0 ? str(a0) : null];
        case 'ON_SERVER_ERROR': return [Shapes.serverError(a0)];
        default: return args;
      }
    },
  };

  // ================================================================ AdApi

  /** The server's base URL: the origin this script was loaded from, captured at load time. */
  var scriptBase = (function () {
    try {
      var cs = global.document && global.document.currentScript;
      if (cs && cs.src) return new URL(cs.src, global.location.href).origin;
    } catch (e) { /* fall through */ }
    return null;
  })();

  function defaultBase() {
    return scriptBase || (global.Baton && global.Baton._moduleBase) || global.location.origin;
  }

  function logError() {
    if (global.console && console.error) console.error.apply(console, arguments);
  }

  /** Default size of the widget in a host's side panel (Bright Pattern's widget is about this wide). */
  var WIDGET_WIDTH = '400px';
  var WIDGET_MIN_WIDTH = '340px';
  var WIDGET_MIN_HEIGHT = '480px';
  var MINIMIZED_HEIGHT = '44px';

  /**
   * @param {import('./adapi').InitOptions} [options] Bright Pattern's InitOptions, plus
   *   Baton's `serverUrl`, `tenant` and `login: {tenant, username}` (pre-fill the login).
   */
  function AdApi(options) {
    if (!(this instanceof AdApi)) return new AdApi(options);
    options = options || {};
    var self = this;
    this.options = options;
    this.integrationKey = options.integrationKey == null ? null : String(options.integrationKey);
    this.tenant = options.tenant || (options.login && options.login.tenant) || null;
    this.serverUrl = new URL(options.serverUrl || defaultBase(), global.location.href).origin;
    this.widgetOrigin = this.serverUrl;
    this._handlers = {};
    this._pending = {};
    this._queue = [];
    this._localQueue = [];
    this._seq = 0;
    this._ready = false;
    this._present = false;
    this._refused = null;
    this._destroyed = false;
    this._session = null;
    this._logger = null;
    this._minimized = false;
    this._interactions = {};

    this._ctx = {
      session: null,
      agentId: function () { return self._session && self._session.agentId; },
      remember: function (ix) { if (ix && ix.interactionId) self._interactions[ix.interactionId] = ix; return ix; },
      forget: function (id) {
        var ix = self._interactions[id];
        delete self._interactions[id];
        if (ix) return Object.assign({}, ix, { state: 'completed', endTime: ix.endTime || Date.now() });
        return Shapes.interaction({ id: id, state: 'completed', parties: [] }, null);
      },
    };

    this.frame = this._makeFrame(options);
    this._onMessage = function (ev) { self._receive(ev); };
    global.addEventListener('message', this._onMessage);

    // The widget (re)loads: hand-shake again, and queue calls until it is ready.
    this.frame.addEventListener('load', function () {
      if (self._destroyed || self._refused) return;
      self._ready = false;
      self._present = false;
      self._startHello();
    });
    this._startHello();
  }

  AdApi.prototype._makeFrame = function (options) {
    var doc = global.document;
    var q = new URLSearchParams();
    q.set('embedded', '1');
    if (this.integrationKey != null) q.set('integrationKey', this.integrationKey);
    if (this.tenant) q.set('tenant', this.tenant);
    if (options.login && options.login.username) q.set('username', options.login.username);
    if (options.disableNewInteractionPopup) q.set('disablePopup', '1');
    if (options.standalone) q.set('standalone', '1');
    if (options.callQualityThresholds && typeof options.callQualityThresholds === 'object') {
      try { q.set('quality', JSON.stringify(options.callQualityThresholds)); } catch (e) { /* not JSON: ignored */ }
    }
    var src = this.serverUrl + '/widget/?' + q.toString();

    var frame = options.adcFrame;
    if (typeof frame === 'string') frame = doc.querySelector(frame);
    if (frame) {
      if (!frame.src || frame.src === 'about:blank') frame.src = src;
      return frame;
    }
    frame = doc.createElement('iframe');
    frame.src = src;
    frame.title = 'Agent Desktop';
    frame.setAttribute('data-testid', 'baton-widget-frame');
    frame.setAttribute('allow', 'microphone; autoplay; clipboard-write');
    frame.className = 'baton-widget-frame';
    var root = options.mountRoot;
    if (typeof root === 'string') root = doc.querySelector(root);
    if (options.standalone || !root) {
      this._hidden = true;
      frame.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      root = doc.body || doc.documentElement;
    } else {
      this._applyFrameSize(frame);
    }
    root.appendChild(frame);
    return frame;
  };

  /**
   * Sizes the widget for a side panel: a fixed width (so a flex or auto-width panel such as
   * Bright Pattern's `<aside class="communicator">` does not collapse it), never narrower
   * than WIDGET_MIN_WIDTH; `adaptiveWidth: true` fills the panel's width instead.
   */
  AdApi.prototype._applyFrameSize = function (frame) {
    var s = frame.style;
    s.border = '0';
    s.display = 'block';
    s.minWidth = WIDGET_MIN_WIDTH;
    s.width = this.options.adaptiveWidth ? '100%' : WIDGET_WIDTH;
    s.maxWidth = '100%';
    s.height = this._minimized ? MINIMIZED_HEIGHT : '100%';
    s.minHeight = this._minimized ? MINIMIZED_HEIGHT : WIDGET_MIN_HEIGHT;
  };

  AdApi.prototype._log = function (name, data) {
    if (!this._logger) return;
    try { this._logger(name, data); } catch (e) { logError('Baton: the message logger threw:', e); }
  };

  AdApi.prototype._post = function (msg) {
    var w = this.frame && this.frame.contentWindow;
    if (!w) return false;
    w.postMessage(msg, this.widgetOrigin);
    return true;
  };

  AdApi.prototype._sendHello = function () {
    if (this._ready || this._refused || this._destroyed) return;
    try {
      this._post({ type: 'baton:hello', integrationKey: this.integrationKey, sdk: 2 });
    } catch (e) { /* the frame may still be about:blank */ }
  };

  AdApi.prototype._startHello = function () {
    var self = this, n = 0;
    this._stopHello();
    var tick = function () {
      if (self._ready || self._refused || self._destroyed) { self._helloTimer = null; return; }
      self._sendHello();
      n++;
      // Quick at first (the widget is loading), then slowly while the agent logs in.
      self._helloTimer = setTimeout(tick, n < 40 ? HELLO_INTERVAL_MS : 1000);
    };
    tick();
  };

  AdApi.prototype._stopHello = function () {
    if (this._helloTimer) { clearTimeout(this._helloTimer); this._helloTimer = null; }
  };

  AdApi.prototype._receive = function (ev) {
    if (this._destroyed) return;
    if (!this.frame || ev.source !== this.frame.contentWindow) return;
    if (ev.origin !== this.widgetOrigin) return;
    var m = ev.data;
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'baton:present':
        if (!this._present) {
          this._present = true;
          var lq = this._localQueue.concat(this._queue); this._localQueue = []; this._queue = [];
          lq.sort(function (a, b) { return a.id - b.id; });
          for (var j = 0; j < lq.length; j++) this._post(lq[j]);
        }
        break;
      case 'baton:ready':
        this._stopHello();
        this._session = m.session && typeof m.session === 'object' ? m.session : this._session;
        this._ctx.session = this._session;
        if (!this._present) { this._present = true; var lq2 = this._localQueue; this._localQueue = []; lq2.forEach(this._post, this); }
        if (!this._ready) {
          this._ready = true;
          var q = this._queue; this._queue = [];
          for (var i = 0; i < q.length; i++) this._post(q[i]);
        }
        break;
      case 'baton:unready':
        this._ready = false;
        this._session = null;
        this._ctx.session = null;
        break;
      case 'baton:refused':
        this._refuse(m);
        break;
      case 'baton:response':
        this._settle(m.id, m.result);
        break;
      case 'baton:event':
        this._onWireEvent(m.event, Array.isArray(m.args) ? m.args : [], m.rid);
        break;
      case 'baton:callback':
        this._onCallback(m.cid, m.event, Array.isArray(m.args) ? m.args : []);
        break;
      default:
        break;
    }
  };

  AdApi.prototype._refuse = function (m) {
    this._stopHello();
    this._ready = false;
    var info = {
      code: typeof m.code === 'number' ? m.code : 1,
      name: m.name || codeNames[m.code] || 'not_enough_privileges',
      message: m.message || 'This page is not allowed to use this integration.',
      integrationKey: this.integrationKey,
      origin: global.location.origin,
    };
    this._refused = info;
    logError('Baton: the server refused this page (' + info.origin + ') for ' +
      (info.integrationKey == null ? 'its tenant\'s integrations' : 'integration "' + info.integrationKey + '"') +
      ': ' + info.message);
    var q = this._queue.concat(this._localQueue); this._queue = []; this._localQueue = [];
    for (var i = 0; i < q.length; i++) this._settle(q[i].id, errorResult(info.code, info.message));
    var self = this;
    Object.keys(this._pending).forEach(function (id) { self._settle(id, errorResult(info.code, info.message)); });
    this._dispatch('ON_HOST_REFUSED', [info]);
    this._dispatch('ON_SERVER_ERROR', [Shapes.serverError({ code: info.code, name: info.name, message: info.message })]);
  };

  AdApi.prototype._settle = function (id, result) {
    var p = this._pending[id];
    if (!p) return;
    delete this._pending[id];
    clearTimeout(p.timer);
    if (!result || (result.status !== 'success' && result.status !== 'error')) {
      result = errorResult(99, 'malformed answer from the widget');
    }
    if (result.status === 'success') {
      try {
        result = ok(Shapes.result(p.method, result.data, this._ctx, p.args));
      } catch (e) {
        result = errorResult(99, 'cannot read the answer to ' + p.method + ': ' + (e && e.message));
      }
    } else if (!result.error || typeof result.error.code !== 'number') {
      result = errorResult(99, 'malformed error from the widget');
    } else if (!result.error.name) {
      result = errorResult(result.error.code, result.error.message);
    }
    if (p.method === 'login' && result.status === 'success' && result.data && typeof result.data === 'object') {
      this._session = result.data; this._ctx.session = result.data;
      result = ok(null);
    }
    this._log(messageName(p.method) + '_RESPONSE', result);
    p.resolve(result);
  };

  /** Resolves `result` for `method` at once (after logging it like any other answer). */
  AdApi.prototype._answer = function (method, args, result) {
    this._log(messageName(method), args);
    this._log(messageName(method) + '_RESPONSE', result);
    return Promise.resolve(result);
  };

  /**
   * Sends one method call. Positional arguments are forwarded exactly; `undefined` becomes
   * `null`, and so does `""` where the argument is an interaction id. The arguments travel as
   * JSON text so the server receives exactly what was serialised here (explicit transfer data
   * is byte-exact). `local` calls go to the widget itself and work before the login.
   */
  AdApi.prototype._call = function (method, argsIn, local) {
    var self = this;
    var args = Array.prototype.slice.call(argsIn);
    return new Promise(function (resolve) {
      if (self._destroyed) return resolve(errorResult(7, 'this AdApi was destroyed'));
      if (self._refused) return resolve(errorResult(self._refused.code, self._refused.message));
      var idAt = BP_METHODS.hasOwnProperty(method) ? BP_METHODS[method] : BATON_METHODS[method];
      var list = [];
      for (var i = 0; i < args.length; i++) {
        var a = args[i];
        if (a === undefined || (i === idAt && a === '')) a = null;
        list.push(a);
      }
      if (method === 'getDispositionsList' && list[0] && typeof list[0] === 'object' && list[0].interactionId === '') {
        list[0] = Object.assign({}, list[0]); delete list[0].interactionId;
      }
      var argsJson;
      try {
        argsJson = JSON.stringify(list);
      } catch (e) {
        return resolve(errorResult(3, 'arguments cannot be serialised as JSON: ' + (e && e.message)));
      }
      self._log(messageName(method), method === 'login' ? [Object.assign({}, list[0], { password: '***' }), list[1]] : list);
      var id = ++self._seq;
      var msg = { type: local ? 'baton:local' : 'baton:request', id: id, method: method, argsJson: argsJson };
      self._pending[id] = {
        resolve: resolve, method: method, args: list,
        timer: setTimeout(function () {
          self._queue = self._queue.filter(function (m) { return m.id !== id; });
          self._localQueue = self._localQueue.filter(function (m) { return m.id !== id; });
          self._settle(id, errorResult(6, 'the agent desktop did not answer "' + method + '" within ' +
            (REQUEST_TIMEOUT_MS / 1000) + ' s'));
        }, REQUEST_TIMEOUT_MS),
      };
      // Once the widget is there it answers every call: at once `not_logged_in` when nobody
      // is logged in, else when its login or reconnection is done.
      if (local) {
        if (self._present) self._post(msg); else self._localQueue.push(msg);
      } else if (self._ready || self._present) self._post(msg);
      else self._queue.push(msg);
    });
  };

  // ---------------------------------------------------------------- events

  /** Subscribes `handler` to `event`. Handlers may be sync or async. */
  AdApi.prototype.on = function (event, handler) {
    if (typeof handler !== 'function') {
      logError('Baton: on("' + event + '") needs a function');
      return;
    }
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    if (event === 'ON_HOST_REFUSED' && this._refused) {
      // Late subscribers still learn about a refusal that already happened.
      var info = this._refused;
      setTimeout(function () { runHandler(handler, [info], event); }, 0);
    }
  };

  /** Unsubscribes `handler` (or every handler of `event` when `handler` is omitted). */
  AdApi.prototype.remove = function (event, handler) {
    var list = this._handlers[event];
    if (!list) return;
    if (!handler) { delete this._handlers[event]; return; }
    var i = list.lastIndexOf(handler);
    if (i >= 0) list.splice(i, 1);
  };
  AdApi.prototype.off = AdApi.prototype.remove;

  /** Calls `callback(messageName, data)` for every request, response and event (Bright Pattern's names). */
  AdApi.prototype.injectMessageLogger = function (callback) {
    this._logger = typeof callback === 'function' ? callback : null;
  };

  /** Runs one handler, turning a throw or a rejection into `{failed: error}`. */
  function runHandler(h, args, event) {
    var out;
    try {
      out = h.apply(null, args);
    } catch (e) {
      logError('Baton: a ' + event + ' handler threw:', e);
      return Promise.resolve({ failed: e });
    }
    return Promise.resolve(out).then(
      function (v) { return { value: v }; },
      function (e) { logError('Baton: a ' + event + ' handler rejected:', e); return { failed: e }; });
  }

  /**
   * Runs every handler of an event that wants an answer. All of them run; the answer is the
   * value of the last registered handler whose value is neither `undefined` nor `null`
   * (`null`/`undefined` mean "no data"). Resolves `{value?, failed?}`.
   */
  AdApi.prototype._collect = function (event, args) {
    var handlers = (this._handlers[event] || []).slice();
    return Promise.all(handlers.map(function (h) { return runHandler(h, args, event); })).then(function (results) {
      var anyFailed;
      for (var i = results.length - 1; i >= 0; i--) {
        if (results[i].failed !== undefined && anyFailed === undefined) anyFailed = results[i].failed;
        if ('value' in results[i] && results[i].value != null) return { value: results[i].value };
      }
      return anyFailed === undefined ? {} : { failed: anyFailed };
    });
  };

  /** A server event relayed by the widget: map it, log it, run the handlers, answer `rid`. */
  AdApi.prototype._onWireEvent = function (event, wireArgs, rid) {
    var self = this;
    var args;
    try { args = Shapes.eventArgs(event, wireArgs, this._ctx); } catch (e) { args = wireArgs; }
    if (event === 'ON_LOGIN' && args[0]) {
      this._session = Object.assign({}, this._session || {}, { agentId: args[0].agentId, username: args[0].username });
      this._ctx.session = this._session;
    }
    this._log(event, args);
    if (event === 'ON_REQUEST_TRANSFER_DATA' && rid != null) {
      this._collect(event, args).then(function (r) {
        if (r.value === undefined) {
          self._log(event + '_RESPONSE', null);
          if (r.failed !== undefined) {
            self._post({ type: 'baton:reply', rid: rid, error: 'error: ' + String((r.failed && r.failed.message) || r.failed) });
          } else {
            self._post({ type: 'baton:reply', rid: rid });
          }
          return;
        }
        var text;
        try {
          text = JSON.stringify(r.value);
        } catch (e) {
          logError('Baton: transfer data cannot be serialised:', e);
          self._post({ type: 'baton:reply', rid: rid, error: 'invalid: ' + String((e && e.message) || e) });
          return;
        }
        if (text === undefined) {
          logError('Baton: transfer data is not a JSON value (' + typeof r.value + ')');
          self._post({ type: 'baton:reply', rid: rid, error: 'invalid: a ' + typeof r.value + ' is not a JSON value' });
          return;
        }
        self._log(event + '_RESPONSE', r.value);
        self._post({ type: 'baton:reply', rid: rid, value: text });
      });
      return;
    }
    var runs = this._dispatch(event, args);
    if (rid != null) {
      // ON_LOAD_TRANSFER_DATA (and any other event that wants an acknowledgement): answer
      // once every handler has settled.
      Promise.all(runs).then(function () { self._post({ type: 'baton:reply', rid: rid }); });
    }
  };

  /** A widget-driven callback (records, knowledge base, activity): collect and answer. */
  AdApi.prototype._onCallback = function (cid, event, wireArgs) {
    var self = this;
    var args;
    try { args = Shapes.callbackArgs(event, wireArgs, this._ctx); } catch (e) { args = wireArgs; }
    if (!BP_EVENTS[event]) {
      this._log(event, args);
      this._dispatch(event, args);
      this._post({ type: 'baton:callback-reply', cid: cid });
      return;
    }
    this._log(event, args);
    this._collect(event, args).then(function (r) {
      var value = r.value;
      var clean;
      try { clean = value === undefined ? undefined : JSON.parse(JSON.stringify(value)); } catch (e) { clean = undefined; }
      self._log(event + '_RESPONSE', clean === undefined ? null : clean);
      self._post({ type: 'baton:callback-reply', cid: cid, value: clean });
    });
  };

  AdApi.prototype._dispatch = function (event, args) {
    var handlers = (this._handlers[event] || []).slice();
    return handlers.map(function (h) { return runHandler(h, args, event); });
  };

  // ---------------------------------------------------------------- methods

  // Every method first forwards to the server; the ones below then replace the SDK- and
  // widget-local ones.
  Object.keys(BP_METHODS).concat(Object.keys(BATON_METHODS)).forEach(function (name) {
    AdApi.prototype[name] = function () { return this._call(name, arguments, false); };
  });

  VOICE_DEVICE_METHODS.forEach(function (name) {
    AdApi.prototype[name] = function () {
      return this._answer(name, Array.prototype.slice.call(arguments), errorResult(14, VOICE_DEVICE_MESSAGE));
    };
  });

  WIDGET_LOCAL_METHODS.forEach(function (name) {
    AdApi.prototype[name] = function () { return this._call(name, arguments, true); };
  });

  /** Answers at once: before the login (or while the widget loads) `{isLoggedIn: false}`. */
  AdApi.prototype.getLoginState = function () {
    if (this._ready || this._destroyed || this._refused) return this._call('getLoginState', arguments, false);
    return this._answer('getLoginState', [], ok({ isLoggedIn: false }));
  };

  /**
   * Logs the agent in through the widget (works with `standalone: true`, where the widget is
   * hidden). The tenant is `loginData.tenant`, else InitOptions `tenant` (or `login.tenant`),
   * else the widget URL's `?tenant=`. Baton always takes over an older session of the same
   * agent (the other one gets ON_SERVER_ERROR 100), so `force` changes nothing.
   */
  AdApi.prototype.login = function (loginData, force) {
    var d = loginData && typeof loginData === 'object' ? loginData : {};
    if (!d.username || !d.password) {
      return this._answer('login', [], errorResult(3, 'login needs {username, password, tenant?}'));
    }
    var data = { username: String(d.username), password: String(d.password), tenant: d.tenant || this.tenant || null };
    return this._call('login', [data, !!force], true);
  };

  /** Shows the widget's login form (and the hidden standalone widget, while nobody is logged in). */
  AdApi.prototype.openLogin = function () {
    if (this._hidden && !this._ready && this.frame && !this.options.adcFrame) {
      this._hidden = false;
      this.frame.style.cssText = 'position:fixed;right:16px;bottom:16px;z-index:2147483000;box-shadow:0 4px 24px rgba(0,0,0,.25);background:#fff';
      this.frame.removeAttribute('aria-hidden');
      this.frame.tabIndex = 0;
      this._applyFrameSize(this.frame);
      this.frame.style.height = '560px';
    }
    return this._call('openLogin', arguments, true);
  };

  /** Minimizes or restores the widget's frame; fires ON_WIDGET_MINIMIZED_CHANGE on a change. */
  AdApi.prototype.setWidgetMinimized = function (state) {
    var args = Array.prototype.slice.call(arguments);
    if (typeof state !== 'boolean') return this._answer('setWidgetMinimized', args, errorResult(3, 'state must be a boolean'));
    var changed = this._minimized !== state;
    this._minimized = state;
    if (this.frame && !this._hidden && !this.options.adcFrame) this._applyFrameSize(this.frame);
    if (this.frame) this.frame.setAttribute('data-minimized', state ? 'true' : 'false');
    var r = this._answer('setWidgetMinimized', args, ok(null));
    if (changed) { this._log('ON_WIDGET_MINIMIZED_CHANGE', [state]); this._dispatch('ON_WIDGET_MINIMIZED_CHANGE', [state]); }
    return r;
  };

  /** Brings the host page forward (focuses its window and the widget). */
  AdApi.prototype.activatePage = function () {
    try { global.focus(); } catch (e) { /* not allowed */ }
    return this._answer('activatePage', [], ok(null));
  };

  /** True once the widget is connected and the server accepted this page. */
  AdApi.prototype.isReady = function () { return this._ready; };

  /** The refusal, if the server refused this page for its integration key, else `null`. */
  AdApi.prototype.getRefusal = function () { return this._refused; };

  /** Removes the iframe (if the SDK created it) and stops listening. */
  AdApi.prototype.destroy = function () {
    this._destroyed = true;
    this._stopHello();
    global.removeEventListener('message', this._onMessage);
    var self = this;
    Object.keys(this._pending).forEach(function (id) { self._settle(id, errorResult(7, 'this AdApi was destroyed')); });
    if (!this.options.adcFrame && this.frame && this.frame.parentNode) this.frame.parentNode.removeChild(this.frame);
  };

  AdApi.EVENTS = EVENTS;
  AdApi.ResultErrorCodes = ResultErrorCodes;
  AdApi.ServerErrorCodes = ServerErrorCodes;
  /** Every request method: Bright Pattern's, then Baton's own. */
  AdApi.METHODS = Object.keys(BP_METHODS).concat(Object.keys(BATON_METHODS));
  AdApi.BP_METHODS = Object.keys(BP_METHODS);
  AdApi.BATON_METHODS = Object.keys(BATON_METHODS);
  AdApi.BP_EVENTS = Object.keys(BP_EVENTS);
  AdApi.BATON_EVENTS = Object.keys(BATON_EVENTS);
  AdApi.VOICE_DEVICE_METHODS = VOICE_DEVICE_METHODS.slice();
  AdApi.messageName = messageName;
  AdApi.Shapes = Shapes;

  var Baton = global.Baton || {};
  Baton.AdApi = AdApi;
  Baton.EVENTS = EVENTS;
  Baton.ResultErrorCodes = ResultErrorCodes;
  Baton.ServerErrorCodes = ServerErrorCodes;
  Baton.Shapes = Shapes;
  Baton.version = '2';
  global.Baton = Baton;
  global.brightpattern = global.brightpattern || {};
  global.brightpattern.AdApi = AdApi;
})(typeof window !== 'undefined' ? window : this);
