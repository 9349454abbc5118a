// Fork: a new pad with the same files and text, owned by the forker.
import assert from 'node:assert/strict';
import {
  acceptInvite, createInviteViaApi, createPad, editorText, replaceEditorText, signUp, uniqueName, waitForEditor, waitForEditorText,
} from '../lib/app.mjs';

export const name = 'fork';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Orig'));
  const slug = await createPad(a.page, baseUrl, { title: 'Original', language: 'python' });
  await replaceEditorText(a.page, 'from helper import greet\nprint(greet())\n');
  // A second file via the Files panel.
  await a.page.getByRole('button', { name: 'New file' }).click();
  await a.page.getByLabel('New file name').fill('helper.py');
  await a.page.getByLabel('New file name').press('Enter');
  await a.page.getByRole('button', { name: 'helper.py', exact: true }).waitFor();
  await waitForEditorText(a.page, (t) => t === '', { label: 'the new empty file' });
  await replaceEditorText(a.page, 'def greet():\n    return "hi from helper"\n');

  const invite = await createInviteViaApi(a.page, slug, 'viewer');
  await signUp(b.page, baseUrl, uniqueName('Forker'));
  await acceptInvite(b.page, invite.url);
  await b.page.getByRole('button', { name: 'helper.py', exact: true }).waitFor();
  await b.page.getByRole('button', { name: 'Fork', exact: true }).click();
  await b.page.waitForURL((url) => /\/p\/[^/]+$/.test(url.pathname) && !url.pathname.endsWith(slug), { timeout: 15_000 });
  await waitForEditor(b.page);
  assert.equal((await b.page.getByTestId('role-badge').textContent()).trim(), 'owner');
  assert.match(await b.page.locator('.pad-title-text').textContent(), /Original \(fork\)/);
  const names = await b.page.locator('.file-button').allTextContents();
  assert.deepEqual(names.sort(), ['helper.py', 'main.py']);
  await b.page.getByRole('button', { name: 'main.py', exact: true }).click();
  await waitForEditorText(b.page, (t) => t.includes('from helper import greet'), { label: 'main.py in the fork' });
  await b.page.getByRole('button', { name: 'helper.py', exact: true }).click();
  await waitForEditorText(b.page, (t) => t.includes('hi from helper'), { label: 'helper.py in the fork' });
  assert.ok((await editorText(b.page)).includes('def greet'));
  await screenshot(b.page);
}
