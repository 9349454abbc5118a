// Reload keeps the session; a fresh browser signs in with the recovery key and sees the same pads.
import assert from 'node:assert/strict';
import { createPad, signUp, uniqueName, TIMEOUT } from '../lib/app.mjs';

export const name = 'session-recovery';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const who = uniqueName('Rita');
  const { recoveryKey } = await signUp(a.page, baseUrl, who);
  await createPad(a.page, baseUrl, { title: 'Keep me', language: 'go' });
  await a.page.reload();
  await a.page.locator('.monaco-editor').waitFor({ timeout: TIMEOUT });
  await a.page.goto(baseUrl + '/dashboard');
  await a.page.getByRole('link', { name: 'Keep me' }).waitFor();
  // Visiting the landing page while signed in never silently replaces the identity.
  await a.page.goto(baseUrl + '/');
  await a.page.getByText(`You're signed in as`).waitFor();
  assert.equal(await a.page.getByLabel('Your name').count(), 0);

  const b = await newPage();
  await b.page.goto(baseUrl + '/');
  await b.page.getByRole('button', { name: 'I have a recovery key' }).click();
  await b.page.getByRole('textbox', { name: 'Recovery key' }).fill(recoveryKey);
  await b.page.getByRole('button', { name: 'Sign in' }).click();
  await b.page.waitForURL(/\/dashboard$/);
  await b.page.getByRole('link', { name: 'Keep me' }).waitFor();
  assert.match(await b.page.locator('.user-name').textContent(), new RegExp(who));
  await screenshot(b.page);
}
