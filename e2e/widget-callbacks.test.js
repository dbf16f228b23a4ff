// Bright Pattern's host callbacks, each driven by something the agent does in the widget:
// the screen pop on a new interaction, records (attach the record on screen, open it),
// the knowledge base (browse, search, paste an article into the chat), and completion
// (the host validates its records, an invalid answer blocks it, then the activity is saved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitFor, waitText } from './helpers.js';
import { bpHost, callOk, login, eventsOf } from './bp-host.js';

const CASE = { id: 'C-1', type: 'case', displayName: 'Case 1', displayType: 'Case', customFields: { prio: 'high' } };
const ARTICLE = { id: 'a2', title: 'Reset password', keywords: '', answer: 'Click "Forgot password" on the login page.',
  notes: '', language: 'en', createdByUser: 'kb', lastEditedByUser: 'kb', customFields: {} };

test('records, knowledge base and completion callbacks follow what the agent does in the widget', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-alice');
  await login(page, 'alice');
  await callOk(page, 'setAgentState', 'ready');
  await page.evaluate(([rec, art]) => {
    window.conf.answers = {
      ON_REQUEST_RECORD_ON_SCREEN: rec,
      ON_VALIDATE_ASSOCIATED_RECORDS: { valid: false, message: 'Pick a case first' },
      ON_SAVE_ACTIVITY_RECORD: { id: 'A-1' },
      ON_GET_KNOWLEDGE_BASE_FOLDER: [{ id: 'f1', type: 'folder', title: 'Billing' }, { id: 'a1', type: 'article', title: 'Refunds', text: 'How to refund' }],
      ON_SEARCH_KNOWLEDGE_BASE: [{ id: 'a2', type: 'article', title: 'Reset password', text: 'Password help' }],
      ON_GET_KNOWLEDGE_BASE_ARTICLE: art,
    };
  }, [CASE, ARTICLE]);

  const r = await env.server.rest('POST', '/interactions', 'test-ingress', { channel: 'chat', service: 'Sales', customer: { name: 'Erin Novak', email: 'erin@example.com' } });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r));
  const id = r.body.id;
  // Screen pop: the host is asked to search its records for the new interaction's customer.
  const [search, searchId] = await waitFor('ON_SEARCH_RECORDS', () => eventsOf(page, 'ON_SEARCH_RECORDS').then((l) => l[0]));
  assert.deepEqual(search, { text: 'erin@example.com', types: [] });
  assert.equal(searchId, id);
  await callOk(page, 'acceptInteraction', id);

  const w = widget(page);
  // The agent attaches the record the CRM has on screen, and opens it from the widget.
  await w.getByTestId('record-on-screen').click();
  await waitText(w.getByTestId('record-list'), 'Case 1');
  await w.getByTestId('record').first().getByRole('button').click();
  const [rec, recIx, opts] = await waitFor('ON_OPEN_RECORD', () => eventsOf(page, 'ON_OPEN_RECORD').then((l) => l[0]));
  assert.deepEqual(rec, { id: 'C-1', type: 'case', displayName: 'Case 1', displayType: 'Case', customFields: { prio: 'high' } });
  assert.equal(recIx, id);
  assert.deepEqual(opts, { inNewTab: false, source: 'user' });

  // Knowledge base: browsing, searching, and pasting an article into the chat input.
  await w.getByTestId('kb').locator('summary').click();
  await waitText(w.getByTestId('kb-results'), 'Refunds');
  assert.deepEqual((await eventsOf(page, 'ON_GET_KNOWLEDGE_BASE_FOLDER'))[0], [{}]);
  await w.getByTestId('kb-query').fill('password');
  await w.getByTestId('kb-search').click();
  await waitText(w.getByTestId('kb-results'), 'Reset password');
  assert.deepEqual((await eventsOf(page, 'ON_SEARCH_KNOWLEDGE_BASE'))[0], ['password', null, null]);
  await w.getByTestId('kb-item').first().getByRole('button').click();
  await waitText(w.getByTestId('kb-article-answer'), 'Forgot password');
  assert.deepEqual((await eventsOf(page, 'ON_GET_KNOWLEDGE_BASE_ARTICLE'))[0], ['a2']);
  await w.getByTestId('kb-paste').click();
  assert.equal(await w.getByTestId('chat-input').inputValue(), ARTICLE.answer);

  // Completion: the CRM says the records are not valid, so the interaction stays.
  await w.getByTestId('complete').click();
  await waitText(w.getByTestId('notice'), 'Pick a case first');
  const [vId, vRecords] = (await eventsOf(page, 'ON_VALIDATE_ASSOCIATED_RECORDS'))[0];
  assert.equal(vId, id);
  assert.deepEqual(vRecords.list.map((x) => x.id), ['C-1']);
  assert.deepEqual(vRecords.selected, ['C-1']);
  assert.equal((await eventsOf(page, 'ON_SAVE_ACTIVITY_RECORD')).length, 0, 'nothing saved while invalid');
  const st = await callOk(page, 'getInteractionsState');
  assert.ok(st.interactions.some((i) => i.interactionId === id && i.state !== 'completed'));

  // Valid now: the activity is saved with Bright Pattern's activity shape, then it completes.
  await page.evaluate(() => { window.conf.answers.ON_VALIDATE_ASSOCIATED_RECORDS = { valid: true }; });
  await w.getByTestId('complete').click();
  const [activity] = await waitFor('ON_SAVE_ACTIVITY_RECORD', () => eventsOf(page, 'ON_SAVE_ACTIVITY_RECORD').then((l) => l[0]));
  assert.equal(activity.interactionId, id);
  assert.equal(activity.type, 'chat');
  assert.equal(activity.contactName, 'Erin Novak');
  await waitFor('the interaction is completed', async () =>
    (await eventsOf(page, 'ON_INTERACTION_STATE_CHANGE')).some((a) => a[0].interactionId === id && ['completed', 'wrap_up'].includes(a[0].state)) ||
    (await eventsOf(page, 'ON_INTERACTION_REMOVED')).some((a) => a[0].interactionId === id));
  const names = await page.evaluate(() => window.conf.messages.map((m) => m.name));
  for (const n of ['ON_VALIDATE_ASSOCIATED_RECORDS_RESPONSE', 'ON_SAVE_ACTIVITY_RECORD_RESPONSE', 'ON_SEARCH_KNOWLEDGE_BASE_RESPONSE']) {
    assert.ok(names.includes(n), `logged ${n}`);
  }
}));

