/**
 * Baton host SDK — `adapi.js`.
 *
 * A CRM page (the "host") loads this file as a classic script:
 *
 *     <script src="https://baton.example.com/sdk/adapi.js"></script>
 *     const adApi = new Baton.AdApi({ integrationKey: 'my-crm', mountRoot: el });
 *     adApi.on('ON_REQUEST_TRANSFER_DATA', async (interactionId, meta) => ({ caseId: 'C-1' }));
 *
 * It is shaped like Bright Pattern's Agent Desktop client-side API, and sets
 * `window.brightpattern.AdApi` as an alias so integrations written for it run unchanged.
 *
 * # How it works
 * The SDK inserts the agent widget (`<server>/widget/?embedded=1&…`) as an iframe and talks
 * to it with `postMessage`, with strict origins both ways: it only accepts messages whose
 * `source` is its own iframe's window and whose `origin` is the server's origin, and posts
 * only to that origin. The widget talks to the server over a WebSocket. The message shapes
 * are listed in `web/README.md` and in `docs/protocol.md` ("Browser SDK additions").
 *
 * Every method returns `Promise<OperationResult<T>>` and never rejects: either
 * `{status: 'success', data}` or `{status: 'error', error: {code, name, message}}`.
 */
(function (global) {
  'use strict';

  /** AdApi result error codes, plus Baton's additions (21, 22) and the server errors. */
  var ResultErrorCodes = Object.freeze({
    not_enough_privileges: 1,
    not_logged_in: 2,
    invalid_args: 3,
    api_not_answer: 6,
    invalid_request: 7,
    timeout: 8,
    no_service: 11,
    self_call: 12,
    no_interaction: 13,
    api_method_not_implemented: 14,
    not_suitable_state: 15,
    object_not_found: 17,
    payload_too_large: 21,
    rate_limited: 22,
    unknown_error: 99,
  });

  /** Server error codes (carried by `ON_SERVER_ERROR`). */
  var ServerErrorCodes = Object.freeze({
    forced_logout_by_other_client: 100,
    destination_user_not_logged: 106,
    user_disabled_or_deleted: 107,
    invalid_credentials: 109,
    invalid_token: 111,
  });

  /** Every event a host can subscribe to with `on()`. */
  var EVENTS = Object.freeze({
    ON_LOGIN: 'ON_LOGIN',
    ON_LOGOUT: 'ON_LOGOUT',
    ON_AGENT_STATE_CHANGE: 'ON_AGENT_STATE_CHANGE',
    ON_NEW_INTERACTION: 'ON_NEW_INTERACTION',
    ON_INTERACTION_STATE_CHANGE: 'ON_INTERACTION_STATE_CHANGE',
    ON_INTERACTION_REMOVED: 'ON_INTERACTION_REMOVED',
    ON_ACTIVE_INTERACTION_SWITCHED: 'ON_ACTIVE_INTERACTION_SWITCHED',
    ON_CHAT_MESSAGE: 'ON_CHAT_MESSAGE',
    ON_REQUEST_TRANSFER_DATA: 'ON_REQUEST_TRANSFER_DATA',
    ON_LOAD_TRANSFER_DATA: 'ON_LOAD_TRANSFER_DATA',
    ON_TRANSFER_STATUS: 'ON_TRANSFER_STATUS',
    ON_SERVER_ERROR: 'ON_SERVER_ERROR',
    /** Baton addition: the server refused this page's origin for the integration key. */
    ON_HOST_REFUSED: 'ON_HOST_REFUSED',
  });

  /** Every method of the API, with its positional arguments (for documentation and checks). */
  var METHODS = [
    'getLoginState', 'logout', 'getAgentState', 'setAgentState', 'getTeams', 'getTeamMembers',
    'getServicesList', 'getInteractionsState', 'acceptInteraction', 'rejectInteraction',
    'switchActiveInteraction', 'sendChatMessage', 'setCallHold', 'leaveInteraction',
    'completeInteraction', 'addNote', 'getVariables', 'setVariable', 'blindTransfer',
    'consultCall', 'transfer', 'inviteToCallConference', 'mergeAllCallsIntoConference',
    'removeFromCallConference', 'inviteToChatConference', 'removeFromChatConference',
    'getTransferHistory',
  ];

  /** How long a request may wait for the widget's answer before it is `api_not_answer`. */
  var REQUEST_TIMEOUT_MS = 20000;
  /** How often the handshake is repeated until the widget answers. */
  var HELLO_INTERVAL_MS = 250;

  var codeNames = {};
  Object.keys(ResultErrorCodes).forEach(function (k) { codeNames[ResultErrorCodes[k]] = k; });
  Object.keys(ServerErrorCodes).forEach(function (k) { codeNames[ServerErrorCodes[k]] = k; });

  function errorResult(code, message) {
    return { status: 'error', error: { code: code, name: codeNames[code] || 'unknown_error', message: message } };
  }

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

  /**
   * @param {{integrationKey?: string|null, mountRoot?: Element|string, adcFrame?: HTMLIFrameElement|string,
   *          standalone?: boolean, disableNewInteractionPopup?: boolean, serverUrl?: string,
   *          login?: {tenant?: string, username?: string}}} [options]
   */
  function AdApi(options) {
    if (!(this instanceof AdApi)) return new AdApi(options);
    options = options || {};
    var self = this;
    this.options = options;
    this.integrationKey = options.integrationKey == null ? null : String(options.integrationKey);
    this.serverUrl = new URL(options.serverUrl || defaultBase(), global.location.href).origin;
    this.widgetOrigin = this.serverUrl;
    this._handlers = {};
    this._pending = {};
    this._queue = [];
    this._seq = 0;
    this._ready = false;
    this._refused = null;
    this._destroyed = false;

    this.frame = this._makeFrame(options);
    this._onMessage = function (ev) { self._receive(ev); };
    global.addEventListener('message', this._onMessage);

    // The widget (re)loads: hand-shake again, and queue calls until it is ready.
    this.frame.addEventListener('load', function () {
      if (self._destroyed || self._refused) return;
      self._ready = false;
      self._startHello();
    });
    this._startHello();
  }

  AdApi.prototype._makeFrame = function (options) {
    var doc = global.document;
    var q = new URLSearchParams();
    q.set('embedded', '1');
    if (this.integrationKey != null) q.set('integrationKey', this.integrationKey);
    if (options.login && options.login.tenant) q.set('tenant', options.login.tenant);
    if (options.login && options.login.username) q.set('username', options.login.username);
    if (options.disableNewInteractionPopup) q.set('disablePopup', '1');
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
      frame.style.cssText = 'position:absolute;width:0;height:0;border:0;visibility:hidden';
      frame.setAttribute('aria-hidden', 'true');
      frame.tabIndex = -1;
      root = doc.body || doc.documentElement;
    } else {
      frame.style.cssText = 'width:100%;height:100%;border:0;min-height:480px';
    }
    root.appendChild(frame);
    return frame;
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
      this._post({ type: 'baton:hello', integrationKey: this.integrationKey, sdk: 1 });
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
      case 'baton:ready':
        this._stopHello();
        if (!this._ready) {
          this._ready = true;
          var q = this._queue; this._queue = [];
          for (var i = 0; i < q.length; i++) this._post(q[i]);
        }
        break;
      case 'baton:unready':
        this._ready = false;
        break;
      case 'baton:refused':
        this._refuse(m);
        break;
      case 'baton:response':
        this._settle(m.id, m.result);
        break;
      case 'baton:event':
        this._dispatch(m.event, Array.isArray(m.args) ? m.args : [], m.rid);
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
    logError('Baton: the server refused this page (' + info.origin + ') for integration "' +
      info.integrationKey + '": ' + info.message);
    var q = this._queue; this._queue = [];
    for (var i = 0; i < q.length; i++) this._settle(q[i].id, errorResult(info.code, info.message));
    var self = this;
    Object.keys(this._pending).forEach(function (id) { self._settle(id, errorResult(info.code, info.message)); });
    this._dispatch('ON_HOST_REFUSED', [info]);
    this._dispatch('ON_SERVER_ERROR', [{ code: info.code, name: info.name, message: info.message }]);
  };

  AdApi.prototype._settle = function (id, result) {
    var p = this._pending[id];
    if (!p) return;
    delete this._pending[id];
    clearTimeout(p.timer);
    if (!result || (result.status !== 'success' && result.status !== 'error')) {
      result = errorResult(99, 'malformed answer from the widget');
    }
    p.resolve(result);
  };

  /**
   * Sends one method call. Positional arguments are forwarded exactly; `undefined` becomes
   * `null`. The arguments travel as JSON text so the server receives exactly what was
   * serialised here (explicit transfer data is byte-exact).
   */
  AdApi.prototype._call = function (method, args) {
    var self = this;
    return new Promise(function (resolve) {
      if (self._destroyed) return resolve(errorResult(7, 'this AdApi was destroyed'));
      if (self._refused) return resolve(errorResult(self._refused.code, self._refused.message));
      var list = [];
      for (var i = 0; i < args.length; i++) list.push(args[i] === undefined ? null : args[i]);
      var argsJson;
      try {
        argsJson = JSON.stringify(list);
      } catch (e) {
        return resolve(errorResult(3, 'arguments cannot be serialised as JSON: ' + (e && e.message)));
      }
      var id = ++self._seq;
      var msg = { type: 'baton:request', id: id, method: method, argsJson: argsJson };
      self._pending[id] = {
        resolve: resolve,
        timer: setTimeout(function () {
          self._queue = self._queue.filter(function (m) { return m.id !== id; });
          self._settle(id, errorResult(6, 'the agent desktop did not answer "' + method + '" within ' +
            (REQUEST_TIMEOUT_MS / 1000) + ' s'));
        }, REQUEST_TIMEOUT_MS),
      };
      if (self._ready) self._post(msg);
      else self._queue.push(msg);
    });
  };

  /** Subscribes `handler` to `event`. Handlers may be sync or async. */
  AdApi.prototype.on = function (event, handler) {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    (this._handlers[event] = this._handlers[event] || []).push(handler);
    if (event === 'ON_HOST_REFUSED' && this._refused) {
      // Late subscribers still learn about a refusal that already happened.
      var info = this._refused;
      setTimeout(function () { runHandler(handler, [info], event); }, 0);
    }
    return this;
  };

  /** Unsubscribes `handler` (or every handler of `event` when `handler` is omitted). */
  AdApi.prototype.remove = function (event, handler) {
    var list = this._handlers[event];
    if (!list) return this;
    if (!handler) { delete this._handlers[event]; return this; }
    var i = list.lastIndexOf(handler);
    if (i >= 0) list.splice(i, 1);
    return this;
  };
  AdApi.prototype.off = AdApi.prototype.remove;

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

  AdApi.prototype._dispatch = function (event, args, rid) {
    var self = this;
    var handlers = (this._handlers[event] || []).slice();
    if (event === 'ON_REQUEST_TRANSFER_DATA' && rid != null) {
      Promise.all(handlers.map(function (h) { return runHandler(h, args, event); })).then(function (results) {
        var value, anyFailed = null;
        for (var i = results.length - 1; i >= 0; i--) {
          if (results[i].failed !== undefined && !anyFailed) anyFailed = results[i].failed;
          if ('value' in results[i] && results[i].value !== undefined) { value = results[i].value; break; }
        }
        if (value === undefined) {
          if (anyFailed) {
            self._post({ type: 'baton:reply', rid: rid, error: 'error: ' + String((anyFailed && anyFailed.message) || anyFailed) });
          } else {
            self._post({ type: 'baton:reply', rid: rid });
          }
          return;
        }
        var text;
        try {
          text = JSON.stringify(value);
        } catch (e) {
          logError('Baton: transfer data cannot be serialised:', e);
          self._post({ type: 'baton:reply', rid: rid, error: 'invalid: ' + String((e && e.message) || e) });
          return;
        }
        if (text === undefined) {
          logError('Baton: transfer data is not a JSON value (' + typeof value + ')');
          self._post({ type: 'baton:reply', rid: rid, error: 'invalid: a ' + typeof value + ' is not a JSON value' });
          return;
        }
        self._post({ type: 'baton:reply', rid: rid, value: text });
      });
      return;
    }
    var runs = handlers.map(function (h) { return runHandler(h, args, event); });
    if (rid != null) {
      // ON_LOAD_TRANSFER_DATA (and any other event that wants an answer): acknowledge once
      // every handler has settled.
      Promise.all(runs).then(function () { self._post({ type: 'baton:reply', rid: rid }); });
    }
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

  METHODS.forEach(function (name) {
    AdApi.prototype[name] = function () { return this._call(name, arguments); };
  });

  AdApi.EVENTS = EVENTS;
  AdApi.ResultErrorCodes = ResultErrorCodes;
  AdApi.ServerErrorCodes = ServerErrorCodes;
  AdApi.METHODS = METHODS.slice();

  var Baton = global.Baton || {};
  Baton.AdApi = AdApi;
  Baton.EVENTS = EVENTS;
  Baton.ResultErrorCodes = ResultErrorCodes;
  Baton.ServerErrorCodes = ServerErrorCodes;
  Baton.version = '1';
  global.Baton = Baton;
  global.brightpattern = global.brightpattern || {};
  global.brightpattern.AdApi = AdApi;
})(typeof window !== 'undefined' ? window : this);
