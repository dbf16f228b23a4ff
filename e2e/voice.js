// Shared by the browser tests of call audio (voice-audio, voice-devices): each party is
// its own Chromium with a fake microphone playing a tone file, and a Web Audio analyser
// tells which tones a page receives.
import { chromium } from 'playwright-core';
import { CHROMIUM, waitFor } from './helpers.js';

/** Each party's tone (Hz); the hold music's notes are 660, 784, 880 and 990 Hz. */
export const TONES = { customer: 440, alice: 1250, bob: 2000, dave: 1600 };
export const HOLD_NOTES = [660, 784, 880, 990];

/** A mono 16-bit PCM WAV of a sine tone (Chromium loops the file as the microphone). */
export function toneWav(freq, seconds = 4, rate = 48000) {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + n * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(rate * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(0.4 * 32767 * Math.sin(2 * Math.PI * freq * i / rate)), 44 + i * 2);
  return buf;
}

export function launch(wav) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'],
  });
}

/**
 * Levels (dB, the loudest over ~0.8 s) at each frequency of `freqs` in what this frame
 * receives from the server. `tracksExpr` names the frame's received tracks.
 */
export async function listen(frame, freqs) {
  return frame.evaluate(async (freqs) => {
    const calls = window.batonCall ? [window.batonCall] : Object.values(window.batonCalls || {});
    const tracks = calls.flatMap((c) => c.remoteTracks());
    const ctx = window.__probe || (window.__probe = new AudioContext());
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    const sources = tracks.map((t) => { const s = ctx.createMediaStreamSource(new MediaStream([t])); s.connect(analyser); return s; });
    const bins = new Float32Array(analyser.frequencyBinCount);
    const hz = ctx.sampleRate / analyser.fftSize;
    const best = freqs.map(() => -Infinity);
    for (let k = 0; k < 8; k++) {
      await new Promise((r) => setTimeout(r, 100));
      analyser.getFloatFrequencyData(bins);
      freqs.forEach((f, i) => {
        const c = Math.round(f / hz);
        for (let b = c - 3; b <= c + 3; b++) best[i] = Math.max(best[i], bins[b]);
      });
    }
    sources.forEach((s) => s.disconnect());
    return best;
  }, freqs);
}

/** Whether a level is a tone heard (a silent or absent stream reads below -100 dB). */
export const HEARD = -70;

export async function hears(frame, what) {
  const parties = Object.keys(TONES);
  const levels = await listen(frame, [...parties.map((p) => TONES[p]), ...HOLD_NOTES]);
  // A tone counts when it is clearly there and not just leakage beside a much louder one.
  const floor = Math.max(HEARD, Math.max(...levels) - 30);
  const got = { hold: levels.slice(parties.length).some((l) => l > floor) };
  parties.forEach((p, i) => { got[p] = levels[i] > floor; });
  return { ...got, levels: levels.map((l) => Math.round(l)), what };
}

/** Waits until `frame` hears exactly `expected` (parties' tones, `hold` for the music). */
export async function expectHears(frame, who, expected) {
  let last;
  await waitFor(`${who} to hear ${JSON.stringify(expected)}`, async () => {
    last = await hears(frame, who);
    return [...Object.keys(TONES), 'hold'].every((k) => last[k] === expected.includes(k));
  }, 12000, 50).catch((e) => { throw new Error(`${e.message}; heard ${JSON.stringify(last)}`); });
}

export function widgetFrame(page) {
  return page.frames().find((f) => f.url().includes('/widget/'));
}
