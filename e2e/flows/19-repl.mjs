// The REPL after a run: Ada runs a Python program defining sq(x); the output offers a REPL, Ada
// opens one with the REPL button and types `sq(12)` straight into its console line (focused for
// her); both Ada and Bob see the prompt, her input marked as input and 144. Bob (collaborator)
// types too; Ada's Stop closes the REPL for both ("Stopped by you" / "Stopped by Ada"), and after
// a reload Bob still sees the exchange as a REPL. Ctrl/Cmd+Shift+Enter opens another; Run closes it
// and runs the program.
import assert from 'node:assert/strict';
import { createPad, inviteNewUser, outputText, replaceEditorText, runAndWaitForEnd, signUp, uniqueName, waitForEditorText, waitForOutput, waitForRunEnd } from '../lib/app.mjs';

export const name = 'repl';

const PROGRAM = 'def sq(x): return x*x\nprint("ready")\n';

/** Wait until this page shows a live REPL (a new run id, the REPL chip, its console line). */
async function waitForRepl(page, previousRun) {
  await page.waitForFunction(
    (prev) => {
      const panel = document.querySelector('[data-testid="output-panel"]');
      return panel?.dataset.runId && panel.dataset.runId !== prev && panel.querySelector('[data-testid="repl-chip"]') &&
        panel.querySelector('[data-testid="console-input"]');
    },
    previousRun,
    { timeout: 30_000 },
  );
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  const ada = uniqueName('Ada');
  await signUp(a.page, baseUrl, ada);
  const slug = await createPad(a.page, baseUrl, { title: 'REPL', language: 'python' });
  await replaceEditorText(a.page, PROGRAM);
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await waitForEditorText(b.page, (t) => t === PROGRAM, { label: 'the program in Bob’s editor' });

  assert.equal(await runAndWaitForEnd(a.page), 'Exit 0', 'the program ran');
  await a.page.getByTestId('repl-offer').waitFor({ timeout: 10_000 });
  const ranBefore = await a.page.getByTestId('output-panel').getAttribute('data-run-id');
  await a.page.getByTestId('open-repl').click();
  await waitForRepl(a.page, ranBefore);
  await waitForRepl(b.page, ranBefore);
  await waitForOutput(a.page, '>>> ', 'Ada sees the prompt');
  assert.equal(await a.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'console-input', 'Ada can type into her REPL at once');
  await a.page.keyboard.type('sq(12)');
  await a.page.keyboard.press('Enter');
  for (const [page, who] of [[a.page, 'Ada'], [b.page, 'Bob']]) {
    await waitForOutput(page, '144', `${who} sees the result`);
    assert.equal((await outputText(page)).trimEnd(), 'ready\n>>> sq(12)\n144\n>>>', `${who}: the program's output, the prompt, the input and 144`);
    const typed = await page.locator('[data-testid="output"] [data-stream="stdin"]').allTextContents();
    assert.deepEqual(typed, ['sq(12)'], `${who}: the typed line is marked as input`);
    assert.match(await page.getByTestId('run-status').textContent(), /REPL open/, `${who}: the status says a REPL is open`);
  }
  assert.equal(await b.page.evaluate(() => document.activeElement?.getAttribute('data-testid')), null, 'Bob’s focus was not moved');
  await screenshot(b.page, '-bob');

  const bobLine = b.page.getByTestId('console-input');
  await bobLine.click();
  await bobLine.fill('[sq(n) for n in range(4)]');
  await bobLine.press('Enter');
  await waitForOutput(a.page, '[0, 1, 4, 9]', 'Ada sees Bob’s result');

  await a.page.getByTestId('stop-run').click();
  assert.equal(await waitForRunEnd(a.page), 'Stopped by you');
  assert.equal(await waitForRunEnd(b.page), `Stopped by ${ada}`);
  assert.equal(await a.page.getByTestId('console-input').count(), 0, 'no console line once the REPL is closed');

  await b.page.reload();
  await waitForRunEnd(b.page);
  await b.page.getByTestId('repl-chip').waitFor({ timeout: 10_000 });
  assert.match(await outputText(b.page), /sq\(12\)\n144\n/, 'the exchange survives a reload');

  // Ctrl/Cmd+Shift+Enter opens another REPL; Run closes it and runs the program instead.
  const stopped = await a.page.getByTestId('output-panel').getAttribute('data-run-id');
  await a.page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await a.page.keyboard.press('ControlOrMeta+Shift+Enter');
  await waitForRepl(a.page, stopped);
  await waitForOutput(a.page, '>>> ', 'Ada sees the second REPL’s prompt');
  assert.equal(await runAndWaitForEnd(a.page), 'Exit 0', 'Run closed the REPL and ran the program');
  assert.equal((await outputText(a.page)).trimEnd(), 'ready');
  assert.equal(await a.page.getByTestId('repl-chip').count(), 0, 'the run is not a REPL');
  log('Ada and Bob both saw sq(12) = 144 in the REPL; Stop closed it for both; the exchange survives a reload; Run replaces an open REPL');
  await screenshot(a.page);
}
