// Password pad: a wrong password is refused; the right one admits with the configured role.
import assert from 'node:assert/strict';
import { createPad, signUp, uniqueName, waitForEditor } from '../lib/app.mjs';

export const name = 'password-pad';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Owner'));
  const slug = await createPad(a.page, baseUrl, { title: 'Locked pad', language: 'python' });
  await a.page.getByRole('button', { name: 'Share', exact: true }).click();
  await a.page.getByLabel('Pad password').fill('correct horse');
  await a.page.getByLabel('Role the password grants').selectOption('candidate');
  await a.page.getByRole('button', { name: 'Set password' }).click();
  await a.page.getByText(/joins as/).waitFor();
  await a.page.keyboard.press('Escape');

  await signUp(b.page, baseUrl, uniqueName('Cand'), { path: `/p/${slug}` });
  await b.page.waitForURL(new RegExp(`/p/${slug}$`));
  await b.page.getByText('This pad is password protected').waitFor();
  await b.page.getByLabel('Password').fill('wrong horse');
  await b.page.getByRole('button', { name: 'Unlock' }).click();
  await b.page.getByText('Wrong password.').waitFor();
  // Keep guessing: the server throttles (3 free failures, then growing delays) and the wait is
  // shown honestly, from Retry-After, with the button disabled until it is over.
  const unlock = b.page.getByRole('button', { name: 'Unlock' });
  const waitNotice = b.page.getByText(/Too many attempts\. You can try again in \d+/);
  for (let i = 0; i < 8 && !(await waitNotice.isVisible()); i++) {
    await b.page.getByLabel('Password').fill(`wrong ${i}`);
    await unlock.click();
    await b.page.waitForFunction(() => !document.querySelector('form button[type="submit"]')?.textContent?.includes('Checking'));
  }
  await waitNotice.waitFor({ timeout: 5000 });
  assert.ok(await unlock.isDisabled(), 'Unlock is disabled while throttled');
  await screenshot(b.page, '-throttled');
  await b.page.getByLabel('Password').fill('correct horse');
  await b.page.waitForFunction(() => {
    const btn = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Unlock');
    return btn && !btn.disabled;
  }, null, { timeout: 20_000 });
  await b.page.getByRole('button', { name: 'Unlock' }).click();
  await waitForEditor(b.page);
  assert.equal((await b.page.getByTestId('role-badge').textContent()).trim(), 'candidate');
  assert.equal(await b.page.getByTestId('editor-host').getAttribute('data-readonly'), 'false');
  await screenshot(b.page);
}
