// Noise a user notices: opening a pad asks for its recordings once (not once per socket state),
// and signing out reminds that the recovery key is the only way back in before it happens.
import assert from 'node:assert/strict';
import { createPad, signUp, uniqueName, waitForEditor } from '../lib/app.mjs';

export const name = 'quiet-workspace';

/** Settle time after the pad is live: a second request would come within it. */
const SETTLE_MS = 2000;

export async function run({ baseUrl, newPage, screenshot }) {
  const { page } = await newPage();
  const who = uniqueName('Quinn');
  await signUp(page, baseUrl, who);
  const slug = await createPad(page, baseUrl, { title: 'Quiet', language: 'python' });

  const asked = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === `/api/pads/${slug}/recordings`) asked.push(req.method());
  });
  await page.reload();
  await waitForEditor(page);
  await page.waitForTimeout(SETTLE_MS);
  assert.deepEqual(asked, ['GET'], `one recordings request per pad load, got ${asked.length}`);

  // Sign out asks first, naming the recovery key; cancelling keeps the session.
  await page.locator('.user-button').click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  const dialog = page.getByRole('dialog', { name: 'Sign out?' });
  await dialog.waitFor();
  assert.match(await dialog.getByTestId('sign-out-reminder').textContent(), /recovery key/);
  await screenshot(page, '-sign-out');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.locator('.user-button .user-name').textContent(), who, 'still signed in');
  await page.locator('.user-button').click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByRole('dialog', { name: 'Sign out?' }).getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${baseUrl}/`);
  assert.equal(await page.evaluate(() => localStorage.getItem('oc_token')), null, 'signed out');
  await screenshot(page);
}
