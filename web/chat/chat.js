/**
 * Customer chat page: `/chat/?grant=<chat grant>` (a short-lived signed grant, from
 * `POST /api/v1/chat-grants`), or `/chat/?ingress=<ingress token>` for a private page.
 *
 * Lists the tenant's chat services (`GET /api/v1/services`), starts a chat
 * (`POST /api/v1/interactions`), then talks over `/ws/customer?token=<customerToken>`:
 * it receives `limits`, `message`, `state` and `typing` events and sends
 * `{"op":"message","args":[text],"id":n}` (answered by id, so a refused text stays in the
 * input) and `{"op":"typing","args":[bool]}`.
 *
 * "Call us" starts a voice interaction instead: once an agent is on it, the page opens one
 * peer connection to Baton's media plane (`../voice/voice.js`, docs/voice.md) with the
 * socket's `voiceOffer` op, and plays what the server forwards (the agent, or hold music).
 *
 * The conversation survives a reload of the page (sessionStorage) and reconnects with
 * backoff; when a socket cannot be reopened, `GET …/customer-state` tells whether the chat
 * has ended, and then the page says so, stops and forgets the saved session.
 */
(function () {
  'use strict';

  var params = new URLSearchParams(location.search);
  var ingress = params.get('grant') || params.get('ingress') || '';
  var STORE = 'baton.chat.' + ingress;
  /** How long after the last keystroke the customer counts as no longer typing. */
  var TYPING_IDLE_MS = 3000;

  var conv = null;   // {id, customerToken}
  var ws = null;
  var attempt = 0;
  var ended = false;
  var seen = new Set();
  var maxChars = null;       // from the server: `limits` event or customer-state
  var last = null;           // the last `state` shown
  var nextId = 1;
  var pending = {};          // request id → text being sent
  var typingNames = {};      // agent name → true while they type
  var typingSent = false;
  var typingTimer = null;
  var voice = null;          // the call's audio (BatonVoice), while an agent is on the call
  var voiceWaiting = {};     // request id → {resolve, reject} of voice signalling

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
          e.status = res.status; e.code = j && j.error && j.error.code; throw e;
        }
        return j;
      });
    });
  }

  function names(list) {
    if (!list || !list.length) return 'an agent';
    if (list.length === 1) return list[0];
    return list.slice(0, -1).join(', ') + ' and ' + list[list.length - 1];
  }

  function minutes(ms) {
    var m = Math.max(1, Math.round(ms / 60000));
    return 'about ' + m + (m === 1 ? ' minute' : ' minutes');
  }

  function queuedText(s) {
    var text = s.position ? 'You are number ' + s.position + ' in the queue' : 'You are in the queue';
    text += s.serviceName ? ' for ' + s.serviceName + '.' : '.';
    if (s.agentsAvailable === false) return text + ' No agent is available right now; please stay, you keep your place.';
    if (s.expectedWaitMs != null) return text + ' Expected wait: ' + minutes(s.expectedWaitMs) + '.';
    return text + ' An agent will be with you shortly.';
  }

  function statusText(s) {
    switch (s.state) {
      case 'queued': return queuedText(s);
      case 'ringing': return 'Connecting you to an agent…';
      case 'connected': return 'You are chatting with ' + names(s.agentNames) + '.';
      case 'hold': return 'Please wait, ' + names(s.agentNames) + ' will be right back.';
      case 'transferring': return 'You are being transferred to another agent…';
      case 'completed': return 'The chat has ended. Thank you!';
      default: return s.state;
    }
  }

  function scrollDown() { $('transcript').scrollTop = $('transcript').scrollHeight; }

  function addMessage(m) {
    var key = m.at + '|' + m.from + '|' + m.text + '|' + (m.attachment ? m.attachment.id : '');
    if (seen.has(key)) return;
    seen.add(key);
    if (m.from === 'agent' && typingNames[m.name]) { delete typingNames[m.name]; showTyping(); }
    var li = document.createElement('li');
    li.className = 'msg from-' + m.from;
    li.setAttribute('data-testid', 'chat-message');
    var who = document.createElement('span');
    who.className = 'who';
    who.textContent = (m.from === 'customer' ? 'You' : (m.name || m.from)) + ': ';
    var text = document.createElement('span');
    text.textContent = m.text;
    if (m.attachment) text = attachmentLink(m.attachment);
    li.appendChild(who); li.appendChild(text);
    $('transcript').appendChild(li);
    scrollDown();
  }

  /** A line in the transcript that says what happened (joined, left, queued, ended…). */
  function notice(kind, text) {
    var li = document.createElement('li');
    li.className = 'notice';
    li.setAttribute('data-testid', 'chat-notice');
    li.setAttribute('data-kind', kind);
    li.textContent = text;
    $('transcript').appendChild(li);
    scrollDown();
  }

  function noticesFor(prev, s) {
    var before = (prev && prev.agentNames) || [];
    var now = s.agentNames || [];
    if (s.state === 'queued' && (!prev || prev.state !== 'queued')) notice('queued', queuedText(s));
    else if (s.state === 'queued' && s.agentsAvailable === false && prev.agentsAvailable !== false) {
      notice('no-agent', 'No agent is available right now; please stay, you keep your place.');
    }
    if (s.state === 'transferring' && (!prev || prev.state !== 'transferring')) {
      notice('transferred', 'You are being transferred to another agent.');
    }
    if (prev) {
      now.forEach(function (n) { if (before.indexOf(n) < 0) notice('joined', n + ' joined the chat.'); });
      if (s.state !== 'completed') {
        before.forEach(function (n) { if (now.indexOf(n) < 0) notice('left', n + ' left the chat.'); });
      }
    } else if (s.state === 'connected' && now.length) {
      notice('joined', 'You are chatting with ' + names(now) + '.');
    }
    if (s.state === 'completed') notice('ended', 'The chat has ended.');
  }

  function onState(s) {
    if (ended) return;
    if (!last || JSON.stringify(last) !== JSON.stringify(s)) noticesFor(last, s);
    last = s;
    $('status').textContent = statusText(s);
    $('status').setAttribute('data-state', s.state);
    if (s.state !== 'connected' && s.state !== 'hold') { typingNames = {}; showTyping(); }
    syncVoice(s);
    if (s.state === 'completed') end();
  }

  // ----- call audio (voice interactions only) ------------------------------------------------

  /** A voice op over the socket, answered by id. */
  function signal(op, args) {
    return new Promise(function (resolve, reject) {
      if (!ws || ws.readyState !== WebSocket.OPEN) { reject(new Error('not connected')); return; }
      var id = nextId++;
      voiceWaiting[id] = { resolve: resolve, reject: reject };
      ws.send(JSON.stringify({ op: op, args: args, id: id }));
    });
  }

  var CALL_WORDS = { connecting: 'Connecting the call audio…', connected: 'Call audio connected.', failed: 'The call audio was lost.', closed: 'Call ended.' };

  /** Audio flows from the moment an agent first answers until the call ends. */
  function syncVoice(s) {
    if (!conv || conv.channel !== 'voice') return;
    var live = s.state === 'connected' || s.state === 'hold' || s.state === 'transferring';
    if (live && !voice && ws && ws.readyState === WebSocket.OPEN) {
      $('call-status').hidden = false;
      voice = window.BatonVoice.start({
        signal: signal,
        container: $('call-audio'),
        onStatus: function (st) {
          $('call-status').textContent = CALL_WORDS[st] || st;
          $('call-status').setAttribute('data-state', st);
        },
        onError: function (e) { setError('No call audio: ' + e.message); },
      });
      window.batonCall = voice;
    } else if (s.state === 'completed' && voice) {
      voice.hangup();
      voice = null;
    }
  }


  function showTyping() {
    var who = Object.keys(typingNames);
    var el = $('typing');
    if (!who.length) { el.textContent = ''; el.hidden = true; return; }
    el.hidden = false;
    el.textContent = names(who) + (who.length === 1 ? ' is typing…' : ' are typing…');
  }

  function onTyping(t) {
    if (!t || !t.name) return;
    if (t.typing) typingNames[t.name] = true; else delete typingNames[t.name];
    showTyping();
  }

  function setLimits(l) {
    if (l && typeof l.maxMessageChars === 'number') { maxChars = l.maxMessageChars; updateCounter(); }
    if (l && l.attachments) setAttachLimits(l.attachments);
  }

  // ----- attachments (decision 0014): uploaded and fetched by REST with the customer token --

  var attachLimits = null;   // {maxBytes, types} from customer-state
  var TYPE_WORDS = {
    'image/png': 'PNG', 'image/jpeg': 'JPEG', 'image/gif': 'GIF', 'image/webp': 'WebP',
    'application/pdf': 'PDF', 'text/plain': 'text',
  };

  function size(n) {
    if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0) + ' MB';
    if (n >= 1024) return Math.round(n / 1024) + ' KB';
    return n + ' bytes';
  }

  function setAttachLimits(a) {
    attachLimits = a;
    var on = a.maxBytes > 0 && a.types && a.types.length > 0;
    $('attach-row').hidden = !on || ended;
    if (!on) return;
    $('attach-hint').textContent = 'Up to ' + size(a.maxBytes) + ': ' +
      a.types.map(function (t) { return TYPE_WORDS[t] || t; }).join(', ');
  }

  /** A transcript entry for a file: a link that downloads it with the token. */
  function attachmentLink(a) {
    var link = document.createElement('a');
    link.href = '#';
    link.className = 'file';
    link.setAttribute('data-testid', 'chat-attachment');
    link.setAttribute('data-attachment-id', a.id);
    link.textContent = a.name + ' (' + size(a.size) + ')';
    link.addEventListener('click', function (ev) {
      ev.preventDefault();
      fetch('/api/v1/interactions/' + encodeURIComponent(conv.id) + '/attachments/' + encodeURIComponent(a.id), {
        headers: { Authorization: 'Bearer ' + conv.customerToken },
      }).then(function (res) {
        if (!res.ok) throw new Error(res.status === 404 ? 'the file is no longer available' : 'HTTP ' + res.status);
        return res.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement('a');
        save.href = url; save.download = a.name;
        document.body.appendChild(save); save.click(); save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
      }, function (e) { setError('Cannot download ' + a.name + ': ' + e.message); });
    });
    return link;
  }

  function sendFile(file) {
    setError('');
    if (attachLimits && file.size > attachLimits.maxBytes) {
      setError('Not sent: ' + file.name + ' is ' + size(file.size) + '; files may be up to ' + size(attachLimits.maxBytes) + '.');
      return;
    }
    $('attach-hint').textContent = 'Sending ' + file.name + '…';
    fetch('/api/v1/interactions/' + encodeURIComponent(conv.id) + '/attachments?filename=' + encodeURIComponent(file.name), {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + conv.customerToken, 'Content-Type': file.type || 'application/octet-stream' },
      body: file,
    }).then(function (res) {
      return res.text().then(function (t) {
        var j = null; try { j = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
        if (!res.ok) throw new Error((j && j.error && j.error.message) || ('HTTP ' + res.status));
        return j;
      });
    }).then(function () {
      if (attachLimits) setAttachLimits(attachLimits);
    }, function (e) {
      setError('Not sent: ' + file.name + ': ' + e.message + '.');
      if (attachLimits) setAttachLimits(attachLimits);
    });
  }

  $('file').addEventListener('change', function () {
    var f = $('file').files && $('file').files[0];
    $('file').value = '';
    if (f && conv && !ended) sendFile(f);
  });

  /** Shows the length against the limit, and refuses a too long text before it is sent. */
  function updateCounter() {
    var n = $('message').value.length;
    var counter = $('counter');
    if (maxChars == null) { counter.textContent = ''; $('send').disabled = ended; return; }
    var over = n > maxChars;
    counter.textContent = over
      ? 'Too long: ' + n + ' of at most ' + maxChars + ' characters'
      : n + ' / ' + maxChars;
    counter.classList.toggle('over', over);
    $('send').disabled = ended || over;
    $('message').setAttribute('aria-invalid', over ? 'true' : 'false');
  }

  function end() {
    ended = true;
    if (voice) { voice.hangup(); voice = null; }
    $('attach-row').hidden = true;
    $('message').disabled = true;
    $('send').disabled = true;
    $('leave').hidden = true;
    $('new-chat').hidden = false;
    typingNames = {}; showTyping();
    try { sessionStorage.removeItem(STORE); } catch (e) { /* ignore */ }
    if (ws) { var s = ws; ws = null; try { s.close(1000); } catch (e) { /* ignore */ } }
  }

  function sendTyping(on) {
    if (typingSent === on || !ws || ws.readyState !== WebSocket.OPEN) return;
    typingSent = on;
    ws.send(JSON.stringify({ op: 'typing', args: [on] }));
  }

  function onResponse(f) {
    var w = voiceWaiting[f.id];
    if (w) {
      delete voiceWaiting[f.id];
      if (f.result.status === 'error') w.reject(new Error(f.result.error.message)); else w.resolve(f.result.data);
      return;
    }
    var text = pending[f.id];
    if (text === undefined) return;
    delete pending[f.id];
    var r = f.result || {};
    if (r.status === 'error') {
      setError('Not sent: ' + ((r.error && r.error.message) || 'the server refused the message') + '. Your text is still in the box.');
    } else if ($('message').value === text) {
      $('message').value = '';
      updateCounter();
    }
  }

  /** After a socket closed unasked: ended chats stop here, others reconnect with backoff. */
  function recover() {
    api('GET', '/interactions/' + encodeURIComponent(conv.id) + '/customer-state', conv.customerToken).then(function (r) {
      setLimits(r);
      if (r.state && r.state.state === 'completed') { onState(r.state); return; }
      retry();
    }, function (e) {
      if (e.status === 401 || e.status === 403 || e.status === 404) {
        onState({ state: 'completed', agentNames: [] });
        return;
      }
      retry();
    });
  }

  function retry() {
    if (ended) return;
    var delay = Math.min(15000, 500 * Math.pow(2, attempt++));
    $('status').textContent = 'Connection lost — reconnecting…';
    $('status').setAttribute('data-state', 'reconnecting');
    setTimeout(connect, delay);
  }

  function connect() {
    if (ended || !conv) return;
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/customer?token=' + encodeURIComponent(conv.customerToken);
    var sock = new WebSocket(url);
    ws = sock;
    typingSent = false;
    sock.onopen = function () { attempt = 0; setError(''); };
    sock.onmessage = function (ev) {
      var f; try { f = JSON.parse(ev.data); } catch (e) { return; }
      var a = (f.args && f.args[0]) || null;
      if (f.event === 'message' && a) addMessage(a);
      else if (f.event === 'state' && a) onState(a);
      else if (f.event === 'typing' && a) onTyping(a);
      else if (f.event === 'limits' && a) setLimits(a);
      else if (f.result && f.id != null) onResponse(f);
      else if (f.result && f.result.status === 'error') setError(f.result.error.message);
    };
    sock.onclose = function () {
      if (ws !== sock || ended) return;
      ws = null;
      // The server closes a socket's media with it; the next `state` on a new socket reopens it.
      if (voice) { voice.hangup(); voice = null; }
      Object.keys(voiceWaiting).forEach(function (id) { voiceWaiting[id].reject(new Error('connection lost')); });
      voiceWaiting = {};
      // Sends still waiting for an answer keep their text in the box; say so.
      if (Object.keys(pending).length) { pending = {}; setError('Not sent: the connection was lost. Your text is still in the box.'); }
      recover();
    };
  }

  function loadServices() {
    if (!ingress) { setError('This chat link is incomplete (missing ?grant=).'); return; }
    api('GET', '/services', ingress).then(function (list) {
      var chat = (list || []).filter(function (s) { return (s.channels || []).indexOf('chat') >= 0; });
      voiceServices = (list || []).filter(function (s) { return (s.channels || []).indexOf('voice') >= 0; }).map(function (s) { return s.name; });
      if (!chat.length && !voiceServices.length) { setError('Chat is not available right now.'); return; }
      var sel = $('service');
      (chat.length ? chat : list.filter(function (s) { return voiceServices.indexOf(s.name) >= 0; })).forEach(function (s) {
        var o = document.createElement('option'); o.value = s.name; o.textContent = s.name; sel.appendChild(o);
      });
      $('start-button').hidden = !chat.length;
      $('call-button').hidden = !voiceServices.length || !window.RTCPeerConnection;
      $('start').hidden = false;
    }, function (e) { setError('Chat is not available: ' + e.message); });
  }

  var voiceServices = [];

  /** Starts a chat, or (`channel` voice, "Call us") a call, in the chosen service. */
  function startInteraction(channel) {
    $('start-button').disabled = true;
    $('call-button').disabled = true;
    var body = { channel: channel, service: $('service').value, customer: { name: $('name').value.trim() } };
    if ($('email').value.trim()) body.customer.email = $('email').value.trim();
    api('POST', '/interactions', ingress, body).then(function (r) {
      conv = { id: r.id, customerToken: r.customerToken, channel: channel };
      try { sessionStorage.setItem(STORE, JSON.stringify(conv)); } catch (e) { /* ignore */ }
      begin();
    }, function (e) {
      $('start-button').disabled = false;
      $('call-button').disabled = false;
      setError('Could not start the ' + (channel === 'voice' ? 'call' : 'chat') + ': ' + e.message);
    });
  }

  $('start').addEventListener('submit', function (ev) {
    ev.preventDefault();
    startInteraction('chat');
  });

  $('call-button').addEventListener('click', function () {
    if (!$('start').reportValidity()) return;
    if (voiceServices.indexOf($('service').value) < 0) { setError('Calls are not taken for this topic.'); return; }
    startInteraction('voice');
  });

  function begin() {
    $('start').hidden = true;
    $('conversation').hidden = false;
    $('conversation').setAttribute('data-interaction-id', conv.id);
    api('GET', '/interactions/' + encodeURIComponent(conv.id) + '/customer-state', conv.customerToken)
      .then(setLimits, function () { /* the socket's events say the rest */ });
    connect();
    $('message').focus();
  }

  $('message').addEventListener('input', function () {
    updateCounter();
    if (ended) return;
    sendTyping($('message').value.length > 0);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { sendTyping(false); }, TYPING_IDLE_MS);
  });

  $('send-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = $('message').value;
    if (!text.trim() || ended) return;
    if (maxChars != null && text.length > maxChars) {
      setError('Not sent: the message is ' + text.length + ' characters long; at most ' + maxChars + ' fit.');
      return;
    }
    setError('');
    clearTimeout(typingTimer);
    if (ws && ws.readyState === WebSocket.OPEN) {
      var id = nextId++;
      pending[id] = text;
      sendTyping(false);
      ws.send(JSON.stringify({ op: 'message', args: [text], id: id }));
    } else {
      api('POST', '/interactions/' + encodeURIComponent(conv.id) + '/messages', conv.customerToken, { text: text })
        .then(function () {
          if ($('message').value === text) { $('message').value = ''; updateCounter(); }
        }, function (e) { setError('Not sent: ' + e.message + '. Your text is still in the box.'); });
    }
  });

  $('leave').addEventListener('click', function () {
    api('POST', '/interactions/' + encodeURIComponent(conv.id) + '/hangup', conv.customerToken).then(function () {
      onState({ state: 'completed', agentNames: [] });
    }, function (e) {
      if (e.code === 13) { onState({ state: 'completed', agentNames: [] }); return; }
      setError('Could not leave: ' + e.message);
    });
  });

  $('new-chat').addEventListener('click', function () { location.reload(); });

  try { conv = JSON.parse(sessionStorage.getItem(STORE) || 'null'); } catch (e) { conv = null; }
  if (conv && conv.id) begin(); else loadServices();
})();