test('disableNewInteractionPopup hides the widget\'s incoming popup; the interaction is still listed', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-alice', '&noPopup=1');
  await login(page, 'alice');
  await callOk(page, 'setAgentState', 'ready');
  const { id } = await env.voiceCall('Carol Chen', '+1 555 0101');
  await waitFor('ON_NEW_INTERACTION', () => eventsOf(page, 'ON_NEW_INTERACTION').then((l) => l.length));
  const w = widget(page);
  await waitFor('listed', () => w.getByTestId('interaction-item').count());
  assert.equal(await w.getByTestId('incoming').isVisible(), false);
  void id;
}));

test('the widget keeps a usable width in a Bright Pattern side panel, also with adaptiveWidth and when minimized', (t) => withBaton(t, async (env) => {
  const open = await bpHost(t, env);
  const page = await open('bp-alice');
  const frame = page.locator('iframe[data-testid="baton-widget-frame"]');
  const box = await frame.boundingBox();
  assert.ok(box.width >= 340 && box.height >= 480, JSON.stringify(box));
  await callOk(page, 'setWidgetMinimized', true);
  const small = await frame.boundingBox();
  assert.ok(small.height < 100 && small.width >= 340, JSON.stringify(small));
  await callOk(page, 'setWidgetMinimized', false);
  assert.ok((await frame.boundingBox()).height >= 480);
  assert.deepEqual(await eventsOf(page, 'ON_WIDGET_MINIMIZED_CHANGE'), [[true], [false]]);
  // adaptiveWidth: the widget follows the panel's width, but never below its minimum.
  const adaptive = await open('bp-adaptive', '&adaptive=1');
  const abox = await adaptive.locator('iframe[data-testid="baton-widget-frame"]').boundingBox();
  assert.ok(abox.width >= 340, JSON.stringify(abox));
}));

test('merged server: the widget lists the tenant\'s not-ready reasons and asks for a required disposition before Complete', (t) => withBaton(t, async (env) => {
  const reasons = await env.server.admin('PUT', '/admin/tenants/demo/not-ready-reasons', { notReadyReasons: ['Coffee', 'Coaching'] });
  assert.equal(reasons.status, 200, JSON.stringify(reasons));
  const disp = await env.server.admin('PUT', '/admin/tenants/demo/services/Sales/dispositions', {
    requireDisposition: true, dispositions: [{ code: 'resolved', name: 'Resolved', type: 'SUCCESS' }, { code: 'callback', name: 'Call back', type: 'CONTINUE' }],
  });
  assert.equal(disp.status, 200, JSON.stringify(disp));
  const open = await bpHost(t, env);
  const page = await open('bp-alice');
  await login(page, 'alice');
  const w = widget(page);
  // One state control: the reasons are its "Not ready — …" choices.
  await waitFor('the tenant\'s reasons in the state menu', async () =>
    JSON.stringify((await w.getByTestId('agent-state').locator('option').allTextContents()).filter((o) => o.startsWith('Not ready — ')))
      === JSON.stringify(['Not ready — Coffee', 'Not ready — Coaching']));
  await w.getByTestId('agent-state').selectOption('not_ready:Coaching');
  await waitFor('ON_AGENT_STATE_CHANGE with the reason', async () =>
    (await eventsOf(page, 'ON_AGENT_STATE_CHANGE')).some((a) => a[0] === 'not_ready' && a[1] === 'Coaching'));

  await callOk(page, 'setAgentState', 'ready');
  const { id } = await env.voiceCall('Carol Chen', '+1 555 0101');
  await waitFor('ON_NEW_INTERACTION', () => eventsOf(page, 'ON_NEW_INTERACTION').then((l) => l.length));
  await callOk(page, 'acceptInteraction', id);
  await w.getByTestId('disposition-row').waitFor();
  await w.getByTestId('complete').click();
  await waitText(w.getByTestId('notice'), 'disposition');
  assert.equal((await eventsOf(page, 'ON_VALIDATE_ASSOCIATED_RECORDS')).length, 0, 'blocked before asking the CRM');
  await waitFor('the dispositions are listed', async () => (await w.getByTestId('disposition').locator('option').count()) === 3);
  await w.getByTestId('disposition').selectOption({ label: 'Resolved' });
  await waitFor('the disposition is set', async () =>
    (await eventsOf(page, 'ON_INTERACTION_STATE_CHANGE')).some((a) => a[0].interactionId === id && a[0].disposition === 'Resolved'));
  await w.getByTestId('complete').click();
  await waitFor('completed', async () =>
    (await eventsOf(page, 'ON_INTERACTION_REMOVED')).some((a) => a[0].interactionId === id) ||
    (await eventsOf(page, 'ON_INTERACTION_STATE_CHANGE')).some((a) => a[0].interactionId === id && a[0].state === 'completed'));
}));
