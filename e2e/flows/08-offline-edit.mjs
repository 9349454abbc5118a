// B goes offline, both keep typing, B comes back: both converge to the same text with both edits.
import assert from 'node:assert/strict';
import {
  acceptInvite, createInviteViaApi, createPad, editorText, replaceEditorText, signUp, typeAtEnd, uniqueName, waitForEditorText,
} from '../lib/app.mjs';

export const name = 'offline-edit';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ona'));
  const slug = await createPad(a.page, baseUrl, { title: 'Flaky wifi', language: 'python' });
  await replaceEditorText(a.page, 'line one\n');
  const invite = await createInviteViaApi(a.page, slug, 'collaborator');
  await signUp(b.page, baseUrl, uniqueName('Offe'));
  await acceptInvite(b.page, invite.url);
  await waitForEditorText(b.page, (t) => t.includes('line one'));

  await b.context.setOffline(true);
  await b.page.locator('[data-testid="connection"][data-status="offline"]').waitFor({ timeout: 10_000 });
  await typeAtEnd(b.page, 'offline edit by B\n');
  await typeAtEnd(a.page, 'online edit by A\n');
  await b.page.waitForTimeout(500);
  assert.ok(!(await editorText(a.page)).includes('offline edit by B'), 'A does not see B while B is offline');
  await screenshot(b.page, '-offline');

  await b.context.setOffline(false);
  await b.page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: 20_000 });
  const both = (t) => t.includes('offline edit by B') && t.includes('online edit by A');
  await waitForEditorText(a.page, both, { label: 'both edits in A' });
  await waitForEditorText(b.page, both, { label: 'both edits in B' });
  assert.equal(await editorText(a.page), await editorText(b.page), 'A and B converge');
  await screenshot(b.page);
}
