// (e) A host page on an origin that is not allowed for the integration cannot drive the
// widget: its calls never reach the server and it is told it was refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdk } from './helpers.js';

test('a CRM on an origin that is not allowed is refused and cannot call the server', (t) => withBaton(t, async (env) => {
  // Only http://127.0.0.1:<port> is allowed for demo-crm; load the CRM from localhost.
  const page = await env.crmPage('alice', { base: env.server.localhostBase });
  const sent = [];
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/ws/agent')) return;
    ws.on('framesent', (f) => sent.push(String(f.payload)));
  });
  const refusals = [];
  page.on('console', (m) => { if (m.type() === 'error' && /refused/i.test(m.text())) refusals.push(m.text()); });
  await page.evaluate(() => {
    window.__refusedEvents = [];
    window.crmApp.adApi.on('ON_HOST_REFUSED', (r) => window.__refusedEvents.push(r));
  });

  // A call made before the login never reaches the server: it answers not_logged_in at once
  // (decision 0024), or the refusal if it raced with the login's start.
  const early = page.evaluate(() => window.crmApp.adApi.setAgentState('ready'));
  await env.login(page);

  const w = widget(page);
  await w.getByTestId('host-refused').waitFor();
  await waitText(w.getByTestId('host-refused'), `not allowed to use integration "demo-crm"`);
  await waitText(page.getByTestId('crm-refused'), 'refused');
  const r1 = await early;
  assert.equal(r1.status, 'error');
  assert.ok([1, 2, 17].includes(r1.error.code), `not_logged_in or the refusal, got ${JSON.stringify(r1)}`);

  const r2 = await sdk(page, 'getAgentState');
  assert.equal(r2.status, 'error');
  assert.equal(r2.error.code, 1);
  const ev = await page.evaluate(() => window.__refusedEvents);
  assert.equal(ev.length, 1);
  assert.equal(ev[0].origin, env.server.localhostBase);
  assert.equal(ev[0].integrationKey, 'demo-crm');
  await waitFor('a console.error about the refusal', () => refusals.length > 0);

  // The only frame the widget ever sent is its hello.
  assert.ok(sent.length >= 1, 'the widget tried to connect');
  for (const f of sent) assert.equal(JSON.parse(f).op, 'hello', `unexpected frame ${f}`);
  const hello = JSON.parse(sent[0]);
  assert.equal(hello.args.hostOrigin, env.server.localhostBase);
  assert.equal(hello.args.integrationKey, 'demo-crm');

  // Alice's state did not change: a legitimate host still sees her not ready.
  const ok = await env.agentPage('alice');
  const st = await ok.evaluate(() => window.crmApp.adApi.getAgentState());
  assert.equal(st.status, 'success');
  assert.equal(st.data.state, 'not_ready');
}));
