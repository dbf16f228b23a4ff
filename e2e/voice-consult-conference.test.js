// (b) Consult then transfer on a voice interaction, then a conference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, widget, waitText, waitFor, sdk, sdkOk } from './helpers.js';

function loadsOf(page) { return page.evaluate(() => window.crmApp.loads); }

test('a consult gets data, the completed transfer gets fresh data, and a conference invite gets data', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  const bob = await env.agentPage('bob');
  const dave = await env.agentPage('dave');
  await env.setReady(alice);

  const { id } = await env.voiceCall('Dan Okafor', '+1 555 0102');
  await widget(alice).getByTestId('incoming').waitFor();
  await waitText(alice.getByTestId('case-title'), 'C-1002');
  await sdkOk(alice, 'acceptInteraction', id);
  await alice.getByTestId('notes-draft').fill('consult draft');

  await env.setReady(bob);
  await env.setReady(dave);

  // Consult bob: bob's CRM gets the consult data while ringing.
  const consult = await sdkOk(alice, 'consultCall', 'bob');
  assert.ok(consult.transferId, 'consultCall answers a transferId');
  await widget(bob).getByTestId('incoming').waitFor();
  await waitText(bob.getByTestId('case-title'), 'C-1002');
  await waitFor('bob got the consult data', async () => (await loadsOf(bob)).length === 1);
  let loads = await loadsOf(bob);
  assert.equal(loads[0].meta.kind, 'consult');
  assert.equal(loads[0].data.notesDraft, 'consult draft');
  await sdkOk(bob, 'acceptInteraction', loads[0].interactionId);

  // Alice completes the transfer with a fresh draft.
  await alice.getByTestId('notes-draft').fill('final draft');
  const tr = await sdkOk(alice, 'transfer');
  assert.ok(tr.transferId);
  await waitFor('bob got the transfer data', async () => (await loadsOf(bob)).some((l) => l.meta.kind === 'transfer'));
  loads = await loadsOf(bob);
  const fresh = loads.find((l) => l.meta.kind === 'transfer');
  assert.equal(fresh.data.caseId, 'C-1002');
  assert.equal(fresh.data.notesDraft, 'final draft');
  assert.equal(fresh.meta.fromAgentName, 'Alice Adams');
  assert.equal(await bob.getByTestId('notes-draft').inputValue(), 'final draft');

  // Bob now holds the call with the customer; alice is no longer on it.
  await waitFor('bob is connected with the customer', async () => {
    const st = await sdk(bob, 'getInteractionsState');
    const ix = st.status === 'success' && st.data.interactions.find((i) => i.interactionId === id);
    if (!ix) return false;
    const me = ix.baton.parties.find((p) => p.type === 'agent' && p.name === 'Bob Brown');
    const al = ix.baton.parties.find((p) => p.type === 'agent' && p.name === 'Alice Adams' && ['connected', 'hold', 'ringing'].includes(p.state));
    return me && me.state === 'connected' && !al;
  });

  // Bob invites dave to a conference: dave's CRM gets the data while ringing.
  await bob.getByTestId('notes-draft').fill('conference draft');
  const conf = await sdkOk(bob, 'inviteToCallConference', 'dave', null, id);
  assert.ok(conf.transferId);
  await widget(dave).getByTestId('incoming').waitFor();
  await waitFor('dave got the conference data', async () => (await loadsOf(dave)).length >= 1);
  const dl = (await loadsOf(dave))[0];
  assert.equal(dl.meta.kind, 'conference');
  assert.equal(dl.meta.fromAgentName, 'Bob Brown');
  assert.equal(dl.data.notesDraft, 'conference draft');
  await waitText(dave.getByTestId('case-title'), 'C-1002');
  await sdkOk(dave, 'acceptInteraction', id);

  await waitFor('bob, dave and the customer are all on the call', async () => {
    const st = await sdk(bob, 'getInteractionsState');
    const ix = st.status === 'success' && st.data.interactions.find((i) => i.interactionId === id);
    if (!ix) return false;
    const live = ix.baton.parties.filter((p) => p.state === 'connected').map((p) => p.type === 'customer' ? 'customer' : p.name);
    return live.includes('Bob Brown') && live.includes('Dave Diaz') && live.includes('customer');
  });

  const hist = await sdkOk(bob, 'getTransferHistory', id);
  const kinds = hist.map((h) => h.kind);
  for (const k of ['consult', 'transfer', 'conference']) assert.ok(kinds.includes(k), `history has a ${k} leg: ${kinds}`);
}));
