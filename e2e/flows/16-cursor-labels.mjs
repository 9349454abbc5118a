// Remote cursor labels never sit on code for long: B sees A's name when A's caret moves, it fades
// out completely after a moment, and pointing at A's caret shows it again.
import assert from 'node:assert/strict';
import { createPad, inviteNewUser, replaceEditorText, signUp, typeAtEnd, uniqueName, waitForEditorText } from '../lib/app.mjs';

export const name = 'cursor-labels';

/** Longer than the label's time on screen after a move (2 s) plus its fade. */
const FADED_AFTER_MS = 3200;

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  const nameA = uniqueName('Ada');
  await signUp(a.page, baseUrl, nameA);
  const slug = await createPad(a.page, baseUrl, { title: 'Labels', language: 'python' });
  await replaceEditorText(a.page, 'x = 1\ny = 2\nz = 3\n');
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await waitForEditorText(b.page, (t) => t.includes('z = 3'), { label: "A's text in B" });

  const label = b.page.locator('.oc-cursor-label', { hasText: nameA });
  await typeAtEnd(a.page, '# hi');
  await label.waitFor({ state: 'visible', timeout: 5000 });
  await screenshot(b.page, '-shown');
  await b.page.waitForTimeout(FADED_AFTER_MS);
  assert.equal(await label.evaluate((el) => getComputedStyle(el).opacity), '0', 'the label is gone once A stops moving');

  // Pointing at A's caret tells whose it is.
  const caret = b.page.locator('.monaco-editor .oc-caret').first();
  const at = await caret.boundingBox();
  assert.ok(at, "A's caret is drawn");
  await b.page.mouse.move(at.x + 1, at.y + at.height / 2);
  await b.page.waitForFunction((n) => [...document.querySelectorAll('.oc-cursor-label')].some((el) => el.textContent === n && getComputedStyle(el).opacity === '1'), nameA, { timeout: 2000 });
  await screenshot(b.page);
}
