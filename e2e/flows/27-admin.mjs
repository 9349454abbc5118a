// The operator's admin page: an account made admin with the binary opens /admin, finds a user and
// disables them, and closes sign-up; an ordinary account's /admin says it is not allowed.
import assert from 'node:assert/strict';
import { apiCall, signUp, uniqueName, TIMEOUT } from '../lib/app.mjs';

export const name = 'admin';

export async function run({ baseUrl, newPage, screenshot, cli }) {
  const admin = await newPage();
  const target = await newPage();
  const bystander = await newPage();
  await signUp(admin.page, baseUrl, uniqueName('Operator'));
  const targetName = uniqueName('Mallory');
  await signUp(target.page, baseUrl, targetName);
  await signUp(bystander.page, baseUrl, uniqueName('Bystander'));

  const me = await apiCall(admin.page, 'GET', '/api/auth/me');
  const granted = cli(['admin', 'grant', `#${me.body.user.id}`]);
  assert.equal(granted.status, 0, granted.stderr);

  // The menu offers the page once the session knows the account is an admin.
  await admin.page.goto(`${baseUrl}/dashboard`);
  await admin.page.locator('.user-button').click();
  await admin.page.getByRole('menuitem', { name: 'Admin' }).click();
  await admin.page.getByRole('heading', { name: 'Administration' }).waitFor({ timeout: TIMEOUT });

  await admin.page.getByLabel('Search names').fill(targetName);
  await admin.page.getByRole('button', { name: 'Search' }).click();
  const row = admin.page.locator('tr', { hasText: targetName });
  await row.getByRole('button', { name: 'Disable' }).click();
  await admin.page.getByRole('dialog').getByRole('button', { name: 'Disable' }).click();
  await row.getByText('disabled').waitFor({ timeout: TIMEOUT });
  await screenshot(admin.page, '-users');
  const refused = await apiCall(target.page, 'GET', '/api/pads');
  assert.equal(refused.status, 401, 'the disabled account is signed out');

  await admin.page.getByRole('tab', { name: 'Sign-up' }).click();
  await admin.page.getByLabel(/Closed: nobody/).check();
  await admin.page.getByRole('button', { name: 'Save' }).click();
  await admin.page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await admin.page.getByTestId('signup-mode').filter({ hasText: 'Sign-up is closed.' }).waitFor({ timeout: TIMEOUT });
  const late = await bystander.page.evaluate(async () => {
    const res = await fetch('/api/auth/guest', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Too late' }),
    });
    return { status: res.status, body: await res.json() };
  });
  assert.equal(late.status, 403);
  assert.equal(late.body.error, 'signup_closed');
  await screenshot(admin.page, '-signup');

  await bystander.page.goto(`${baseUrl}/admin`);
  await bystander.page.getByTestId('admin-not-allowed').waitFor({ timeout: TIMEOUT });
  await screenshot(bystander.page, '-not-allowed');

  // Flows share one server: sign-up opens again for whoever runs next.
  const reopened = cli(['admin', 'signup', 'open']);
  assert.equal(reopened.status, 0, reopened.stderr);
}
