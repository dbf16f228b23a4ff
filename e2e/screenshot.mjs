#!/usr/bin/env node
/**
 * Takes the README's screenshot, docs/demo.png: bob's demo CRM while a chat that alice
 * blind-transferred to him rings, with the case and alice's notes already open.
 *
 *     cargo build -p baton && node e2e/screenshot.mjs [--tls] [--out path.png]
 *
 * Runs `baton demo` (the binary at $BATON_BIN, default target/debug/baton) on 127.0.0.1:0
 * with a fresh data directory and drives it exactly as the README's quick start says: both
 * agents log in (password `demo`), alice goes Ready, a customer starts a chat at /chat/,
 * alice accepts, bob goes Ready, alice blind-transfers to bob. `--tls` runs `baton demo
 * --tls` instead (the browser is told to accept its self-signed certificate), which checks
 * the same flow over https and wss. Not a test (`node --test` does not pick it up), but it
 * fails loudly if any step does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATON_BIN, launchBrowser, widget, waitText, waitFor } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const tls = args.includes('--tls');
const outArg = args.indexOf('--out');
const out = resolve(outArg >= 0 ? args[outArg + 1] : join(here, '..', 'docs', 'demo.png'));
const VIEWPORT = { width: 1280, height: 800 };

/** Starts `baton demo` and resolves the URLs it prints. */
function startDemo(dataDir) {
  const child = spawn(BATON_BIN, ['demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...(tls ? ['--tls'] : [])],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  return new Promise((resolveUrls, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`baton demo printed no URLs within 30 s\n${text}${log}`)), 30000);
    child.stdout.on('data', (d) => {
      text += d;
      const url = (label) => (text.match(new RegExp(`${label}:\\s+(\\S+)`)) || [])[1];
      const urls = { alice: url("Alice's CRM"), bob: url("Bob's CRM"), chat: url('Customer chat') };
      if (urls.alice && urls.bob && urls.chat) {
        clearTimeout(timer);
        resolveUrls({ child, urls, log: () => log });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`baton demo exited with ${code}\n${text}${log}`)); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'baton-screenshot-'));
  const demo = await startDemo(dataDir);
  const browser = await launchBrowser();
  const errors = [];
  const open = async (url, label, viewport = VIEWPORT) => {
    const context = await browser.newContext({ viewport, ignoreHTTPSErrors: tls });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`[${label}] ${e.message}`));
    await page.goto(url);
    return page;
  };
  const login = async (page) => {
    const w = widget(page);
    await w.getByTestId('login-password').fill('demo');
    await w.getByTestId('login-submit').click();
    await waitText(page.getByTestId('sdk-status'), 'Connected as');
    return w;
  };
  const setReady = async (w) => {
    await w.getByTestId('agent-state').selectOption('ready');
    await waitText(w.getByTestId('agent-state-current'), 'ready');
  };
  try {
    const alice = await open(demo.urls.alice, 'alice');
    const bob = await open(demo.urls.bob, 'bob');
    const aw = await login(alice);
    const bw = await login(bob);
    // Alice goes Ready first, so the chat is offered to her; bob after she has it.
    await setReady(aw);

    const chat = await open(demo.urls.chat, 'chat', { width: 480, height: 720 });
    await chat.getByTestId('chat-name').fill('Carol Chen');
    await chat.getByTestId('chat-email').fill('carol@example.com');
    await chat.getByTestId('chat-start').click();
    await chat.getByTestId('chat-conversation').waitFor();

    await aw.getByTestId('incoming').waitFor();
    await waitText(alice.getByTestId('case-title'), 'C-1001');
    await aw.getByTestId('incoming-accept').click();
    await waitText(aw.getByTestId('active-state'), 'connected');
    await chat.getByTestId('chat-message-input').fill('Hi! Can I switch to the annual plan?');
    await chat.getByTestId('chat-send').click();
    await waitText(aw.getByTestId('chat-transcript'), 'annual plan');
    await aw.getByTestId('chat-input').fill('Sure — let me bring in Bob from billing.');
    await aw.getByTestId('chat-send').click();
    await waitText(chat.getByTestId('chat-transcript'), 'Bob from billing');
    await alice.getByTestId('notes-draft').fill('Wants to switch to the annual plan. Offer 12% off; card on file.');

    await setReady(bw);
    await aw.getByTestId('refresh-members').click();
    await waitFor('bob in the transfer targets', () =>
      aw.getByTestId('transfer-target').locator('option[value="bob"]').count());
    await aw.getByTestId('transfer-target').selectOption('bob');
    await aw.getByTestId('blind-transfer').click();

    // Bob's CRM has the case and alice's draft while the chat still rings.
    await bw.getByTestId('incoming').waitFor();
    await waitText(bob.getByTestId('case-title'), 'C-1001');
    await waitText(bob.getByTestId('transfer-banner'), 'Transferred by Alice Adams');
    await waitFor('the notes draft', async () => (await bob.getByTestId('notes-draft').inputValue()).includes('annual plan'));
    await bob.evaluate(() => document.fonts.ready);
    await bob.waitForTimeout(300);
    if (!(await bw.getByTestId('incoming').isVisible())) throw new Error('the offer stopped ringing before the screenshot');
    if (errors.length) throw new Error(`uncaught errors in the pages:\n${errors.join('\n')}`);
    mkdirSync(dirname(out), { recursive: true });
    await bob.screenshot({ path: out });
    console.log(`saved ${out}${tls ? ' (over https)' : ''}`);
  } catch (e) {
    console.error(demo.log());
    throw e;
  } finally {
    await browser.close().catch(() => {});
    await stop(demo.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
