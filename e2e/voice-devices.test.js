// The browser phone around a real call (docs/voice.md, "Devices and quality"): the CRM
// hears ON_PHONE_CAPABILITIES_CHANGE after the login, ON_CALL_AUDIO_QUALITY_ALERT when the
// server really drops a share of the call's packets (BATON_TEST_FAULTS' media-loss) and
// again when it stops, ON_AUDIO_DEVICE_CHANGE on the browser's devicechange, and the agent
// switches microphone in the widget on a live call without renegotiating.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, INGRESS, PASSWORD, widget, waitFor, waitText, sdkOk } from './helpers.js';
import { TONES, toneWav, launch, expectHears, widgetFrame } from './voice.js';

const here = dirname(fileURLToPath(import.meta.url));
const WATCHED = ['ON_PHONE_CAPABILITIES_CHANGE', 'ON_AUDIO_DEVICE_CHANGE', 'ON_CALL_AUDIO_QUALITY_ALERT', 'ON_SOFTPHONE_STATUS_CHANGE'];

test('quality alerts on real packet loss, device changes and a live microphone switch reach the CRM', { timeout: 90000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-voice-dev-'));
  const wav = {};
  for (const who of ['customer', 'alice']) { wav[who] = join(dir, `${who}.wav`); writeFileSync(wav[who], toneWav(TONES[who])); }
  const server = await startServer({ env: { BATON_TEST_FAULTS: '1' } });
  const browsers = [];
  const pages = [];
  const seen = async (page, name) => (await page.evaluate(() => window.__seen)).filter((e) => e[0] === name);
  try {
    async function open(who, url) {
      const b = await launch(wav[who]);
      browsers.push(b);
      const page = await (await b.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
      page.on('pageerror', (e) => console.log(`[${who}] pageerror: ${e.message}`));
      pages.push({ who, page });
      await page.goto(url);
      return page;
    }
    const alice = await open('alice', `${server.base}/demo-crm/?agent=alice`);
    // A microphone remembered from another day and unplugged since: calls still get audio,
    // from the default microphone.
    await alice.evaluate(() => localStorage.setItem('baton.microphone', 'an-unplugged-headset'));
    await alice.reload();
    await alice.evaluate((names) => {
      window.__seen = [];
      names.forEach((n) => window.crmApp.adApi.on(n, (...a) => { window.__seen.push([n, ...a]); }));
    }, WATCHED);
    await widget(alice).getByTestId('login-password').fill(PASSWORD);
    await widget(alice).getByTestId('login-submit').click();
    await waitText(alice.getByTestId('sdk-status'), 'Connected as');

    // Logged in with WebRTC, a microphone and the media plane on: every capability, once.
    const caps = await waitFor('the phone capabilities', async () => (await seen(alice, 'ON_PHONE_CAPABILITIES_CHANGE')).length && seen(alice, 'ON_PHONE_CAPABILITIES_CHANGE'));
    assert.deepEqual(caps, [['ON_PHONE_CAPABILITIES_CHANGE', { canDial: true, canAnswer: true, canHold: true, canRetrieve: true }]]);

    await sdkOk(alice, 'setAgentState', 'ready');
    const customer = await open('customer', `${server.base}/chat/?ingress=${INGRESS}`);
    await customer.getByTestId('chat-name').fill('Dana Caller');
    await customer.getByTestId('chat-call').click();
    const conv = customer.getByTestId('chat-conversation');
    await conv.waitFor();
    const id = await waitFor('the call id', () => conv.getAttribute('data-interaction-id'));
    await widget(alice).getByTestId('incoming').waitFor();
    await sdkOk(alice, 'acceptInteraction', id);
    await waitFor('alice has audio', async () => (await widget(alice).getByTestId('call-audio-status').getAttribute('data-state')) === 'connected', 30000);
    await expectHears(customer, 'customer', ['alice']);
    await expectHears(widgetFrame(alice), 'alice', ['customer']);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await seen(alice, 'ON_CALL_AUDIO_QUALITY_ALERT'), [], 'a clean call raises no alert');

    // The server drops a third of what it sends: alice's widget measures the loss and the
    // CRM gets one alert for the call (not one a second), then one all-clear.
    const loss = await server.admin('POST', '/admin/debug/media-loss', { percent: 35 });
    assert.equal(loss.status, 204, JSON.stringify(loss.body));
    await waitFor('the quality alert', async () => (await seen(alice, 'ON_CALL_AUDIO_QUALITY_ALERT')).length > 0, 20000, 200);
    await waitFor('the widget says so', async () => (await widget(alice).getByTestId('call-audio-status').getAttribute('data-quality')) === 'poor');
    await waitText(widget(alice).getByTestId('call-audio-status'), 'poor connection');
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await seen(alice, 'ON_CALL_AUDIO_QUALITY_ALERT'), [['ON_CALL_AUDIO_QUALITY_ALERT', id, true]]);
    const measured = await widgetFrame(alice).evaluate((i) => window.batonCalls[i].quality().last, id);
    assert.ok(measured.packetLossPercent > 20, `measured ${JSON.stringify(measured)}`);
    assert.equal((await server.admin('POST', '/admin/debug/media-loss', { percent: 0 })).status, 204);
    await waitFor('the all-clear', async () => (await seen(alice, 'ON_CALL_AUDIO_QUALITY_ALERT')).length === 2, 20000, 200);
    assert.deepEqual((await seen(alice, 'ON_CALL_AUDIO_QUALITY_ALERT'))[1], ['ON_CALL_AUDIO_QUALITY_ALERT', id, false]);
    await waitFor('the widget is calm', async () => (await widget(alice).getByTestId('call-audio-status').getAttribute('data-quality')) === 'good');

    // A device plugged in or out: the browser's devicechange reaches the CRM with the
    // names in use. (Chromium's fake devices cannot be unplugged; the event is dispatched.)
    const frame = widgetFrame(alice);
    await frame.evaluate(() => navigator.mediaDevices.dispatchEvent(new Event('devicechange')));
    const change = await waitFor('ON_AUDIO_DEVICE_CHANGE', async () => (await seen(alice, 'ON_AUDIO_DEVICE_CHANGE'))[0]);
    const before = await frame.evaluate((i) => window.batonCalls[i].micTrack().label, id);
    assert.equal(change[1], before, 'the microphone in use, by name');

    // The agent picks another microphone in the widget during the call: the sender's track
    // is replaced (no new offer), the customer keeps hearing alice, the CRM is told.
    const options = await widget(alice).getByTestId('microphone').locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
    assert.ok(options.length >= 2, `Chromium's fake devices offer several microphones: ${JSON.stringify(options)}`);
    const other = options.find(([, label]) => label !== before);
    const transceivers = await frame.evaluate((i) => { window.batonCalls[i].marked = true; return window.batonCalls[i].remoteTracks().length; }, id);
    await widget(alice).getByTestId('microphone').selectOption(other[0]);
    await waitFor('the new microphone on air', async () => (await frame.evaluate((i) => window.batonCalls[i].micTrack().label, id)) === other[1]);
    assert.equal(await frame.evaluate((i) => window.batonCalls[i].sender.track.label, id), other[1], 'the sender sends the new track');
    await waitFor('the CRM told of the switch', async () => (await seen(alice, 'ON_AUDIO_DEVICE_CHANGE')).some((e) => e[1] === other[1]));
    await expectHears(customer, 'customer', ['alice']);
    assert.equal(await frame.evaluate((i) => window.batonCalls[i].marked === true && window.batonCalls[i].remoteTracks().length, id), transceivers,
      'the same peer connection, not renegotiated');
    assert.equal(await widget(alice).getByTestId('call-audio-status').getAttribute('data-state'), 'connected');
  } catch (e) {
    const shots = join(here, 'screenshots');
    mkdirSync(shots, { recursive: true });
    for (const { who, page } of pages) await page.screenshot({ path: join(shots, `voice-devices-${who}.png`), fullPage: true }).catch(() => {});
    writeFileSync(join(shots, 'voice-devices-server.log'), server.log());
    throw e;
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
