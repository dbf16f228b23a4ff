/**
 * Demo CRM: a host page that uses every transfer-data feature of the Baton SDK.
 *
 * - Pops the matching case on ON_NEW_INTERACTION (by customer name, phone or email; an
 *   unknown customer gets a new case).
 * - ON_REQUEST_TRANSFER_DATA returns `{caseId, notesDraft, url}` for the interaction's case.
 * - ON_LOAD_TRANSFER_DATA opens the same case, shows who transferred it and the draft, and
 *   marks replays.
 * - ON_TRANSFER_STATUS shows the sender the per-integration outcome of each transfer.
 *
 * `?agent=<username>` pre-fills the widget login (tenant `demo`, or `?tenant=`).
 * `window.crmApp` is exposed for tests and debugging.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var agent = params.get('agent') || '';
  var tenant = params.get('tenant') || 'demo';

  var cases = [
    { id: 'C-1001', name: 'Carol Chen', phone: '+1 555 0101', email: 'carol@example.com', notes: 'Gold customer. Asked about the annual plan.' },
    { id: 'C-1002', name: 'Dan Okafor', phone: '+1 555 0102', email: 'dan@example.com', notes: 'Router replaced in March.' },
    { id: 'C-1003', name: 'Erin Novak', phone: '+1 555 0103', email: 'erin@example.com', notes: 'Prefers email follow-up.' },
    { id: 'C-1004', name: 'Farid Haddad', phone: '+1 555 0104', email: 'farid@example.com', notes: 'Open billing dispute #88.' },
  ];
  var nextCase = 1005;

  var app = {
    adApi: null,
    cases: cases,
    openCaseId: null,
    byInteraction: {},   // interactionId -> caseId
    drafts: {},          // caseId -> notes draft
    interactions: {},    // interactionId -> InteractionData
    loads: [],           // every ON_LOAD_TRANSFER_DATA, for tests: {interactionId, data, meta}
    requests: [],        // every ON_REQUEST_TRANSFER_DATA: {interactionId, meta}
    statuses: {},        // transferId -> TransferStatus
    banners: {},         // interactionId -> {text, replay}: who handed it over
    bannerFor: null,     // the interaction whose banner is shown, if any
  };
  window.crmApp = app;

  function $(id) { return document.getElementById(id); }
  function norm(s) { return String(s || '').toLowerCase().replace(/[^a-z0-9@.+]/g, ''); }
  function digits(s) { return String(s || '').replace(/\D/g, ''); }
  function findCase(id) { for (var i = 0; i < cases.length; i++) if (cases[i].id === id) return cases[i]; return null; }

  function matchCase(c) {
    if (!c) return null;
    for (var i = 0; i < cases.length; i++) {
      var k = cases[i];
      if (c.email && norm(c.email) === norm(k.email)) return k;
      if (c.phone && digits(c.phone) && digits(c.phone) === digits(k.phone)) return k;
      if (c.name && norm(c.name) === norm(k.name)) return k;
    }
    return null;
  }

  function createCase(c, id) {
    var k = { id: id || ('C-' + (nextCase++)), name: (c && c.name) || 'Unknown customer', phone: (c && c.phone) || '', email: (c && c.email) || '', notes: 'New case.' };
    cases.push(k);
    return k;
  }

  function saveDraft() { if (app.openCaseId) app.drafts[app.openCaseId] = $('notes-draft').value; }

  function openCase(id) {
    saveDraft();
    app.openCaseId = id;
    render();
  }

  $('notes-draft').addEventListener('input', saveDraft);

  function render() {
    var list = $('case-list');
    list.replaceChildren.apply(list, cases.map(function (k) {
      var b = document.createElement('button');
      b.type = 'button';
      b.textContent = k.id + ' · ' + k.name;
      b.className = k.id === app.openCaseId ? 'selected' : '';
      b.setAttribute('data-testid', 'case-item');
      b.setAttribute('data-case-id', k.id);
      if (k.id === app.openCaseId) b.setAttribute('aria-current', 'true');
      b.addEventListener('click', function () { openCase(k.id); });
      var li = document.createElement('li'); li.appendChild(b); return li;
    }));
    var k = findCase(app.openCaseId);
    $('case-fields').hidden = !k;
    $('case-title').textContent = k ? k.id + ' — ' + k.name : 'No case open';
    $('case-title').setAttribute('data-case-id', k ? k.id : '');
    if (k) {
      $('case-name').textContent = k.name;
      $('case-phone').textContent = k.phone || '—';
      $('case-email').textContent = k.email || '—';
      $('case-notes').textContent = k.notes;
      var ixId = Object.keys(app.byInteraction).filter(function (i) { return app.byInteraction[i] === k.id; }).pop();
      $('case-interaction').textContent = ixId || '—';
      $('notes-draft').value = app.drafts[k.id] || '';
    } else {
      $('case-notes').textContent = '';
      $('notes-draft').value = '';
    }
    var out = $('transfer-outcomes');
    out.replaceChildren.apply(out, Object.keys(app.statuses).map(function (tid) {
      var s = app.statuses[tid];
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'transfer-outcome');
      li.setAttribute('data-phase', s.phase);
      li.setAttribute('data-outcomes', (s.outcomes || []).map(function (o) { return o.outcome; }).join(' '));
      li.textContent = s.kind + ' → ' + s.target + ' · ' + s.phase + ' · ' +
        ((s.outcomes || []).map(function (o) { return o.integrationKey + ': ' + o.outcome + ' (' + (o.bytes || 0) + ' bytes)'; }).join(', ') || 'no outcome yet');
      return li;
    }));
  }

  /** The customer of a Bright Pattern InteractionData: the external party, phone and email. */
  function customerOf(ix) {
    if (!ix) return null;
    var parties = (ix.type === 'voice' ? ix.callParties : ix.chatParties) || [];
    var ext = parties.filter(function (p) { return ix.type === 'voice' ? !p.userId : p.type === 'external'; })[0];
    return { name: ext && ext.name, phone: ix.phoneNumber, email: ix.email };
  }

  function caseForInteraction(ix) {
    var c = customerOf(ix);
    var k = matchCase(c);
    if (!k) k = createCase(c);
    return k;
  }

  // ------------------------------------------------------------------ SDK

  $('agent').textContent = agent || '(log in in the desktop)';
  var adApi = new Baton.AdApi({
    integrationKey: 'demo-crm',
    mountRoot: $('widget'),
    adaptiveWidth: true,
    login: { tenant: tenant, username: agent },
  });
  app.adApi = adApi;

  adApi.on('ON_LOGIN', function (info) {
    $('sdk-status').textContent = 'Connected as ' + (info && (info.displayName || info.username));
    $('sdk-status').className = 'status ok';
  });
  adApi.on('ON_LOGOUT', function () { $('sdk-status').textContent = 'Logged out'; $('sdk-status').className = 'status'; });

  adApi.on('ON_HOST_REFUSED', function (r) {
    $('refused').hidden = false;
    $('refused').textContent = 'The agent desktop refused this page: ' + r.message;
    $('sdk-status').textContent = 'Refused';
    $('sdk-status').className = 'status bad';
  });

  /**
   * Shows the hand-off banner of `interactionId`, or none: a banner belongs to the
   * interaction it was for, so another interaction's case never shows it.
   */
  function showBanner(interactionId) {
    var b = $('transfer-banner');
    var banner = interactionId ? app.banners[interactionId] : null;
    app.bannerFor = banner ? interactionId : null;
    b.hidden = !banner;
    b.textContent = banner ? banner.text : '';
    b.setAttribute('data-replay', banner && banner.replay ? 'true' : 'false');
    b.setAttribute('data-interaction-id', banner ? interactionId : '');
  }

  adApi.on('ON_NEW_INTERACTION', function (ix) {
    app.interactions[ix.interactionId] = ix;
    if (app.byInteraction[ix.interactionId]) return;
    var k = caseForInteraction(ix);
    app.byInteraction[ix.interactionId] = k.id;
    openCase(k.id);
    showBanner(ix.interactionId);
  });

  adApi.on('ON_INTERACTION_STATE_CHANGE', function (ix) { app.interactions[ix.interactionId] = ix; });
  adApi.on('ON_ACTIVE_INTERACTION_SWITCHED', function (id) {
    if (app.byInteraction[id]) openCase(app.byInteraction[id]);
    showBanner(id);
  });

  adApi.on('ON_REQUEST_TRANSFER_DATA', function (interactionId, meta) {
    app.requests.push({ interactionId: interactionId, meta: meta });
    if ($('simulate-hang').checked) return new Promise(function () { /* never settles */ });
    saveDraft();
    var caseId = app.byInteraction[interactionId] || app.openCaseId;
    if (!caseId) return undefined;
    return { caseId: caseId, notesDraft: app.drafts[caseId] || '', url: location.origin + location.pathname + '#case=' + caseId };
  });

  adApi.on('ON_LOAD_TRANSFER_DATA', function (interactionId, data, meta) {
    app.loads.push({ interactionId: interactionId, data: data, meta: meta });
    var caseId = data && typeof data === 'object' ? data.caseId : null;
    if (caseId) {
      if (!findCase(caseId)) {
        var ix = app.interactions[interactionId];
        createCase(customerOf(ix), caseId);
      }
      app.byInteraction[interactionId] = caseId;
      if (typeof data.notesDraft === 'string') app.drafts[caseId] = data.notesDraft;
      app.openCaseId = null;
      openCase(caseId);
    }
    app.banners[interactionId] = {
      replay: !!(meta && meta.replay),
      text: 'Transferred by ' + ((meta && (meta.fromAgentName || meta.fromAgentId)) || 'another agent') +
        ' (' + ((meta && meta.kind) || 'transfer') + ')' + (meta && meta.replay ? ' — replayed' : ''),
    };
    showBanner(interactionId);
  });

  adApi.on('ON_TRANSFER_STATUS', function (s) {
    if (!s || !s.transferId) return;
    app.statuses[s.transferId] = s;
    render();
  });

  adApi.on('ON_INTERACTION_REMOVED', function (ix) {
    var id = typeof ix === 'string' ? ix : ix && ix.interactionId;
    delete app.interactions[id];
    delete app.banners[id];
    if (app.bannerFor === id) showBanner(null);
  });

  render();
})();
