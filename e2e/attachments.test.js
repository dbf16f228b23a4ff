// Chat attachments (decision 0014): the customer sees the limit before picking a file,
// a refused file says why and leaves nothing in the chat, a PNG reaches the agent's widget
// as a download link that downloads the same bytes, and the agent's file reaches the customer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBaton, waitText, waitFor, sdkOk, widget } from './helpers.js';

/** The PNG signature and a few bytes: what the server recognises as image/png. */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('baton e2e png')]);
const EXE = Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00]);

test('the customer attaches a PNG and the agent sees and downloads it; the agent sends one back', (t) => withBaton(t, async (env) => {
  const alice = await env.agentPage('alice');
  await env.setReady(alice);
  const chat = await env.chatPage();
  await chat.getByTestId('chat-name').fill('Carol Chen');
  await chat.getByTestId('chat-start').click();
  await chat.getByTestId('chat-conversation').waitFor();
  const id = await waitFor('the interaction id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
  await waitFor('alice is offered the chat', async () => (await sdkOk(alice, 'getInteractionsState')).interactions.length);
  await sdkOk(alice, 'acceptInteraction', id);
  await waitText(chat.getByTestId('chat-status'), 'You are chatting with Alice Adams');

  // The limit and the types show before anything is picked.
  await waitText(chat.getByTestId('chat-attach-hint'), 'Up to 5 MB: PNG, JPEG, GIF, WebP, PDF, text');

  // A .png that is an executable is refused, says why, and nobody sees it.
  await chat.getByTestId('chat-attach').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: EXE });
  await waitText(chat.getByTestId('chat-error'), 'Not sent: photo.png: this type of file is not accepted');
  assert.equal(await chat.getByTestId('chat-attachment').count(), 0);

  // A file over the limit is refused before it is sent, with the limit in words.
  const big = Buffer.concat([PNG, Buffer.alloc(5 * 1024 * 1024)]);
  await chat.getByTestId('chat-attach').setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: big });
  await waitText(chat.getByTestId('chat-error'), 'Not sent: huge.png is 5.0 MB; files may be up to 5 MB.');
  assert.equal(await chat.getByTestId('chat-attachment').count(), 0);

  await chat.getByTestId('chat-attach').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
  await waitText(chat.getByTestId('chat-attachment'), 'receipt.png');
  assert.equal(await chat.getByTestId('chat-error').textContent(), '');

  const w = widget(alice);
  const link = w.getByTestId('chat-attachment').filter({ hasText: 'receipt.png' });
  await waitText(link, `receipt.png (${PNG.length} bytes)`);
  const [download] = await Promise.all([alice.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), 'receipt.png');
  const saved = await download.path();
  const { readFileSync } = await import('node:fs');
  assert.deepEqual(readFileSync(saved), PNG);
  assert.equal(await w.getByTestId('chat-attachment').filter({ hasText: 'photo.png' }).count(), 0);

  // Back the other way: the agent attaches a text file from the widget.
  await w.getByTestId('chat-attach').setInputFiles({ name: 'steps.txt', mimeType: 'text/plain', buffer: Buffer.from('1. Restart the router.\n') });
  const back = chat.getByTestId('chat-attachment').filter({ hasText: 'steps.txt' });
  await waitText(back, 'steps.txt');
  const [got] = await Promise.all([chat.waitForEvent('download'), back.click()]);
  assert.equal(readFileSync(await got.path(), 'utf8'), '1. Restart the router.\n');
}));
