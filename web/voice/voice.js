/**
 * Call audio for Baton's pages (docs/voice.md): one RTCPeerConnection per call to Baton's
 * media plane, signalled over the page's own WebSocket.
 *
 * The page gives `signal(op, args)` (resolving with the answer's `data`, rejecting on an
 * error); this file does the rest: the page's voice config (`voiceConfig`: audio slots,
 * STUN/TURN servers with fresh TURN credentials, quality thresholds), the microphone on one
 * send-receive audio transceiver, `slots - 1` receive-only ones (the server forwards each
 * other party of the call on its own slot, so a transfer or a conference needs no
 * renegotiation), the SDP offer (`voiceOffer`), an <audio> element per received track, and
 * a watch on the connection's statistics for call-quality alerts.
 *
 *   var call = BatonVoice.start({ signal: fn, container: el, onStatus: fn, onQuality: fn });
 *   call.remoteTracks(); call.setMicrophone(deviceId); call.hangup();
 *
 * Status words given to `onStatus`: `connecting`, `connected`, `failed`, `closed`.
 */
(function () {
  'use strict';

  /** Audio m-lines offered when the server does not say (the default `[media] slots`). */
  var SLOTS = 4;
  /** How often the statistics are read for the quality watch. */
  var QUALITY_INTERVAL_MS = 1000;
  /** Defaults of `[media.quality]` (the server's voice config normally gives them). */
  var DEFAULT_THRESHOLDS = { maxPacketLossPercent: 5, maxJitterMs: 30, maxRoundTripMs: 400 };
  /** Samples in a row over a threshold before the call is bad, under all before it is good
   *  again: one bad second is not an alert, and an alert does not flap. */
  var BAD_AFTER = 2;
  var GOOD_AFTER = 3;
  /** Packet loss is measured over this many samples, and only with enough packets in them
   *  (a held or muted call receives nothing, which is not loss). */
  var LOSS_WINDOW = 5;
  var LOSS_MIN_PACKETS = 50;

  /**
   * The quality watch, without I/O: feed it one `RTCStatsReport` (or an array of stats
   * objects) per interval; `update` answers `true` when the call crosses into bad, `false`
   * when it is back to good, `null` otherwise. Measures: received packet loss (inbound-rtp
   * audio, over the last few samples), jitter (the worst inbound stream) and the round
   * trip (the selected candidate pair, else remote-inbound-rtp).
   * @param {{maxPacketLossPercent:number, maxJitterMs:number, maxRoundTripMs:number}} thresholds
   */
  function QualityMonitor(thresholds) {
    this.thresholds = thresholdsOf(thresholds);
    this.bad = false;
    this.run = 0;
    this.history = [];
    this.last = null;
  }

  QualityMonitor.prototype.update = function (report) {
    var lost = 0, received = 0, jitter = null, rtt = null, pairRtt = null;
    var list = [];
    if (report && typeof report.forEach === 'function') report.forEach(function (s) { list.push(s); });
    list.forEach(function (s) {
      if (!s || s.kind && s.kind !== 'audio') return;
      if (s.type === 'inbound-rtp') {
        lost += Math.max(0, s.packetsLost || 0);
        received += s.packetsReceived || 0;
        if (typeof s.jitter === 'number' && (s.packetsReceived || 0) > 0) jitter = Math.max(jitter || 0, s.jitter * 1000);
      } else if (s.type === 'candidate-pair' && (s.nominated || s.selected) && s.state === 'succeeded' &&
          typeof s.currentRoundTripTime === 'number') {
        pairRtt = s.currentRoundTripTime * 1000;
      } else if (s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number') {
        rtt = Math.max(rtt || 0, s.roundTripTime * 1000);
      }
    });
    if (pairRtt !== null) rtt = pairRtt;
    this.history.push({ lost: lost, received: received });
    if (this.history.length > LOSS_WINDOW + 1) this.history.shift();
    var first = this.history[0];
    var dLost = lost - first.lost, dReceived = received - first.received;
    var loss = dLost + dReceived >= LOSS_MIN_PACKETS ? 100 * dLost / (dLost + dReceived) : null;
    var t = this.thresholds;
    var over = (loss !== null && loss > t.maxPacketLossPercent) ||
      (jitter !== null && jitter > t.maxJitterMs) || (rtt !== null && rtt > t.maxRoundTripMs);
    this.last = { packetLossPercent: loss, jitterMs: jitter, roundTripMs: rtt, over: over };
    if (over === this.bad) { this.run = 0; return null; }
    this.run++;
    if (this.run < (this.bad ? GOOD_AFTER : BAD_AFTER)) return null;
    this.bad = over;
    this.run = 0;
    return over;
  };

  /** Defaults, overridden by the server's config, overridden by the page's (positive numbers only). */
  function thresholdsOf() {
    var out = {};
    Object.keys(DEFAULT_THRESHOLDS).forEach(function (k) { out[k] = DEFAULT_THRESHOLDS[k]; });
    for (var i = 0; i < arguments.length; i++) {
      var o = arguments[i];
      if (!o || typeof o !== 'object') continue;
      Object.keys(DEFAULT_THRESHOLDS).forEach(function (k) {
        var v = Number(o[k]);
        if (o[k] != null && isFinite(v) && v > 0) out[k] = v;
      });
    }
    return out;
  }

  /**
   * Starts one call's audio.
   * @param {object} opts `signal(op, args)`; `container`; `onStatus(word)`; `onError(e)`;
   *   `deviceId` (the microphone); `iceServers` (instead of the server's); `quality`
   *   (thresholds over the server's); `onQuality(alert, measures)` on crossing into bad
   *   (`true`) and back to good (`false`).
   */
  function start(opts) {
    var closed = false;
    var pc = null;
    var mic = null;
    var audios = [];
    var tracks = [];
    var status = '';
    var qualityTimer = null;
    var monitor = null;

    function setStatus(s) {
      if (status === s) return;
      status = s;
      if (opts.onStatus) { try { opts.onStatus(s); } catch (e) { /* the page's problem */ } }
    }

    function stopAll() {
      if (qualityTimer) { clearInterval(qualityTimer); qualityTimer = null; }
      audios.forEach(function (a) { a.srcObject = null; a.remove(); });
      audios = [];
      if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
      if (pc) pc.close();
    }

    function microphone(deviceId) {
      var audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
      if (deviceId) audio.deviceId = { exact: deviceId };
      return navigator.mediaDevices.getUserMedia({ audio: audio });
    }

    function watchQuality() {
      qualityTimer = setInterval(function () {
        if (closed || !pc) return;
        pc.getStats().then(function (report) {
          if (closed) return;
          var alert = monitor.update(report);
          if (alert !== null && opts.onQuality) {
            try { opts.onQuality(alert, monitor.last); } catch (e) { /* the page's problem */ }
          }
        }).catch(function () { /* closed meanwhile */ });
      }, QUALITY_INTERVAL_MS);
    }

    setStatus('connecting');
    var ready = Promise.resolve(opts.signal('voiceConfig', [])).then(function (config) {
      config = config || {};
      monitor = new QualityMonitor(thresholdsOf(config.quality, opts.quality));
      // A remembered microphone may be gone (a headset unplugged since): the call still
      // gets audio from the default one rather than none.
      var opened = microphone(opts.deviceId).catch(function (e) {
        if (!opts.deviceId) throw e;
        return microphone('');
      });
      return opened.then(function (stream) {
        mic = stream;
        if (closed) { stopAll(); return; }
        pc = new RTCPeerConnection({ iceServers: opts.iceServers || config.iceServers || [] });
        var slots = Math.max(1, Number(config.slots) || SLOTS);
        var sender = pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendrecv', streams: [stream] });
        for (var i = 1; i < slots; i++) pc.addTransceiver('audio', { direction: 'recvonly' });
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
        watchQuality();
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
      /** The quality watch's last measures and whether the call is in alert. */
      quality: function () { return monitor ? { alert: monitor.bad, last: monitor.last, thresholds: monitor.thresholds } : null; },
      /** The microphone track being sent (null before it is open). */
      micTrack: function () { return mic ? mic.getAudioTracks()[0] || null : null; },
      /**
       * Sends another microphone on the live call: the new track replaces the old one on
       * the same sender (`replaceTrack`), so nothing is renegotiated and the server sees the
       * same stream. Resolves when the new microphone is on air; rejects (keeping the old
       * one) when it cannot be opened.
       */
      setMicrophone: function (deviceId) {
        return ready.then(function () {
          if (closed || !call.sender) throw new Error('the call has no audio');
          return microphone(deviceId).then(function (stream) {
            if (closed) { stream.getTracks().forEach(function (t) { t.stop(); }); throw new Error('the call has no audio'); }
            var track = stream.getAudioTracks()[0];
            var old = mic && mic.getAudioTracks()[0];
            // A muted (disabled) microphone stays muted on the new device.
            if (old) track.enabled = old.enabled;
            return call.sender.replaceTrack(track).then(function () {
              if (mic) mic.getTracks().forEach(function (t) { t.stop(); });
              mic = stream;
            }, function (e) { stream.getTracks().forEach(function (t) { t.stop(); }); throw e; });
          });
        });
      },
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

  /**
   * Whether this browser can carry call audio at all: WebRTC and a microphone API.
   * (Permission and an actual microphone are learned when one is opened.)
   */
  function supported() {
    return !!(window.RTCPeerConnection && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /** The microphones and speakers (`enumerateDevices`; labels once permission was given). */
  function devices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return Promise.resolve({ inputs: [], outputs: [] });
    return navigator.mediaDevices.enumerateDevices().then(function (list) {
      function of(kind) {
        return list.filter(function (d) { return d.kind === kind; })
          .map(function (d) { return { deviceId: d.deviceId, label: d.label || '' }; });
      }
      return { inputs: of('audioinput'), outputs: of('audiooutput') };
    });
  }

  window.BatonVoice = {
    start: start, supported: supported, devices: devices, QualityMonitor: QualityMonitor,
    SLOTS: SLOTS, DEFAULT_THRESHOLDS: DEFAULT_THRESHOLDS,
  };
})();
