// The run console: Ada runs a Python program that asks for a name with input(); the prompt shows
// on both pages, Ada types her answer in the console line, and both pages show the prompt, her
// input (marked as input) and the answer. Then Bob, a collaborator, feeds a sys.stdin.read()
// program two lines and ends the input with Ctrl+D; both pages show the count it printed.
import assert from 'node:assert/strict';
import { inviteNewUser, outputText, replaceEditorText, signUp, createPad, uniqueName, waitForEditorText, waitForOutput, waitForRunEnd } from '../lib/app.mjs';

export const name = 'console';

const ASK = 'name = input("name? ")\nprint("hello " + name)\n';
const COUNT = 'import sys\nprint("words:", len(sys.stdin.read().split()))\n';

/** Start a run of the editor's program and wait until this page shows a new run taking input. */
async function runWithConsole(page, previousRun) {
  await page.getByRole('button', { name: /^(▶ )?Run/ }).click();
  await page.waitForFunction(
    (prev) => {
      const panel = document.querySelector('[data-testid="output-panel"]');
      return panel?.dataset.runId && panel.dataset.runId !== prev && panel.querySelector('[data-testid="console-input"]');
    },
    previousRun,
    { timeout: 30_000 },
  );
}

export async function run({ baseUrl, newPage, screenshot, log }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const slug = await createPad(a.page, baseUrl, { title: 'Console', language: 'python' });
  await replaceEditorText(a.page, ASK);
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');
  await waitForEditorText(b.page, (t) => t === ASK, { label: 'the program in Bob’s editor' });

  await runWithConsole(a.page, null);
  await waitForOutput(a.page, 'name? ', 'Ada sees the prompt');
  await waitForOutput(b.page, 'name? ', 'Bob sees the prompt');
  await b.page.getByTestId('console-input').waitFor({ timeout: 10_000 });
  const consoleLine = a.page.getByTestId('console-input');
  await consoleLine.click();
  await consoleLine.fill('Ada Lovelace');
  await consoleLine.press('Enter');
  for (const [page, who] of [[a.page, 'Ada'], [b.page, 'Bob']]) {
    assert.equal(await waitForRunEnd(page), 'Exit 0', `${who}: the program ended`);
    assert.equal((await outputText(page)).trimEnd(), 'name? Ada Lovelace\nhello Ada Lovelace', `${who}: prompt, input and answer`);
    const typed = await page.locator('[data-testid="output"] [data-stream="stdin"]').allTextContents();
    assert.deepEqual(typed, ['Ada Lovelace'], `${who}: the typed line is marked as input`);
  }
  assert.equal(await a.page.getByTestId('console-input').count(), 0, 'no console line once the run is over');
  await screenshot(b.page, '-asked');

  // Bob types two lines into a program that reads to the end of its input, then Ctrl+D.
  const firstRun = await a.page.getByTestId('output-panel').getAttribute('data-run-id');
  await replaceEditorText(a.page, COUNT);
  await waitForEditorText(b.page, (t) => t === COUNT, { label: 'the second program in Bob’s editor' });
  await runWithConsole(a.page, firstRun);
  const bobLine = b.page.getByTestId('console-input');
  await bobLine.waitFor({ timeout: 30_000 });
  await bobLine.click();
  await bobLine.fill('one two');
  await bobLine.press('Enter');
  await waitForOutput(a.page, 'one two', 'Ada sees Bob’s first line');
  assert.equal(await a.page.locator('[data-testid="run-status"][data-finished]').count(), 0, 'the program still waits for input');
  await bobLine.fill('three');
  await bobLine.press('Enter');
  await bobLine.press('Control+d');
  for (const [page, who] of [[a.page, 'Ada'], [b.page, 'Bob']]) {
    assert.equal(await waitForRunEnd(page), 'Exit 0', `${who}: Ctrl+D ended the input`);
    assert.equal((await outputText(page)).trimEnd(), 'one two\nthree\nwords: 3', `${who}: the input and the count`);
  }
  log('console input reached the program from both people; Ctrl+D ended it');
  await screenshot(a.page);
}
