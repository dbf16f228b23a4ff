#!/usr/bin/env node
/**
 * Takes docs/customer-chat.png: the customer's chat page after alice blind-transferred the
 * chat to bob (notices for the transfer, who left and joined), with the message limit shown.
 *
 *     cargo build -p baton && node e2e/screenshot-chat.mjs [--out path.png]
 *
 * Not a test; fails loudly if a step does.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, waitText, waitFor, INGRESS, PASSWORD } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const outArg = args.indexOf('--out');
const out = resolve(outArg >= 0 ? args[outArg + 1] : join(here, '..', 'docs', 'customer-chat.png'));

const server = await startServer();
const browser = await launchBrowser();
try {
  const agent = async (username) => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(`${server.base}/demo-crm/?agent=${username}`);
    const w = page.frameLocator('iframe[data-testid="baton-widget-frame"]');
    await w.getByTestId('login-password').fill(PASSWORD);
    await w.getByTestId('login-submit').click();
    await waitText(page.getByTestId('sdk-status'), 'Connected as');
    return page;
  };
  const sdk = async (page, m, ...a) => {
    const r = await page.evaluate(([m2, a2]) => window.crmApp.adApi[m2](...a2), [m, a]);
    if (r.status !== 'success') throw new Error(`${m}: ${JSON.stringify(r)}`);
    return r.data;
  };
  const alice = await agent('alice');
  const bob = await agent('bob');
  await sdk(alice, 'setAgentState', 'ready');
  const chat = await (await browser.newContext({ viewport: { width: 560, height: 760 } })).newPage();
  await chat.goto(`${server.base}/chat/?ingress=${INGRESS}`);
  await chat.getByTestId('chat-name').fill('Carol Chen');
  await chat.getByTestId('chat-start').click();
  const id = await waitFor('id', () => chat.getByTestId('chat-conversation').getAttribute('data-interaction-id'));
  await waitFor('offer', async () => (await sdk(alice, 'getInteractionsState')).interactions.length);
  await sdk(alice, 'acceptInteraction', id);
  await chat.getByTestId('chat-message-input').fill('Hello, I would like the annual plan');
  await chat.getByTestId('chat-send').click();
  await waitText(chat.getByTestId('chat-transcript'), 'annual plan');
  await sdk(alice, 'sendChatMessage', 'Let me bring in my colleague from billing', id);
  await waitText(chat.getByTestId('chat-transcript'), 'colleague');
  await sdk(bob, 'setAgentState', 'ready');
  await sdk(alice, 'blindTransfer', 'bob', { caseId: 'C-1001' }, id);
  await waitFor('bob offered', async () => (await sdk(bob, 'getInteractionsState')).interactions.length);
  await sdk(bob, 'acceptInteraction', id);
  await sdk(bob, 'sendChatMessage', 'Hi Carol, I can set that up for you', id);
  await waitText(chat.getByTestId('chat-transcript'), 'set that up');
  await chat.getByTestId('chat-message-input').fill('Great, thank you');
  await chat.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
