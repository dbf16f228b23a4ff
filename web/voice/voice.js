/**
 * Call audio for Baton's pages (docs/voice.md): one RTCPeerConnection per call to Baton's
 * media plane, signalled over the page's own WebSocket.
 *
 * The page gives `signal(op, args)` (resolving with the answer's `data`, rejecting on an
 * error); this file does the rest: the microphone on one send-receive audio transceiver,
 * `slots - 1` receive-only ones (the server forwards each other party of the call on its
 * own slot, so a transfer or a conference needs no renegotiation), the SDP offer
 * (`voiceOffer`), and an <audio> element per received track.
 *
 *   var call = BatonVoice.start({ signal: fn, container: el, onStatus: fn });
 *   call.remoteTracks(); call.hangup();
 *
 * Status words given to `onStatus`: `connecting`, `connected`, `failed`, `closed`.
 */
(function () {
  'use strict';

  /** Audio m-lines offered: the server's default `[media] slots`. */
  var SLOTS = 4;

  function start(opts) {
    var closed = false;
    var pc = null;
    var mic = null;
    var audios = [];
    var tracks = [];
    var status = '';

    function setStatus(s) {
      if (status === s) return;
      status = s;
      if (opts.onStatus) { try { opts.onStatus(s); } catch (e) { /* the page's problem */ } }
    }

    function stopAll() {
      audios.forEach(function (a) { a.srcObject = null; a.remove(); });
      audios = [];
      if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
      if (pc) pc.close();
    }

    setStatus('connecting');
    var audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
    if (opts.deviceId) audio.deviceId = { exact: opts.deviceId };
    var ready = navigator.mediaDevices.getUserMedia({ audio: audio }).then(function (stream) {
      mic = stream;
      if (closed) { stopAll(); return; }
      pc = new RTCPeerConnection({ iceServers: opts.iceServers || [] });
      var sender = pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendrecv', streams: [stream] });
      for (var i = 1; i < SLOTS; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = function (ev) {
        tracks.push(ev.track);
        var el = document.createElement('audio');
        el.autoplay = true;
        el.setAttribute('data-testid', 'call-audio');
        el.srcObject = new MediaStream([ev.track]);
        (opts.container || document.body).appendChild(el);
        audios.push(el);
      };
      pc.onconnectionstatechange = function () {
        if (closed) return;
        var s = pc.connectionState;
        if (s === 'connected') setStatus('connected');
        else if (s === 'failed' || s === 'disconnected') setStatus('failed');
      };
      call.sender = sender.sender;
      return pc.createOffer().then(function (offer) {
        return pc.setLocalDescription(offer);
      }).then(function () {
        // ICE-lite server: it learns the browser's address from the browser's checks, so the
        // offer goes at once, without waiting for (or trickling) the browser's candidates.
        return opts.signal('voiceOffer', [pc.localDescription.sdp]);
      }).then(function (answer) {
        if (closed) return;
        return pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      });
    }).catch(function (e) {
      if (!closed) { setStatus('failed'); if (opts.onError) opts.onError(e); }
    });

    var call = {
      ready: ready,
      sender: null,
      remoteTracks: function () { return tracks.slice(); },
      status: function () { return status; },
      stats: function () { return pc ? pc.getStats() : Promise.resolve(new Map()); },
      /** Sends RFC 4733 digits when the connection negotiated them; false otherwise. */
      dtmf: function (digits) {
        var d = call.sender && call.sender.dtmf;
        if (!d || !d.canInsertDTMF) return false;
        // insertDTMF replaces what is still queued: keep it, and add these after.
        d.insertDTMF(d.toneBuffer + digits, 120, 70);
        return true;
      },
      hangup: function () {
        if (closed) return;
        closed = true;
        stopAll();
        setStatus('closed');
      },
    };
    return call;
  }

  window.BatonVoice = { start: start, SLOTS: SLOTS };
})();
