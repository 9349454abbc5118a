// Sign up → create a Python pad → type a program → Run → output appears.
import assert from 'node:assert/strict';
import { createPad, editorText, outputText, replaceEditorText, signUp, uniqueName, waitForEditorText, waitForRunEnd, TIMEOUT } from '../lib/app.mjs';

export const name = 'run-python';

export async function run({ baseUrl, health, newPage, screenshot, log }) {
  const { page } = await newPage();
  await signUp(page, baseUrl, uniqueName('Ada'));
  await page.waitForURL(/\/dashboard$/);
  const slug = await createPad(page, baseUrl, { title: 'Python run', language: 'python' });
  log('pad', slug);
  // The unsandboxed-backend banner shows exactly when the server says runs are not isolated.
  const banner = page.getByText('Code runs unsandboxed on this server');
  if (health?.exec?.isolated === false) await banner.waitFor();
  else assert.equal(await banner.count(), 0, 'no unsandboxed banner on an isolated backend');
  const program = 'import sys\nname = sys.stdin.readline().strip() or "nobody"\nprint("hello,", name)\nprint(6 * 7)\nprint("to stderr", file=sys.stderr)\n';
  await replaceEditorText(page, program);
  await waitForEditorText(page, (t) => t === program, { label: 'the typed program' });
  // stdin box
  await page.getByRole('button', { name: /^stdin/ }).click();
  await page.getByLabel(/Standard input/).fill('Grace\n');
  // Run with the keyboard shortcut from the editor (the Run button is exercised in other flows).
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('ControlOrMeta+Enter');
  const status = await waitForRunEnd(page);
  const out = await outputText(page);
  assert.match(out, /hello, Grace/, 'stdout shows the greeting with stdin');
  assert.match(out, /42/, 'stdout shows 42');
  assert.equal(status, 'Exit 0');
  const stderr = await page.locator('[data-stream="stderr"]').first().textContent({ timeout: TIMEOUT });
  assert.match(stderr, /to stderr/, 'stderr is shown separately');
  assert.equal(await editorText(page), program, 'the program is still there (Ctrl+Enter inserted no newline)');
  await screenshot(page);
}
