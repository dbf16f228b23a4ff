// The call-quality watch of web/voice/voice.js as a unit (docs/voice.md, "Call quality"):
// `BatonVoice.QualityMonitor` is fed statistics shaped like Chromium's RTCStatsReport, a
// second apart, and must alert once on crossing into bad and once on coming back, never
// every second, and only on enough packets. (voice-devices.test.js degrades a real call.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';

const source = readFileSync(new URL('../web/voice/voice.js', import.meta.url), 'utf8');
const window = {};
runInNewContext(source, { window, navigator: {} });
const { QualityMonitor, DEFAULT_THRESHOLDS } = window.BatonVoice;

/** A report as Chromium's: one inbound audio stream and the selected candidate pair. */
function report({ received, lost, jitterMs = 5, rttMs = 40 }) {
  return new Map([
    ['IT01A', { type: 'inbound-rtp', kind: 'audio', packetsReceived: received, packetsLost: lost, jitter: jitterMs / 1000 }],
    ['CP01', { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: rttMs / 1000 }],
    ['OT01', { type: 'outbound-rtp', kind: 'audio', packetsSent: received }],
  ]);
}

/** Feeds one sample a second (50 packets each, `lossPct` of them lost); returns the alerts. */
function feed(m, seconds, { lossPct = 0, jitterMs, rttMs, at }) {
  const alerts = [];
  for (let i = 0; i < seconds; i++) {
    const lostNow = Math.round(50 * lossPct / 100);
    at.received += 50 - lostNow; at.lost += lostNow;
    const a = m.update(report({ received: at.received, lost: at.lost, jitterMs, rttMs }));
    if (a !== null) alerts.push(a);
  }
  return alerts;
}

test('packet loss over the threshold alerts once, and good audio clears it once', () => {
  const m = new QualityMonitor(DEFAULT_THRESHOLDS);
  const at = { received: 0, lost: 0 };
  assert.deepEqual(feed(m, 8, { at }), [], 'a good call never alerts');
  assert.deepEqual(feed(m, 10, { lossPct: 20, at }), [true], 'crossing into bad: one alert, not one a second');
  assert.ok(m.last.packetLossPercent > 5);
  assert.deepEqual(feed(m, 12, { at }), [false], 'back to good: one alert');
});

test('a single bad second does not alert, and the alert does not flap', () => {
  const m = new QualityMonitor({ maxPacketLossPercent: 100, maxJitterMs: 30, maxRoundTripMs: 400 });
  const at = { received: 0, lost: 0 };
  assert.deepEqual(feed(m, 1, { jitterMs: 80, at }), []);
  assert.deepEqual(feed(m, 3, { at }), []);
  assert.deepEqual(feed(m, 2, { jitterMs: 80, at }), [true], 'jitter over 30 ms two seconds running');
  // Good, bad, good, bad: never three good seconds in a row, so no all-clear.
  assert.deepEqual(feed(m, 2, { at }).concat(feed(m, 1, { jitterMs: 80, at }), feed(m, 2, { at })), []);
  assert.deepEqual(feed(m, 3, { at }), [false]);
});

test('the round trip and the thresholds given by the page count; silence is not loss', () => {
  const m = new QualityMonitor({ maxRoundTripMs: 100 });
  assert.equal(m.thresholds.maxPacketLossPercent, DEFAULT_THRESHOLDS.maxPacketLossPercent, 'missing ones keep the default');
  const at = { received: 0, lost: 0 };
  assert.deepEqual(feed(m, 3, { rttMs: 150, at }), [true]);
  assert.equal(m.last.roundTripMs, 150);

  // A held call receives nothing: no packets, no loss measure, no alert.
  const quiet = new QualityMonitor(DEFAULT_THRESHOLDS);
  for (let i = 0; i < 10; i++) assert.equal(quiet.update(report({ received: 0, lost: 3 })), null);
  assert.equal(quiet.last.packetLossPercent, null);
  // Nonsense thresholds are ignored.
  assert.deepEqual(new QualityMonitor({ maxJitterMs: -1, maxRoundTripMs: 'x' }).thresholds, DEFAULT_THRESHOLDS);
});
