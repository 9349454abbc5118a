// Take-home: Ada writes a question with a visible and a hidden test case in the bank and makes a
// take-home link. Cam opens the link, signs up, reads the rules and starts; in his private pad he
// codes, runs the visible test (pass; Ada, watching, sees it live) and submits. Ada sees the graded result, the hidden case
// included, in the interview summary. Cam's page never shows the hidden case.
import assert from 'node:assert/strict';
import { replaceEditorText, signUp, uniqueName, waitForEditor, TIMEOUT } from '../lib/app.mjs';

export const name = 'take-home';

const HIDDEN_STDIN = '4100 2345';
const HIDDEN_EXPECTED = '6445';
const SOLUTION = 'import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const c = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));

  // The question, written in the bank's form: one visible case, one hidden.
  await a.page.goto(`${baseUrl}/questions`);
  await a.page.getByTestId('new-question').click();
  await a.page.locator('#q-title').fill('Add two numbers');
  await a.page.locator('#q-prompt').fill('Read two integers from stdin and print their sum.');
  await a.page.getByLabel('Language to add').selectOption('python');
  await a.page.getByRole('button', { name: 'Add language' }).click();
  await a.page.getByTestId('add-test-case').click();
  await a.page.getByTestId('add-test-case').click();
  await a.page.getByTestId('test-stdin').nth(0).fill('2 3');
  await a.page.getByTestId('test-expected').nth(0).fill('5');
  await a.page.getByTestId('test-stdin').nth(1).fill(HIDDEN_STDIN);
  await a.page.getByTestId('test-expected').nth(1).fill(HIDDEN_EXPECTED);
  await a.page.getByTestId('test-hidden').nth(1).check();
  await a.page.getByTestId('save-question').click();

  // The take-home link, shown once.
  await a.page.getByTestId('takehome-toggle').locator('summary').click();
  await a.page.getByTestId('create-takehome').click();
  const link = a.page.getByTestId('takehome-url');
  await link.waitFor({ timeout: TIMEOUT });
  const url = await link.inputValue();
  assert.match(url, /\/take-home\/[A-Za-z0-9_-]{32}$/);

  // Cam opens it, signs up on the way, reads the rules, starts.
  await c.page.goto(baseUrl + new URL(url).pathname);
  await signUp(c.page, baseUrl, uniqueName('Cam'), { path: null });
  await c.page.getByTestId('takehome-start-page').waitFor({ timeout: TIMEOUT });
  assert.equal(await c.page.getByTestId('takehome-limit-text').textContent(), '90 minutes');
  await c.page.getByTestId('takehome-start').click();
  await c.page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await waitForEditor(c.page);
  const slug = new URL(c.page.url()).pathname.split('/').pop();
  await c.page.getByTestId('interview-timer').waitFor({ timeout: TIMEOUT });
  // Ada, who made the take-home, owns the pad and watches.
  await a.page.goto(`${baseUrl}/p/${slug}`);
  await waitForEditor(a.page);

  // He codes and runs the visible test: it passes.
  await replaceEditorText(c.page, SOLUTION);
  await c.page.waitForTimeout(500);
  await c.page.getByTestId('run-tests').click();
  await c.page.getByTestId('tests-passed').getByText('1/1').waitFor({ timeout: 60_000 });
  assert.equal(await c.page.locator('[data-testid="test-result"][data-passed="true"]').count(), 1);
  // Ada sees his run live (visible cases only).
  await a.page.getByTestId('tests-panel').getByText(/ran the tests/).waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('tests-passed').getByText('1/1').waitFor({ timeout: TIMEOUT });

  // Submit: the pad is read-only for him from now on.
  c.page.on('dialog', (dialog) => void dialog.accept());
  await c.page.getByTestId('takehome-submit').click();
  await c.page.getByTestId('takehome-submitted').waitFor({ timeout: TIMEOUT });
  await c.page.getByTestId('interview-ended').waitFor({ timeout: TIMEOUT });
  const candidatePage = await c.page.content();
  assert.ok(!candidatePage.includes(HIDDEN_STDIN) && !candidatePage.includes(HIDDEN_EXPECTED), 'the hidden case never reaches Cam');

  // Ada sees the graded result, the hidden case included, in the summary.
  await a.page.getByTestId('summary-toggle').locator('summary').first().click();
  const passed = a.page.getByTestId('summary-takehome-passed');
  // Grading runs in the background after the submission: refresh until it is in.
  const graded = async () => (await passed.count()) > 0 && (await passed.textContent()) === '2/2';
  for (let i = 0; i < 60 && !(await graded()); i++) {
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await a.page.waitForTimeout(500);
  }
  assert.equal(await passed.textContent(), '2/2');
  const takehome = a.page.getByTestId('summary-takehome');
  await takehome.getByText('(hidden)').waitFor({ timeout: TIMEOUT });
  assert.equal(await takehome.locator('[data-testid="test-result"][data-passed="true"]').count(), 2);
  await a.page.getByTestId('summary-playback').first().waitFor({ timeout: TIMEOUT });
  await screenshot(a.page);
}
