// The landing page logs nothing when nobody is signed in (no failed `/api/auth/me`), and asking
// "who am I?" with a cookie-only session still signs the user in.
import assert from 'node:assert/strict';
import { signUp, uniqueName } from '../lib/app.mjs';

export const name = 'quiet-landing';

export async function run({ baseUrl, browser, screenshot }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const errors = [];
    const failed = [];
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('response', (res) => res.status() >= 400 && failed.push(`${res.status()} ${new URL(res.url()).pathname}`));
    await page.goto(baseUrl + '/');
    await page.getByLabel('Your name').waitFor();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(failed, [], 'no failed request on the landing page');
    assert.deepEqual(errors, [], 'no console error on the landing page');
    await screenshot(page, '-visitor');

    // Cookie-only: drop the stored bearer token; the session cookie alone still signs in.
    const who = uniqueName('Cookie');
    await signUp(page, baseUrl, who);
    await page.waitForURL(/\/dashboard$/);
    await page.evaluate(() => localStorage.removeItem('oc_token'));
    await page.reload();
    await page.locator('.user-button .user-name').filter({ hasText: who }).waitFor();
    assert.deepEqual(errors, [], 'no console error while signed in');
    await screenshot(page);
  } finally {
    await context.close();
  }
}
