// Two people, one pad, one run at a time: Bob's Run while Ada's program runs asks "Stop and run
// again" (instead of starting a second run whose output mixes with the first); both pages then
// show Bob's run alone. Ada stops it with Ctrl/Cmd+. and both pages say who stopped it; after a
// reload the last run's output is still there, and who stopped it.
import assert from 'node:assert/strict';
import {
  createPad, inviteNewUser, outputText, replaceEditorText, signUp, uniqueName, waitForEditorText, waitForRunEnd, TIMEOUT,
} from '../lib/app.mjs';

export const name = 'run-stop-rerun';

// One line per statement: the editor's auto-indent would re-indent typed blocks.
const PROGRAM = 'import time\nfor i in range(10 ** 6): print("tick", i, flush=True); time.sleep(0.2)\n';

/** Wait until the page's output shows a running program whose first line is "tick 0" and that got to `upTo`. */
async function waitForTicks(page, upTo, runBy) {
  await page.waitForFunction(
    ([n, by]) => {
      const panel = document.querySelector('[data-testid="output-panel"]')?.textContent ?? '';
      const out = document.querySelector('[data-testid="output"]')?.innerText ?? '';
      return /running/.test(panel) && panel.includes(`run by ${by}`) && out.startsWith('tick 0') && out.includes(`tick ${n}\n`);
    },
    [upTo, runBy],
    { timeout: 30_000 },
  );
}

/** The ticks shown count up from 0 with no gap or repeat: one run's output, nothing mixed in. */
function assertOneRun(out, label) {
  const ticks = out.trim().split('\n').map((line) => Number(line.replace('tick ', '')));
  ticks.forEach((n, i) => assert.equal(n, i, `${label}: line ${i} is "tick ${n}" in ${JSON.stringify(out.slice(0, 200))}`));
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  const ada = uniqueName('Ada');
  await signUp(a.page, baseUrl, ada);
  const slug = await createPad(a.page, baseUrl, { title: 'Stop and rerun', language: 'python' });
  await replaceEditorText(a.page, PROGRAM);
  const bob = await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await waitForEditorText(b.page, (t) => t === PROGRAM, { label: 'the program in Bob’s editor' });

  await a.page.getByRole('button', { name: /^(▶ )?Run/ }).click();
  await waitForTicks(b.page, 2, ada);

  // Bob presses Run while Ada's program runs: he is asked, and nothing starts until he answers.
  await b.page.locator('.monaco-editor .view-lines').first().click();
  await b.page.keyboard.press('ControlOrMeta+Enter');
  const dialog = b.page.getByRole('dialog', { name: 'A run is in progress' });
  await dialog.waitFor({ timeout: TIMEOUT });
  await screenshot(b.page, '-asked');
  await dialog.getByRole('button', { name: 'Stop and run again' }).click();
  // Both pages now show Bob's run, from its own first line.
  await waitForTicks(a.page, 3, bob);
  await waitForTicks(b.page, 3, 'you');
  assertOneRun(await outputText(a.page), 'Ada sees one run');
  assertOneRun(await outputText(b.page), 'Bob sees one run');

  // Ada stops it from the keyboard; both pages say who stopped it.
  await a.page.locator('.monaco-editor .view-lines').first().click();
  await a.page.keyboard.press('ControlOrMeta+.');
  assert.equal(await waitForRunEnd(a.page, { timeout: 10_000 }), 'Stopped by you');
  assert.equal(await waitForRunEnd(b.page, { timeout: 10_000 }), `Stopped by ${ada}`);
  assert.equal(await a.page.getByTestId('stop-run').count(), 0, 'no Stop button once the run is over');
  const shown = await outputText(b.page);
  assertOneRun(shown, 'the stopped run');
  await screenshot(a.page, '-stopped');

  // A reload keeps the last run's output (the stored copy) and who stopped it.
  await b.page.reload();
  const afterReload = await waitForRunEnd(b.page);
  assert.equal(afterReload, `Stopped by ${ada}`);
  assert.equal(await outputText(b.page), shown, 'the output survives the reload');
  log(`output after reload: ${shown.trim().split('\n').length} lines`);
  await screenshot(b.page);
}
