// The shared terminal: A types a command, B (a viewer, watching read-only) sees its output. The
// terminal survives switching panels (no new socket, scrollback kept), and "Sync files" copies the
// pad's files into the shell's directory. Needs Docker (the shell runs in a sandbox container).
import assert from 'node:assert/strict';
import { acceptInvite, createInviteViaApi, createPad, replaceEditorText, signUp, uniqueName, waitForEditorText, TIMEOUT } from '../lib/app.mjs';

export const name = 'terminal';

const TERMINAL_START_MS = 90_000;

export function skip({ health }) {
  if (health?.exec?.backend !== 'docker' && process.env.TERMINAL_ALLOW_LOCAL !== '1') {
    return 'terminals need Docker (or TERMINAL_ALLOW_LOCAL=1 for a development host shell); this server has none';
  }
  return null;
}

/** The visible text of the terminal (xterm's DOM renderer). */
async function terminalText(page) {
  return page.evaluate(() => (document.querySelector('[data-testid="terminal-panel"] .xterm-rows')?.textContent ?? '').replace(/\u00a0/g, ' '));
}

async function waitForTerminalText(page, needle, label, timeout = 30_000) {
  const start = Date.now();
  for (;;) {
    const text = await terminalText(page);
    if (text.includes(needle)) return Date.now() - start;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${label} (${JSON.stringify(needle)}); terminal shows: ${JSON.stringify(text.slice(-400))}`);
    await page.waitForTimeout(50);
  }
}

async function openTerminal(page) {
  await page.getByRole('button', { name: 'Terminal', exact: true }).click();
  await page.getByTestId('terminal-panel').waitFor({ timeout: TIMEOUT });
}

async function waitRunning(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="terminal-state"]')?.textContent === 'Running', null, {
    timeout: TERMINAL_START_MS,
  });
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  const sockets = [];
  a.page.on('websocket', (ws) => {
    if (ws.url().endsWith('/terminal')) sockets.push(ws.url());
  });
  await signUp(a.page, baseUrl, uniqueName('Tess'));
  const slug = await createPad(a.page, baseUrl, { title: 'Shell', language: 'python' });
  const invite = await createInviteViaApi(a.page, slug, 'viewer');
  await signUp(b.page, baseUrl, uniqueName('Walt'));
  await acceptInvite(b.page, baseUrl + new URL(invite.url).pathname);

  await openTerminal(a.page);
  const started = Date.now();
  await waitRunning(a.page);
  log(`terminal running after ${Date.now() - started} ms`);
  await openTerminal(b.page);
  await waitRunning(b.page);
  // B may watch but not type, and is told so.
  await b.page.getByTestId('terminal-readonly').waitFor();
  assert.equal(await b.page.getByTestId('terminal-sync').count(), 0, 'viewers get no Sync files action');

  // A types; the shell computes; B sees the result (not just the echoed command).
  await a.page.locator('[data-testid="terminal-panel"] .xterm').click();
  await a.page.keyboard.type('echo hello-$((6*7))', { delay: 10 });
  await a.page.keyboard.press('Enter');
  const seen = await waitForTerminalText(b.page, 'hello-42', "A's command output in B");
  log(`B saw hello-42 ${seen} ms after A pressed Enter`);
  await waitForTerminalText(a.page, 'hello-42', 'the output in A');

  // B's keystrokes do nothing.
  await b.page.locator('[data-testid="terminal-panel"] .xterm').click();
  await b.page.keyboard.type('echo viewer-$((1+1))');
  await b.page.keyboard.press('Enter');
  await a.page.waitForTimeout(700);
  assert.ok(!(await terminalText(a.page)).includes('viewer-2'), "a viewer's input never reaches the shell");

  // Switching panels keeps the terminal: same socket, same scrollback.
  await a.page.getByTestId('drawer-tab-output').click();
  assert.equal(await a.page.getByTestId('terminal-panel').isVisible(), false, 'the terminal is hidden, not gone');
  await a.page.getByRole('button', { name: 'Hide output and terminal' }).click();
  await a.page.getByTestId('drawer-tab-output').waitFor({ state: 'detached' });
  await openTerminal(a.page);
  assert.ok((await terminalText(a.page)).includes('hello-42'), 'scrollback survives switching panels');
  assert.equal((await a.page.getByTestId('terminal-state').textContent()).trim(), 'Running');
  assert.equal(sockets.length, 1, `one terminal socket for the whole session (saw ${sockets.length})`);

  // Sync files: the pad's current text lands in the shell's directory.
  await replaceEditorText(a.page, 'print("sync-check-7")\n');
  await waitForEditorText(a.page, (t) => t.includes('sync-check-7'), { label: 'the edited file' });
  await a.page.getByTestId('terminal-sync').click();
  await a.page.getByText(/Copied \d+ files? into the terminal/).waitFor({ timeout: TIMEOUT });
  await a.page.locator('[data-testid="terminal-panel"] .xterm').click();
  await a.page.keyboard.type('cat main.py', { delay: 10 });
  await a.page.keyboard.press('Enter');
  await waitForTerminalText(b.page, 'print("sync-check-7")', 'the synced file in the terminal');

  await screenshot(b.page);
  await screenshot(a.page, '-a');
}
