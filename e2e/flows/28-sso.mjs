// Single sign-on in the browser (issue 14 §6), against the interop suite's real OpenID provider
// (panva's oidc-provider, tests/interop/oidc_provider.mjs) and a server where it is the only way
// in: the sign-in page offers only the button; the button goes through the provider and comes
// back signed in, on the dashboard; sign-out goes through the provider's logout and back; a callback that does not
// belong to this browser lands on the page with the error said in words.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TIMEOUT } from '../lib/app.mjs';
import { freePort, repoRoot, startServer } from '../lib/server.mjs';

export const name = 'sso';

async function loadProvider() {
  const interop = join(repoRoot, 'tests', 'interop');
  if (!existsSync(join(interop, 'node_modules', 'oidc-provider'))) {
    throw new Error('this flow runs the interop suite\'s OpenID provider: cd tests/interop && npm ci');
  }
  return import(pathToFileURL(join(interop, 'oidc_provider.mjs')).href);
}

export async function run({ newPage, screenshot }) {
  const { startProvider, CLIENT_ID, CLIENT_SECRET } = await loadProvider();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startProvider([origin]);
  let server;
  try {
    server = await startServer({
      port,
      logFile: join(repoRoot, 'artifacts', 'e2e', 'sso-server.log'),
      env: {
        PUBLIC_BASE_URL: origin,
        AUTH_MODE: 'sso',
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: CLIENT_ID,
        OIDC_CLIENT_SECRET: CLIENT_SECRET,
        OIDC_SCOPES: 'openid profile groups',
        OIDC_LABEL: 'Interop ID',
      },
    });
    const { page } = await newPage();
    await page.goto(`${origin}/`);
    const button = page.getByTestId('sso-sign-in');
    await button.waitFor({ timeout: TIMEOUT });
    assert.equal(await button.textContent(), 'Sign in with Interop ID');
    assert.equal(await page.locator('#signup-name').count(), 0, 'SSO-only: no name form');
    await screenshot(page, '-sign-in');

    idp.control.nextAccount = { sub: 'e2e-ada', name: 'Ada Browser', groups: [] };
    await button.click();
    // Back from the provider signed in, and on to where the sign-in started (the dashboard).
    await page.waitForURL(`${origin}/dashboard`, { timeout: TIMEOUT });
    await page.locator('.user-button', { hasText: 'Ada Browser' }).waitFor({ timeout: TIMEOUT });
    await screenshot(page, '-signed-in');

    // Sign out: through the provider's logout page, then back to the front page, signed out.
    await page.goto(`${origin}/settings`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.getByRole('button', { name: 'Make a new recovery key' }).count(), 0, 'no recovery key where SSO is the only way in');
    await page.getByTestId('sso-linked').waitFor({ timeout: TIMEOUT });
    assert.equal(await page.getByTestId('sso-link').count(), 0, 'a linked account is not offered the link again');
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    const dialog = page.getByRole('dialog');
    assert.equal(await dialog.getByTestId('sign-out-reminder').textContent(), 'Sign back in with Interop ID.');
    await dialog.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click({ timeout: TIMEOUT });
    await page.getByTestId('sso-sign-in').waitFor({ timeout: TIMEOUT });
    assert.equal(page.url(), `${origin}/`);
    const me = await page.evaluate(async () => (await fetch('/api/auth/me')).json());
    assert.equal(me.user, null, 'signed out');

    // A callback this browser did not start: no session, and the page says why.
    await page.goto(`${origin}/api/auth/oidc/callback?code=stolen&state=forged`);
    const error = page.getByTestId('sso-error');
    await error.waitFor({ timeout: TIMEOUT });
    assert.match(await error.textContent(), /didn't match one started in this browser/);
    await screenshot(page);
  } finally {
    await server?.stop();
    await idp.stop();
  }
}
