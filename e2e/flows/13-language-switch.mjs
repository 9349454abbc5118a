// Switching a file's language renames it to the language's convention and brings its starter,
// but never replaces someone's code without asking: Ada turns the untouched Python starter into
// C (main.c, C starter, runs); Bob writes JavaScript into it; Ada's switch to JavaScript asks, she
// keeps the code (main.js, runs 42); a switch she cancels changes nothing.
import assert from 'node:assert/strict';
import {
  createPad, editorText, inviteNewUser, outputText, replaceEditorText, runAndWaitForEnd, signUp, uniqueName, waitForEditorText, TIMEOUT,
} from '../lib/app.mjs';

export const name = 'language-switch';

async function fileShown(page, name) {
  await page.locator('.file-crumb', { hasText: name }).waitFor({ timeout: TIMEOUT });
}

async function runShows(page, expected) {
  assert.equal(await runAndWaitForEnd(page), 'Exit 0');
  assert.match(await outputText(page), expected);
}

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const slug = await createPad(a.page, baseUrl, { title: 'Polyglot', language: 'python' });
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await fileShown(b.page, 'main.py');
  const starter = await editorText(a.page);

  // The untouched starter is nobody's code: C takes its place without a question.
  await a.page.locator('#file-language').selectOption('c');
  for (const p of [a.page, b.page]) {
    await fileShown(p, 'main.c');
    await waitForEditorText(p, (t) => t.includes('#include') && !t.includes(starter.trim()), { label: 'the C starter' });
  }
  assert.equal(await a.page.getByRole('dialog').count(), 0, 'no question for an untouched starter');
  await runShows(a.page, /hello/i);

  // Bob's code is his: switching asks, and "Keep the code" keeps it under the new name.
  const js = 'console.log(6 * 7)\n';
  await replaceEditorText(b.page, js);
  await waitForEditorText(a.page, (t) => t === js, { label: 'Bob’s code in Ada’s editor' });
  await a.page.locator('#file-language').selectOption('javascript');
  const ask = a.page.getByRole('dialog', { name: /^Switch to JavaScript/ });
  await ask.waitFor({ timeout: TIMEOUT });
  await screenshot(a.page, '-asked');
  await ask.getByRole('button', { name: 'Keep the code' }).click();
  for (const p of [a.page, b.page]) await fileShown(p, 'main.js');
  assert.equal(await editorText(b.page), js, 'the code is kept');
  await runShows(b.page, /^42\s*$/);

  // Cancel changes nothing: name, language and code stay.
  await a.page.locator('#file-language').selectOption('python');
  const again = a.page.getByRole('dialog', { name: /^Switch to Python/ });
  await again.waitFor({ timeout: TIMEOUT });
  await again.getByRole('button', { name: 'Cancel' }).click();
  await fileShown(a.page, 'main.js');
  assert.equal(await a.page.locator('#file-language').inputValue(), 'javascript');
  assert.equal(await editorText(a.page), js);
  await screenshot(a.page);
}
