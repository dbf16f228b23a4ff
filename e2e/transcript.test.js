// A chat's transcript in the widget (decision 0016): state changes no longer carry it, so the
// widget keeps what ON_NEW_INTERACTION gave it and appends each ON_CHAT_MESSAGE; a reload
// gets the whole transcript again, and new messages keep arriving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdkOk } from './helpers.js';

/** The widget's transcript lines, in order. */
function lines(page) {
  return widget(page).getByTestId('chat-transcript').locator('li').allInnerTexts();
}

async function sayAsCustomer(chat, text) {
  await chat.getByTestId('chat-message-input').fill(text);
  await chat.getByTestId('chat-message-input').press('Enter');
  await waitText(chat.getByTestId('chat-transcript'), text);
}

test('the widget keeps the whole transcript through state changes and a reload, and shows new messages', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const w = widget(alice);
  await env.setReady(alice);
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Tara Tan');
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  await w.getByTestId('incoming').waitFor();
  await w.getByTestId('incoming-accept').click();
  await waitText(w.getByTestId('active-state'), 'connected');

  await sayAsCustomer(chat, 'one from Tara');
  await w.getByTestId('chat-input').fill('two from Alice');
  await w.getByTestId('chat-input').press('Enter');
  await waitText(chat.getByTestId('chat-transcript'), 'two from Alice');
  await sayAsCustomer(chat, 'three from Tara');
  await waitText(w.getByTestId('chat-transcript'), 'three from Tara');

  // A state change (a variable set by the CRM) arrives without the transcript: nothing is lost.
  const { interactions } = await sdkOk(alice, 'getInteractionsState');
  const id = interactions[0].interactionId;
  await sdkOk(alice, 'setVariable', 'caseId', 'C-9', id);
  await waitFor('the variable reached the widget', async () => {
    const st = await sdkOk(alice, 'getInteractionsState');
    return st.interactions[0].attachedData && st.interactions[0].attachedData.caseId === 'C-9';
  });
  const texts = (await lines(alice)).join('\n');
  for (const said of ['one from Tara', 'two from Alice', 'three from Tara']) assert.ok(texts.includes(said), `lost "${said}":\n${texts}`);

  // A reload gets the whole transcript back, and a new message still shows.
  await alice.reload();
  await waitText(alice.getByTestId('sdk-status'), 'Connected as', 20000);
  await waitText(w.getByTestId('chat-transcript'), 'three from Tara', 20000);
  const after = (await lines(alice)).join('\n');
  for (const said of ['one from Tara', 'two from Alice']) assert.ok(after.includes(said), `lost "${said}" after the reload:\n${after}`);
  await sayAsCustomer(chat, 'four from Tara');
  await waitText(w.getByTestId('chat-transcript'), 'four from Tara');
  const order = (await lines(alice)).map((l) => ['one', 'two', 'three', 'four'].find((n) => l.includes(`${n} from`))).filter(Boolean);
  assert.deepEqual(order, ['one', 'two', 'three', 'four']);
}));
