// Two browser contexts on one pad: A's typing reaches B within 2 s, B shows A's cursor label in
// A's own colour (the one A's avatar has on both pages, unlike B's), and both see the same run output.
import assert from 'node:assert/strict';
import {
  acceptInvite, createInviteViaApi, createPad, outputText, replaceEditorText, signUp, typeAtEnd, uniqueName, waitForEditorText, waitForRunEnd,
} from '../lib/app.mjs';

export const name = 'collab-two-browsers';

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  const nameA = uniqueName('Alice');
  await signUp(a.page, baseUrl, nameA);
  const slug = await createPad(a.page, baseUrl, { title: 'Pairing', language: 'python' });
  await replaceEditorText(a.page, 'print("pair")\n');
  const invite = await createInviteViaApi(a.page, slug, 'collaborator');
  await signUp(b.page, baseUrl, uniqueName('Bob'), { path: `/?next=${encodeURIComponent(new URL(invite.url).pathname)}` });
  await b.page.waitForURL(/\/invite\//);
  await acceptInvite(b.page, baseUrl + new URL(invite.url).pathname);
  await waitForEditorText(b.page, (t) => t.includes('print("pair")'), { label: "A's initial text in B" });

  const marker = 'zq' + Math.random().toString(36).slice(2, 8).replace(/[0-9]/g, 'x');
  await typeAtEnd(a.page, `# ${marker}`, { delay: 5 });
  const typedAt = Date.now();
  await waitForEditorText(b.page, (t) => t.includes(marker), { timeout: 2000, label: `marker ${marker} in B within 2 s` });
  log(`A → B propagation after typing finished: ${Date.now() - typedAt} ms`);

  const label = b.page.locator('.oc-cursor-label', { hasText: nameA });
  await label.waitFor({ state: 'visible', timeout: 5000 });
  // One colour per person: A's cursor on B's page, A's avatar in B's presence list and A's own
  // avatar in A's header agree; B's differs.
  const background = (locator) => locator.first().evaluate((el) => getComputedStyle(el).backgroundColor);
  const colourA = await background(a.page.locator('.user-button .avatar'));
  assert.equal(await background(label), colourA, "A's cursor label on B's page has A's colour");
  assert.equal(await background(b.page.locator(`[data-testid="presence"] .avatar[title="${nameA}"]`)), colourA, "A's avatar on B's page");
  assert.notEqual(await background(b.page.locator('.user-button .avatar')), colourA, 'B looks different from A');

  // Make the program slow enough to watch it stream: B sees the first line while it still runs.
  await replaceEditorText(a.page, 'import time\nprint("pair", flush=True)\ntime.sleep(2)\nprint("done", flush=True)\n');
  await waitForEditorText(b.page, (t) => t.includes('time.sleep(2)'), { label: 'the slow program in B' });
  await a.page.getByRole('button', { name: /^(▶ )?Run/ }).click();
  await b.page.waitForFunction(
    () =>
      (document.querySelector('[data-testid="output"]')?.textContent ?? '').includes('pair') &&
      /running/.test(document.querySelector('[data-testid="run-status"]')?.textContent ?? ''),
    null,
    { timeout: 30_000 },
  );
  await screenshot(b.page, '-streaming');
  for (const p of [a.page, b.page]) assert.equal(await waitForRunEnd(p), 'Exit 0');
  const outA = await outputText(a.page);
  const outB = await outputText(b.page);
  assert.match(outA, /pair\s+done/);
  assert.equal(outB, outA, 'both see the same output');
  assert.match(await b.page.getByTestId('output-panel').textContent(), new RegExp(`run by ${nameA}`));
  await screenshot(b.page);
  await screenshot(a.page, '-a');
}
