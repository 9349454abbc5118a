// An invite link as viewer: B signs up from the link, lands back on it, joins; the editor is
// read-only with a visible badge, and B's chat works.
import assert from 'node:assert/strict';
import { createPad, editorText, replaceEditorText, signUp, uniqueName, waitForEditor, TIMEOUT } from '../lib/app.mjs';

export const name = 'viewer-invite';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Owner'));
  await createPad(a.page, baseUrl, { title: 'Read me', language: 'python' });
  const original = 'print("look, do not touch")\n';
  await replaceEditorText(a.page, original);

  // Owner creates a viewer link in the Share dialog.
  await a.page.getByRole('button', { name: 'Share', exact: true }).click();
  await a.page.getByLabel('Invite role').selectOption('viewer');
  await a.page.getByRole('button', { name: 'Create link' }).click();
  const link = await a.page.getByLabel('New invite link').inputValue();
  assert.match(link, /\/invite\/[^/]+$/);
  await a.page.keyboard.press('Escape');

  // B opens the link signed out, signs up, and comes back to the invite.
  await b.page.goto(link);
  await b.page.getByRole('link', { name: /Pick a name/ }).click();
  await signUp(b.page, baseUrl, uniqueName('Vera'), { path: null });
  await b.page.waitForURL(/\/invite\//, { timeout: TIMEOUT });
  assert.equal(await b.page.getByTestId('invite-role').textContent(), 'viewer');
  await b.page.getByRole('button', { name: /Join pad/ }).click();
  await b.page.waitForURL(/\/p\/[^/]+$/);
  await waitForEditor(b.page);
  await b.page.waitForFunction((t) => window.monaco.editor.getEditors()[0].getModel().getValue() === t, original);

  assert.equal((await b.page.getByTestId('role-badge').textContent()).trim(), 'view only');
  await b.page.getByTestId('viewer-banner').waitFor();
  assert.equal(await b.page.getByTestId('editor-host').getAttribute('data-readonly'), 'true');
  assert.ok(await b.page.getByRole('button', { name: /^(▶ )?Run/ }).isDisabled(), 'Run is disabled for viewers');
  // Typing does nothing.
  await b.page.locator('.monaco-editor .view-lines').first().click();
  await b.page.keyboard.type('XYZ');
  await b.page.waitForTimeout(400);
  assert.equal(await editorText(b.page), original, 'a viewer cannot change the text');
  assert.equal(await editorText(a.page), original, "the owner's text is unchanged");

  // Chat works both ways.
  const input = b.page.getByRole('textbox', { name: 'Message' });
  await input.fill('hello from the viewer');
  await input.press('Enter');
  await a.page.locator('[data-testid="chat-message"]', { hasText: 'hello from the viewer' }).waitFor({ timeout: 5000 });
  await b.page.locator('[data-testid="chat-message"]', { hasText: 'hello from the viewer' }).waitFor({ timeout: 5000 });
  await screenshot(b.page);
}
