// Record a short session and watch it: start recording (the header shows "● Recording"), type,
// wait, type more, stop; export it as JSON; open playback, scrub to the middle and see the
// intermediate text (not the final one), reload that shareable instant, then play to the end.
// A candidate on the pad sees "● Recording" while it runs (the server's push), has no Recordings
// panel, and is refused playback with a message. Needs no Docker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  acceptInvite, createInviteViaApi, createPad, editorText, replaceEditorText, signUp, typeAtEnd, uniqueName, waitForEditorText, TIMEOUT,
} from '../lib/app.mjs';

export const name = 'recording-playback';

async function playbackText(page) {
  return page.evaluate(() => window.monaco?.editor.getEditors()[0]?.getModel()?.getValue() ?? null);
}

async function waitForPlaybackText(page, predicate, label, timeout = TIMEOUT) {
  const start = Date.now();
  for (;;) {
    const text = await playbackText(page);
    if (text != null && predicate(text)) return text;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${label}; playback shows ${JSON.stringify(text)}`);
    await page.waitForTimeout(50);
  }
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const page = a.page;
  await signUp(page, baseUrl, uniqueName('Rita'));
  const slug = await createPad(page, baseUrl, { title: 'Recorded', language: 'python' });
  await replaceEditorText(page, '# start\n');
  await waitForEditorText(page, (t) => t === '# start\n', { label: 'the starting text' });
  const invite = await createInviteViaApi(page, slug, 'candidate');
  const c = await newPage();
  await signUp(c.page, baseUrl, uniqueName('Cand'));
  await acceptInvite(c.page, baseUrl + new URL(invite.url).pathname);
  assert.equal(await c.page.getByRole('button', { name: 'Recordings', exact: true }).count(), 0, 'no Recordings panel for candidates');
  assert.equal(await c.page.getByTestId('recording-indicator').count(), 0);

  // Start recording from the Recordings panel.
  await page.getByRole('button', { name: 'Recordings', exact: true }).click();
  await page.getByTestId('recordings-panel').waitFor();
  await page.getByRole('button', { name: /Start recording/ }).click();
  await page.getByTestId('recording-indicator').waitFor({ timeout: TIMEOUT });
  assert.match(await page.getByTestId('recording-indicator').textContent(), /Recording/);
  // The candidate is told too (pushed over the pad socket).
  await c.page.getByTestId('recording-indicator').waitFor({ timeout: TIMEOUT });

  await page.waitForTimeout(600);
  await typeAtEnd(page, 'alpha = 1\n', { delay: 10 });
  await waitForEditorText(page, (t) => t.includes('alpha = 1'), { label: 'the first edit' });
  await page.waitForTimeout(4000);
  await typeAtEnd(page, 'omega = 2\n', { delay: 10 });
  await waitForEditorText(page, (t) => t.includes('omega = 2'), { label: 'the second edit' });
  await page.waitForTimeout(600);
  const finalText = await editorText(page);

  await page.locator('.rec-live').getByRole('button', { name: /Stop/ }).click();
  await page.getByTestId('recording-indicator').waitFor({ state: 'detached', timeout: TIMEOUT });
  await c.page.getByTestId('recording-indicator').waitFor({ state: 'detached', timeout: TIMEOUT });
  const row = page.getByTestId('recording-row').first();
  assert.equal(await row.getByTestId('recording-status').textContent(), 'stopped');

  // Export: a JSON file fetched with the token (no token in any URL).
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Export' }).click()]);
  assert.match(download.suggestedFilename(), /^recording-.+\.json$/);
  const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(exported.version, 1);
  assert.ok(exported.events.some((e) => e.kind === 'edit'), 'the export holds the edits');
  assert.ok(!download.url().includes('token') && !download.url().includes('eyJ'), 'no token in the download URL');

  // Playback.
  await row.getByRole('link', { name: /Watch/ }).click();
  await page.waitForURL(/\/recordings\/\d+/, { timeout: TIMEOUT });
  const scrubber = page.getByTestId('pb-scrubber');
  await scrubber.waitFor({ timeout: TIMEOUT });
  await waitForPlaybackText(page, (t) => t.includes('# start'), 'the text at the start');
  assert.ok(!(await playbackText(page)).includes('alpha'), 'the start shows the text before any recorded edit');
  const max = Number(await scrubber.getAttribute('max'));
  log(`recording is ${max} ms long`);
  assert.ok(max > 4000 && max < 30_000, `a plausible duration (${max} ms)`);

  // Scrub to the middle: the first edit is there, the second is not.
  await scrubber.fill(String(Math.round(max / 2)));
  const middle = await waitForPlaybackText(page, (t) => t.includes('alpha = 1'), 'the intermediate text');
  assert.ok(!middle.includes('omega'), `the middle shows the intermediate text, not the final one: ${JSON.stringify(middle)}`);
  assert.notEqual(middle, finalText);
  await page.waitForURL(/\?t=\d+$/, { timeout: TIMEOUT });
  await screenshot(page, '-middle');

  // The URL is a shareable link to that instant.
  const shared = page.url();
  await page.goto(shared);
  await page.getByTestId('pb-scrubber').waitFor({ timeout: TIMEOUT });
  const again = await waitForPlaybackText(page, (t) => t.includes('alpha = 1'), 'the shared instant');
  assert.ok(!again.includes('omega'), 'the shared link opens at the same instant');

  // Play to the end at 8× (Space plays).
  await page.getByLabel('Playback speed').selectOption('8');
  await page.locator('.pb-time').click();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: /Pause/ }).waitFor({ timeout: 5000 });
  await waitForPlaybackText(page, (t) => t.includes('omega = 2'), 'the final text while playing', 30_000);
  await page.getByRole('button', { name: /Replay/ }).waitFor({ timeout: 30_000 });
  assert.equal(await playbackText(page), finalText, 'playing to the end shows the final text');
  const time = await page.getByTestId('pb-time').textContent();
  const [pos, total] = time.split('/').map((s) => s.trim());
  assert.equal(pos, total, `the playhead is at the end (${time})`);
  // ← steps back to the last change.
  assert.equal(Number(await page.getByTestId('pb-scrubber').inputValue()), max);
  await page.keyboard.press('ArrowLeft');
  await page.waitForFunction((m) => Number(document.querySelector('[data-testid="pb-scrubber"]')?.value) < m, max, { timeout: 5000 });
  await waitForPlaybackText(page, (t) => t.includes('omega = 2'), 'the text at the last change');
  await screenshot(page);

  // The candidate can't watch playback, and is told why.
  await c.page.goto(baseUrl + new URL(shared).pathname);
  await c.page.getByTestId('playback-problem').waitFor({ timeout: TIMEOUT });
  assert.match(await c.page.getByTestId('playback-problem').textContent(), /can't watch playback/);
  await screenshot(c.page, '-candidate');
}
