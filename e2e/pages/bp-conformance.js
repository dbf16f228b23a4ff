/**
 * Host page for e2e/bp-conformance.test.js, written from Bright Pattern's API definition: it
 * loads the SDK from the server's Bright Pattern path, registers a handler for every event
 * and records what it sees in `window.conf`. Served with `script-src 'self' <server>`.
 */
(function () {
  'use strict';
  var q = new URLSearchParams(location.search);
  var EVENTS = [
    'ON_LOGIN', 'ON_LOGOUT', 'ON_NEW_INTERACTION', 'ON_INTERACTION_REMOVED', 'ON_INTERACTION_STATE_CHANGE',
    'ON_ACTIVE_INTERACTION_SWITCHED', 'ON_AGENT_STATE_CHANGE', 'ON_REQUEST_TRANSFER_DATA', 'ON_LOAD_TRANSFER_DATA',
    'ON_GET_KNOWLEDGE_BASE_FOLDER', 'ON_SEARCH_KNOWLEDGE_BASE', 'ON_GET_KNOWLEDGE_BASE_ARTICLE', 'ON_OPEN_RECORD',
    'ON_SEARCH_RECORDS', 'ON_SHOW_SCREEN', 'ON_SCREEN_RECORDING_STATE_CHANGE', 'ON_WIDGET_MINIMIZED_CHANGE',
    'ON_SERVER_ERROR', 'ON_SOFTPHONE_STATUS_CHANGE', 'ON_AUDIO_DEVICE_CHANGE', 'ON_PHONE_CAPABILITIES_CHANGE',
    'ON_CALL_AUDIO_QUALITY_ALERT', 'ON_SUMMARY_GENERATION_STARTED', 'ON_SUMMARY_GENERATION_COMPLETED',
    'ON_WEB_SCREEN_POP_CUSTOM', 'ON_SAVE_ACTIVITY_RECORD', 'ON_VALIDATE_ASSOCIATED_RECORDS',
    'ON_REQUEST_RECORD_INFO', 'ON_REQUEST_RECORD_ON_SCREEN',
  ];
  var conf = window.conf = {
    api: null, ready: false, events: [], messages: [],
    /** What ON_REQUEST_TRANSFER_DATA answers (null: no data). */
    transferData: null,
    /** Answers of the other callbacks, by event name (undefined: no answer). */
    answers: {},
  };

  function plain(v) { try { return JSON.parse(JSON.stringify(v === undefined ? null : v)); } catch (e) { return String(v); } }

  function init() {
    var options = { integrationKey: q.get('key') };
    if (q.get('standalone') === '1') options.standalone = true;
    else options.mountRoot = document.getElementById('adc_mount_node');
    if (q.get('tenant')) options.tenant = q.get('tenant');
    if (q.get('noPopup') === '1') options.disableNewInteractionPopup = true;
    if (q.get('adaptive') === '1') options.adaptiveWidth = true;
    var api = new window.brightpattern.AdApi(options);
    conf.api = api;
    api.injectMessageLogger(function (name, data) { conf.messages.push({ name: name, data: plain(data) }); });
    EVENTS.forEach(function (event) {
      api.on(event, function () {
        var args = Array.prototype.slice.call(arguments);
        conf.events.push({ event: event, args: plain(args) });
        if (event === 'ON_REQUEST_TRANSFER_DATA') return conf.transferData;
        return conf.answers[event];
      });
    });
    conf.ready = true;
    document.getElementById('status').textContent = 'ready';
  }

  var s = document.createElement('script');
  s.src = q.get('server') + '/agent/crmembedded/adapters/api.js';
  s.addEventListener('load', init);
  document.head.appendChild(s);
})();
