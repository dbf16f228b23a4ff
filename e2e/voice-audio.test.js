// Real call audio through Baton's media plane (docs/voice.md): each party is its own
// Chromium process with a fake microphone playing its own tone, and a Web Audio analyser
// on each receiver tells which tones it hears — connected, DTMF, hold (hold music, no
// agent), mute (the widget's button, then the SDK's setCallMute), a blind transfer (the
// customer hears the new agent without renegotiating), and a conference of three; the
// call recorded from the SDK (setCallRecording) gives alice an Ogg Opus file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, INGRESS, PASSWORD, ADMIN_TOKEN, widget, waitFor, waitText, sdkOk } from './helpers.js';
import { TONES, toneWav, launch, expectHears, widgetFrame } from './voice.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The pages of an Ogg file: granule position and body (docs/voice.md, "Recording"). */
function oggPages(buf) {
  const pages = [];
  let at = 0;
  while (at < buf.length) {
    assert.equal(buf.subarray(at, at + 4).toString(), 'OggS', `an Ogg page at ${at}`);
    const n = buf[at + 26];
    const size = [...buf.subarray(at + 27, at + 27 + n)].reduce((a, b) => a + b, 0);
    const start = at + 27 + n;
    pages.push({ granule: buf.readBigUInt64LE(at + 6), body: buf.subarray(start, start + size) });
    at = start + size;
  }
  return pages;
}

