/**
 * Customer chat page: `/chat/?grant=<chat grant>` (a short-lived signed grant, from
 * `POST /api/v1/chat-grants`), or `/chat/?ingress=<ingress token>` for a private page.
 *
 * Lists the tenant's chat services (`GET /api/v1/services`), starts a chat
 * (`POST /api/v1/interactions`), then talks over `/ws/customer?token=<customerToken>`:
 * it receives `message` and `state` events and sends `{"op":"message","args":[text]}`.
 * The conversation survives a reload of the page (sessionStorage) and reconnects with backoff.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var ingress = params.get('grant') || params.get('ingress') || '';
  var STORE = 'baton.chat.' + ingress;

  var conv = null;   // {id, customerToken}
  var ws = null;
  var attempt = 0;
  var ended = false;
  var seen = new Set();

  function $(id) { return document.getElementById(id); }
  function setError(msg) { $('error').textContent = msg || ''; }

  function api(method, path, token, body) {
    return fetch('/api/v1' + path, {
      method: method,
      headers: Object.assign({ Authorization: 'Bearer ' + token }, body ? { 'Content-Type': 'application/json' } : {}),
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (res) {
      return res.text().then(function (t) {
        var j = null; try { j = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
        if (!res.ok) {
          var e = new Error((j && j.error && j.error.message) || ('HTTP ' + res.status));
          e.status = res.status; throw e;
        }
        return j;
      });
    });
  }

  function statusText(s) {
    var names = (s.agentNames || []).join(', ');
    switch (s.state) {
      case 'queued': return 'You are in the queue for ' + (s.serviceName || 'the next agent') + '. An agent will be with you shortly.';
      case 'ringing': return 'Connecting you to an agent…';
      case 'connected': return 'You are chatting with ' + (names || 'an agent') + '.';
      case 'hold': return 'Please wait, the agent will be right back.';
      case 'transferring': return 'You are being transferred to another agent…';
      case 'completed': return 'The chat has ended. Thank you!';
      default: return s.state;
    }
  }

  function addMessage(m) {
    var key = m.at + '|' + m.from + '|' + m.text;
    if (seen.has(key)) return;
    seen.add(key);
    var li = document.createElement('li');
    li.className = 'msg from-' + m.from;
    li.setAttribute('data-testid', 'chat-message');
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = (m.from === 'customer' ? 'You' : (m.name || m.from)) + ': ';
    var text = document.createElement('span');
    text.textContent = m.text;
    li.appendChild(who); li.appendChild(text);
    $('transcript').appendChild(li);
    $('transcript').scrollTop = $('transcript').scrollHeight;
  }

  function onState(s) {
    $('status').textContent = statusText(s);
    $('status').setAttribute('data-state', s.state);
    if (s.state === 'completed') end();
  }

  function end() {
    ended = true;
    $('message').disabled = true;
    $('leave').disabled = true;
    try { sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
    if (ws) { try { ws.close(1000); } catch (e) { /* ignore */ } }
  }

  function connect() {
    if (ended || !conv) return;
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/customer?token=' + encodeURIComponent(conv.customerToken);
    var sock = new WebSocket(url);
    ws = sock;
    sock.onopen = function () { attempt = 0; setError(''); };
    sock.onmessage = function (ev) {
      var f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.event === 'message' && f.args && f.args[0]) addMessage(f.args[0]);
      else if (f.event === 'state' && f.args && f.args[0]) onState(f.args[0]);
    };
    sock.onclose = function () {
      if (ws !== sock || ended) return;
      ws = null;
      var delay = Math.min(15000, 500 * Math.pow(2, attempt++));
      $('status').textContent = 'Connection lost — reconnecting…';
      setTimeout(connect, delay);
    };
  }

  function loadServices() {
    if (!ingress) { setError('This chat link is incomplete (missing ?grant=).'); return; }
    api('GET', '/services', ingress).then(function (list) {
      var chat = (list || []).filter(function (s) { return (s.channels || []).indexOf('chat') >= 0; });
      if (!chat.length) { setError('Chat is not available right now.'); return; }
      var sel = $('service');
      chat.forEach(function (s) {
        var o = document.createElement('option'); o.value = s.name; o.textContent = s.name; sel.appendChild(o);
      });
      $('start').hidden = false;
    }, function (e) { setError('Chat is not available: ' + e.message); });
  }

  $('start').addEventListener('submit', function (ev) {
    ev.preventDefault();
    $('start-button').disabled = true;
    var body = { channel: 'chat', service: $('service').value, customer: { name: $('name').value.trim() } };
    if ($('email').value.trim()) body.customer.email = $('email').value.trim();
    api('POST', '/interactions', ingress, body).then(function (r) {
      conv = { id: r.id, customerToken: r.customerToken };
      try { sessionStorage.setItem(STORE, JSON.stringify(conv)); } catch (e) { /* ignore */ }
      begin();
    }, function (e) {
      $('start-button').disabled = false;
      setError('Could not start the chat: ' + e.message);
    });
  });

  function begin() {
    $('start').hidden = true;
    $('conversation').hidden = false;
    $('conversation').setAttribute('data-interaction-id', conv.id);
    connect();
    $('message').focus();
  }

  $('send-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('message').value;
    if (!text.trim() || ended) return;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ op: 'message', args: [text] }));
      $('message').value = '';
    } else {
      api('POST', '/interactions/' + encodeURIComponent(conv.id) + '/messages', conv.customerToken, { text: text })
        .then(function () { $('message').value = ''; }, function (e) { setError('Not sent: ' + e.message); });
    }
  });

  $('leave').addEventListener('click', function () {
    api('POST', '/interactions/' + encodeURIComponent(conv.id) + '/hangup', conv.customerToken).then(function () {
      onState({ state: 'completed' });
    }, function (e) { setError('Could not leave: ' + e.message); });
  });

  try { conv = JSON.parse(sessionStorage.getItem(STORE) || 'null'); } catch (e) { conv = null; }
  if (conv && conv.id) begin(); else loadServices();
})();
