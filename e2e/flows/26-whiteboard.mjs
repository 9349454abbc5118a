// The pad's whiteboard: A draws a rectangle, B (collaborator) sees it without reloading, and V
// (viewer) sees it too but cannot draw — the board is in view mode and nothing V does reaches the
// others. Nothing is even asked of another origin (the board's fonts are our own). A recording of
// it plays the board back: empty at the start, both rectangles at the end.
import assert from 'node:assert/strict';
import { apiCall, createPad, inviteNewUser, signUp, uniqueName, TIMEOUT } from '../lib/app.mjs';

export const name = 'whiteboard';

async function openBoard(page) {
  await page.getByTestId('whiteboard-toggle').click();
  assert.equal(await page.getByTestId('whiteboard-toggle').getAttribute('aria-pressed'), 'true');
  await page.locator('[data-testid="whiteboard"] canvas.interactive').waitFor({ timeout: TIMEOUT });
}

async function waitForShapes(page, count, label) {
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="whiteboard"]')?.getAttribute('data-shapes') === String(n),
    count,
    { timeout: TIMEOUT },
  ).catch((err) => {
    throw new Error(`${label}: ${err.message}`);
  });
}

/** Pick the rectangle tool and drag one out in the middle of the board (`at` shifts it). */
async function dragRectangle(page, at = 0) {
  const canvas = page.locator('[data-testid="whiteboard"] canvas.interactive');
  const box = await canvas.boundingBox();
  const x = box.x + box.width / 2 - 80 + at;
  const y = box.y + box.height / 2 - 40 + at;
  await page.locator('[data-testid="whiteboard"] label:has([data-testid="toolbar-rectangle"])').click();
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + 80, y + 40, { steps: 5 });
  await page.mouse.move(x + 160, y + 80, { steps: 5 });
  await page.mouse.up();
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  const v = await newPage();
  const foreign = [];
  for (const { page } of [a, b, v]) {
    page.on('request', (req) => {
      if (!req.url().startsWith(baseUrl) && !req.url().startsWith('data:') && !req.url().startsWith('blob:')) foreign.push(req.url());
    });
  }
  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const slug = await createPad(a.page, baseUrl, { title: 'System design', language: 'python' });
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await inviteNewUser(a.page, v.page, baseUrl, slug, 'viewer', 'Vic');
  const started = await apiCall(a.page, 'POST', `/api/pads/${slug}/recordings`, { name: 'design' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const rec = started.body.recording.id;

  await openBoard(a.page);
  await openBoard(b.page);
  await openBoard(v.page);
  assert.equal(await a.page.getByTestId('whiteboard').getAttribute('data-readonly'), 'false');
  assert.equal(await v.page.getByTestId('whiteboard').getAttribute('data-readonly'), 'true');
  await v.page.getByTestId('whiteboard-readonly').waitFor();

  await dragRectangle(a.page);
  const drawnAt = Date.now();
  await waitForShapes(a.page, 1, "A's own rectangle");
  await waitForShapes(b.page, 1, "A's rectangle on B's board");
  log(`A → B whiteboard propagation: ${Date.now() - drawnAt} ms`);
  await waitForShapes(v.page, 1, "A's rectangle on the viewer's board");
  await screenshot(b.page, '-collaborator');

  // B draws too: the boards agree on two shapes.
  await dragRectangle(b.page, 120);
  for (const p of [a.page, b.page, v.page]) await waitForShapes(p, 2, 'two rectangles everywhere');

  // The viewer's board is in view mode: no tools, the rectangle key picks nothing, a drag only pans.
  assert.equal(await v.page.locator('[data-testid="whiteboard"] [data-testid="toolbar-rectangle"]').count(), 0, 'no drawing tools for a viewer');
  const canvas = await v.page.locator('[data-testid="whiteboard"] canvas.interactive').boundingBox();
  await v.page.mouse.click(canvas.x + 40, canvas.y + 40);
  await v.page.keyboard.press('r');
  await v.page.mouse.move(canvas.x + 60, canvas.y + 60);
  await v.page.mouse.down();
  await v.page.mouse.move(canvas.x + 200, canvas.y + 160, { steps: 8 });
  await v.page.mouse.up();
  await v.page.waitForTimeout(1000);
  for (const p of [a.page, b.page, v.page]) {
    assert.equal(await p.getByTestId('whiteboard').getAttribute('data-shapes'), '2', 'the viewer drew nothing');
  }
  await screenshot(v.page, '-viewer');

  // Reopening the board (a fresh mount) shows what the document holds.
  await b.page.getByTestId('whiteboard-toggle').click();
  await b.page.locator('.monaco-editor').first().waitFor({ state: 'visible' });
  await openBoard(b.page);
  await waitForShapes(b.page, 2, 'the board after reopening it');
  await screenshot(a.page);

  // Playback: the board at the playhead, read-only.
  await a.page.waitForTimeout(300);
  const stopped = await apiCall(a.page, 'POST', `/api/pads/${slug}/recordings/${rec}/stop`, {});
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  await a.page.goto(`${baseUrl}/p/${slug}/recordings/${rec}`);
  const scrubber = a.page.getByTestId('pb-scrubber');
  await scrubber.waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('pb-view-tab-whiteboard').click();
  await a.page.locator('[data-testid="whiteboard"] canvas.interactive').waitFor({ timeout: TIMEOUT });
  assert.equal(await a.page.getByTestId('whiteboard').getAttribute('data-readonly'), 'true');
  await waitForShapes(a.page, 0, 'the board at the start of the recording');
  await scrubber.fill(await scrubber.getAttribute('max'));
  await waitForShapes(a.page, 2, 'the board at the end of the recording');
  await screenshot(a.page, '-playback');
  assert.deepEqual(foreign, [], 'nothing is fetched from another origin');
}