test('call audio follows the call: connected, DTMF, hold, mute, blind transfer, conference', { timeout: 90000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-voice-'));
  const wav = {};
  for (const [who, f] of Object.entries(TONES)) { wav[who] = join(dir, `${who}.wav`); writeFileSync(wav[who], toneWav(f)); }
  const server = await startServer();
  const browsers = [];
  const pages = [];
  try {
    async function open(who, url) {
      const b = await launch(wav[who]);
      browsers.push(b);
      const page = await (await b.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      page.on('pageerror', (e) => console.log(`[${who}] pageerror: ${e.message}`));
      page.on('console', (m) => { if (m.type() === 'error') console.log(`[${who}] ${m.text()}`); });
      pages.push({ who, page });
      await page.goto(url);
      return page;
    }
    async function agent(who) {
      const page = await open(who, `${server.base}/demo-crm/?agent=${who}`);
      await widget(page).getByTestId('login-password').fill(PASSWORD);
      await widget(page).getByTestId('login-submit').click();
      await waitText(page.getByTestId('sdk-status'), 'Connected as');
      return page;
    }
    const alice = await agent('alice');
    const bob = await agent('bob');
    await sdkOk(alice, 'setAgentState', 'ready');

    // The customer calls from the chat page.
    const customer = await open('customer', `${server.base}/chat/?ingress=${INGRESS}`);
    await customer.getByTestId('chat-name').fill('Dana Caller');
    await customer.getByTestId('chat-call').click();
    const conv = customer.getByTestId('chat-conversation');
    await conv.waitFor();
    const id = await waitFor('the call id', () => conv.getAttribute('data-interaction-id'));

    await widget(alice).getByTestId('incoming').waitFor();
    await sdkOk(alice, 'acceptInteraction', id);
    await waitFor('the customer has audio', async () => (await customer.getByTestId('call-status').getAttribute('data-state')) === 'connected', 30000);
    await waitFor('alice has audio', async () => (await widget(alice).getByTestId('call-audio-status').getAttribute('data-state')) === 'connected', 30000);

    // Connected: each hears the other.
    await expectHears(customer, 'customer', ['alice']);
    await expectHears(widgetFrame(alice), 'alice', ['customer']);
    // The CRM starts recording the call (Bright Pattern's setCallRecording).
    await sdkOk(alice, 'setCallRecording', true, id);

    // DTMF: the SDK's sendDtmf and the keypad send RFC 4733 events the server receives in
    // order (its log counts them; the digits themselves are never logged).
    await sdkOk(alice, 'sendDtmf', '15', id);
    await widget(alice).locator('#keypad [data-digit="#"]').click();
    await waitFor('three DTMF digits at the server', () => (server.log().match(/event="dtmf"/g) || []).length === 3);
    assert.ok(!/digit="?[0-9#]/.test(server.log()), 'digits are not logged');

    // Hold: the customer hears the hold music and not alice; alice hears nothing.
    await sdkOk(alice, 'setCallHold', true, id);
    await expectHears(customer, 'customer', ['hold']);
    await expectHears(widgetFrame(alice), 'alice', []);
    await sdkOk(alice, 'setCallHold', false, id);
    await expectHears(customer, 'customer', ['alice']);

    // Mute: alice's microphone is not forwarded; she still hears the customer.
    await widget(alice).getByTestId('mute').click();
    await waitText(widget(alice).getByTestId('mute'), 'Unmute');
    await expectHears(customer, 'customer', []);
    await expectHears(widgetFrame(alice), 'alice', ['customer']);
    // …and the CRM unmutes her through the SDK (Bright Pattern's setCallMute).
    await sdkOk(alice, 'setCallMute', false, id);
    await waitText(widget(alice).getByTestId('mute'), /^Mute$/);
    await expectHears(customer, 'customer', ['alice']);

    // Blind transfer to bob: the customer's connection stays; bob's tone replaces alice's.
    await sdkOk(bob, 'setAgentState', 'ready');
    await sdkOk(alice, 'blindTransfer', 'bob', undefined, id);
    await widget(bob).getByTestId('incoming').waitFor();
    await sdkOk(bob, 'acceptInteraction', id);
    await waitFor('bob has audio', async () => (await widget(bob).getByTestId('call-audio-status').getAttribute('data-state')) === 'connected', 30000);
    await expectHears(customer, 'customer', ['bob']);
    await expectHears(widgetFrame(bob), 'bob', ['customer']);
    assert.equal(await customer.evaluate(() => window.batonCall.remoteTracks().length), 4, 'the customer was not renegotiated');

    // Conference: bob invites dave; everyone hears everyone else, one stream each.
    const dave = await agent('dave');
    await sdkOk(dave, 'setAgentState', 'ready');
    await sdkOk(bob, 'inviteToCallConference', 'dave', null, id);
    await widget(dave).getByTestId('incoming').waitFor();
    await sdkOk(dave, 'acceptInteraction', id);
    await waitFor('dave has audio', async () => (await widget(dave).getByTestId('call-audio-status').getAttribute('data-state')) === 'connected', 30000);
    await expectHears(customer, 'customer', ['bob', 'dave']);
    await expectHears(widgetFrame(bob), 'bob', ['customer', 'dave']);
    await expectHears(widgetFrame(dave), 'dave', ['customer', 'bob']);

    // Alice left the call at the transfer: her recording is closed and listed, an Ogg Opus
    // file whose last granule position is its duration.
    const list = await waitFor('alice\'s recording', async () => {
      const r = await server.admin('GET', `/interactions/${id}/recordings`);
      return r.status === 200 && r.body.some((f) => f.party === 'agent') && r.body;
    });
    const mine = list.find((f) => f.party === 'agent');
    assert.ok(mine.durationMs > 3000, `recorded from the start to the transfer: ${JSON.stringify(mine)}`);
    const res = await fetch(server.base + mine.recordingUrl, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    const ogg = Buffer.from(await res.arrayBuffer());
    assert.equal(ogg.length, mine.bytes);
    const oggs = oggPages(ogg);
    assert.equal(oggs[0].body.subarray(0, 8).toString(), 'OpusHead');
    assert.ok(oggs.length > 100, `${oggs.length} pages`);
    assert.equal(Math.floor(Number(oggs[oggs.length - 1].granule) / 48), mine.durationMs);
    assert.equal((await fetch(server.base + mine.recordingUrl)).status, 401, 'no token, no recording');
  } catch (e) {
    const shots = join(here, 'screenshots');
    mkdirSync(shots, { recursive: true });
    for (const { who, page } of pages) await page.screenshot({ path: join(shots, `voice-${who}.png`), fullPage: true }).catch(() => {});
    writeFileSync(join(shots, 'voice-server.log'), server.log());
    for (const { who, page } of pages) {
      const f = widgetFrame(page) || page;
      const calls = await f.evaluate(() => {
        const c = window.batonCall ? { customer: window.batonCall } : (window.batonCalls || {});
        const el = document.getElementById('call-audio-status');
        return [Object.entries(c).map(([k, v]) => [k, v.status(), v.remoteTracks().length]), el && el.outerHTML, document.getElementById('mute') && document.getElementById('mute').outerHTML];
      }).catch((err) => String(err));
      console.log(who, JSON.stringify(calls));
    }
    throw e;
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
