// Take-home with function test cases: Ada declares the signature add(a, b) in the bank's form,
// adds Python (its starter is generated from the signature) and three function cases — two
// visible, one hidden — and makes a take-home link. Cam starts it, finds the generated starter,
// writes a solution with a bug for negative numbers and runs the visible tests: one passes, the
// other fails showing what his function returned. He submits; Ada sees the graded result, the
// hidden call included. Cam's page never shows the hidden call.
import assert from 'node:assert/strict';
import { replaceEditorText, signUp, uniqueName, waitForEditor, waitForEditorText, TIMEOUT } from '../lib/app.mjs';

export const name = 'take-home-function';

const HIDDEN_ARGS = '[41007, 23458]';
const HIDDEN_EXPECTED = '64465';
// One line: the editor's auto-indent has nothing to add.
const SOLUTION = 'def add(a, b): return a + b if a >= 0 else 0\n';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const c = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));

  await a.page.goto(`${baseUrl}/questions`);
  await a.page.getByTestId('new-question').click();
  await a.page.locator('#q-title').fill('Add, as a function');
  await a.page.locator('#q-prompt').fill('Write `add(a, b)` returning the sum.');
  await a.page.getByTestId('signature-function').fill('add');
  await a.page.getByTestId('signature-params').fill('a, b');
  const harnesses = await a.page.getByTestId('harness-languages').textContent();
  assert.ok(harnesses.includes('Python') && harnesses.includes('JavaScript'), harnesses);
  await a.page.getByLabel('Language to add').selectOption('python');
  await a.page.getByRole('button', { name: 'Add language' }).click();
  for (let i = 0; i < 3; i++) await a.page.getByTestId('add-test-case').click();
  for (let i = 0; i < 3; i++) await a.page.getByTestId('test-kind').nth(i).selectOption('function');
  // The form checks the JSON before the server does.
  await a.page.getByTestId('test-args').nth(0).fill('[2, 3');
  await a.page.getByTestId('test-problem').first().getByText('args is not valid JSON').waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('test-args').nth(0).fill('[2, 3]');
  await a.page.getByTestId('test-expected').nth(0).fill('5');
  await a.page.getByTestId('test-args').nth(1).fill('[-1, 5]');
  await a.page.getByTestId('test-expected').nth(1).fill('4');
  await a.page.getByTestId('test-args').nth(2).fill(HIDDEN_ARGS);
  await a.page.getByTestId('test-expected').nth(2).fill(HIDDEN_EXPECTED);
  await a.page.getByTestId('test-hidden').nth(2).check();
  assert.equal(await a.page.getByTestId('test-problem').count(), 0);
  await a.page.getByTestId('save-question').click();
  await a.page.getByTestId('question-signature').getByText('function test cases run in python').waitFor({ timeout: TIMEOUT });

  await a.page.getByTestId('takehome-toggle').locator('summary').click();
  await a.page.getByTestId('create-takehome').click();
  const link = a.page.getByTestId('takehome-url');
  await link.waitFor({ timeout: TIMEOUT });
  const url = await link.inputValue();

  await c.page.goto(baseUrl + new URL(url).pathname);
  await signUp(c.page, baseUrl, uniqueName('Cam'), { path: null });
  await c.page.getByTestId('takehome-start').click();
  await c.page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await waitForEditor(c.page);
  const slug = new URL(c.page.url()).pathname.split('/').pop();
  await waitForEditorText(c.page, (text) => text.includes('def add(a, b):'), { label: 'the generated starter' });
  await a.page.goto(`${baseUrl}/p/${slug}`);
  await waitForEditor(a.page);

  // The visible calls are listed with what they must return.
  assert.equal((await c.page.getByTestId('test-call').first().textContent()).trim(), '[2, 3] → 5');
  await replaceEditorText(c.page, SOLUTION);
  await c.page.waitForTimeout(500);
  await c.page.getByTestId('run-tests').click();
  await c.page.getByTestId('tests-passed').getByText('1/2').waitFor({ timeout: 60_000 });
  const failed = c.page.locator('[data-testid="test-result"][data-passed="false"]');
  await failed.locator('summary').click();
  assert.equal((await failed.getByTestId('test-returned').textContent()).trim(), 'returned 0');

  c.page.on('dialog', (dialog) => void dialog.accept());
  await c.page.getByTestId('takehome-submit').click();
  await c.page.getByTestId('takehome-submitted').waitFor({ timeout: TIMEOUT });
  const candidatePage = await c.page.content();
  for (const secret of ['41007', '23458', HIDDEN_EXPECTED]) {
    assert.ok(!candidatePage.includes(secret), `the hidden call (${secret}) never reaches Cam`);
  }

  await a.page.getByTestId('summary-toggle').locator('summary').first().click();
  const passed = a.page.getByTestId('summary-takehome-passed');
  const graded = async () => (await passed.count()) > 0 && (await passed.textContent()) === '2/3';
  for (let i = 0; i < 60 && !(await graded()); i++) {
    await a.page.getByRole('button', { name: 'Refresh' }).click();
    await a.page.waitForTimeout(500);
  }
  assert.equal(await passed.textContent(), '2/3');
  const takehome = a.page.getByTestId('summary-takehome');
  await takehome.getByText('(hidden)').waitFor({ timeout: TIMEOUT });
  assert.equal(await takehome.locator('[data-testid="test-result"][data-passed="true"]').count(), 2);
  await screenshot(a.page);
}
