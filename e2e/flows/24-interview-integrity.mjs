// Integrity timeline: Cam, the candidate, pastes into the editor, inserts a large block at once
// and leaves the window; Ada, the interviewer, sees each in her Interview panel as it happens and
// in the summary, and in playback as markers on Cam's own track beside hers. Cam's page shows
// none of it.
import assert from 'node:assert/strict';
import { admitNewCandidate, apiCall, signUp, startInterviewViaApi, typeAtEnd, uniqueName, waitForEditor, TIMEOUT } from '../lib/app.mjs';

export const name = 'interview-integrity';

const PASTED = 'def solve(xs):\n    return sorted(xs)\n';

/** Paste `text` into the focused editor the way the browser delivers a paste. */
async function paste(page, text) {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.evaluate((pasted) => {
    const data = new DataTransfer();
    data.setData('text/plain', pasted);
    const target = document.activeElement ?? document.querySelector('.monaco-editor textarea');
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const c = await newPage();
  const camName = uniqueName('Cam');
  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const { slug } = await startInterviewViaApi(a.page, { title: 'Sort it', prompt: 'Sort a list.' });
  await a.page.goto(`${baseUrl}/p/${slug}`);
  await waitForEditor(a.page);
  const recording = await apiCall(a.page, 'POST', `/api/pads/${slug}/recordings`, { name: 'Round 1' });
  assert.equal(recording.status, 201, JSON.stringify(recording.body));

  await admitNewCandidate(a.page, c.page, baseUrl, slug, camName);
  await a.page.getByText('Nothing reported.').first().waitFor({ timeout: TIMEOUT });

  // Ada types a little (her own track), then Cam pastes, inserts a large block and leaves.
  await typeAtEnd(a.page, '\n# ada was here');
  await paste(c.page, PASTED);
  const live = a.page.getByTestId('live-integrity');
  await live.getByText(`pasted ${PASTED.length} characters into`).waitFor({ timeout: TIMEOUT });
  // Large enough for playback to outline it too (its update is over 2 KiB).
  // Typing goes in a character per change; a block arrives in one (a drop, an extension, a snippet).
  await c.page.evaluate((text) => {
    const editor = window.monaco.editor.getEditors()[0];
    const end = editor.getModel().getFullModelRange().getEndPosition();
    editor.executeEdits('e2e', [{ range: { startLineNumber: end.lineNumber, startColumn: end.column, endLineNumber: end.lineNumber, endColumn: end.column }, text }]);
  }, `\n${'# generated\n'.repeat(200)}`);
  await live.getByText('inserted 2,401 characters at once').waitFor({ timeout: TIMEOUT });
  await c.page.evaluate(() => window.dispatchEvent(new Event('blur')));
  await c.page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await live.getByText('came back to the pad').waitFor({ timeout: TIMEOUT });
  assert.equal(await live.getByTestId('integrity-event').count(), 4, await live.innerText());
  assert.ok((await live.innerText()).includes(camName), 'each report names the candidate');

  // The candidate sees none of it.
  assert.equal(await c.page.getByTestId('live-integrity').count(), 0);
  const candidatePage = await c.page.content();
  assert.ok(!candidatePage.includes('pasted') && !candidatePage.includes('came back to the pad'), 'no report on the candidate page');

  // The summary lists them.
  await a.page.getByTestId('summary-toggle').locator('summary').first().click();
  const summary = a.page.getByTestId('summary-integrity');
  await summary.getByText('left the pad').waitFor({ timeout: TIMEOUT });
  assert.equal(await summary.getByTestId('integrity-event').count(), 4);

  // Playback: one track per participant; Cam's carries the integrity markers.
  const stopped = await apiCall(a.page, 'POST', `/api/pads/${slug}/recordings/${recording.body.recording.id}/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  await a.page.goto(`${baseUrl}/p/${slug}/recordings/${recording.body.recording.id}`);
  await a.page.getByTestId('pb-tracks').waitFor({ timeout: TIMEOUT });
  const camLane = a.page.locator(`[data-testid="pb-lane"][data-lane="${camName}"]`);
  await camLane.getByTestId('pb-integrity-marker').nth(3).waitFor({ timeout: TIMEOUT });
  assert.ok((await a.page.getByTestId('pb-lane').count()) >= 2, 'Ada and Cam each have a track');
  assert.ok((await camLane.locator('.pb-block-large').count()) >= 1, "Cam's large insertion is outlined on his track");
  await screenshot(a.page);
  await camLane.getByTestId('pb-integrity-marker').first().click();
  await a.page.getByTestId('pb-time').waitFor({ timeout: TIMEOUT });
}
