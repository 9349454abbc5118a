// The owner removes B: B sees a clear message, returns to the dashboard and has lost access. The
// removal sticks: B's invite link no longer lets them in until the owner re-admits them.
import assert from 'node:assert/strict';
import { acceptInvite, createInviteViaApi, createPad, signUp, uniqueName, TIMEOUT } from '../lib/app.mjs';

export const name = 'kick';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Owner'));
  const slug = await createPad(a.page, baseUrl, { title: 'Members only', language: 'python' });
  const invite = await createInviteViaApi(a.page, slug, 'collaborator');
  const nameB = uniqueName('Kevin');
  await signUp(b.page, baseUrl, nameB);
  await acceptInvite(b.page, invite.url);

  await a.page.getByRole('button', { name: 'People' }).first().click();
  const row = a.page.locator('[data-testid="member"]', { hasText: nameB });
  await row.getByRole('button', { name: 'Remove' }).click();
  await a.page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();

  const message = b.page.getByTestId('closed-message');
  await message.waitFor({ timeout: TIMEOUT });
  assert.match(await message.textContent(), /removed/);
  // Behind the dialog the chat does not promise a reconnect that will never come.
  const chat = b.page.locator('#chat-input');
  assert.equal(await chat.isDisabled(), true, 'chat input disabled once removed');
  assert.doesNotMatch((await chat.getAttribute('placeholder')) ?? '', /Reconnecting/);
  await screenshot(b.page);
  await b.page.waitForURL(/\/dashboard$/, { timeout: 15_000 });
  await b.page.goto(`${baseUrl}/p/${slug}`);
  await b.page.getByRole('heading', { name: 'Pad not found' }).waitFor();
  await screenshot(b.page, '-after');

  // The invite B still holds is refused with a sentence that says why.
  await b.page.goto(invite.url);
  await b.page.getByRole('button', { name: /Join pad/ }).click();
  const refusal = b.page.getByRole('alert');
  await refusal.waitFor({ timeout: TIMEOUT });
  assert.match(await refusal.textContent(), /removed you/);
  await screenshot(b.page, '-refused');

  // The owner re-admits B from the People panel; the same link works again.
  const removed = a.page.locator('[data-testid="removed-member"]', { hasText: nameB });
  await removed.getByRole('button', { name: 'Re-admit' }).click();
  await removed.waitFor({ state: 'detached', timeout: TIMEOUT });
  await acceptInvite(b.page, invite.url);
}
