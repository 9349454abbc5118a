// A database pad: the pickers offer every language the server serves (SQL, Kotlin, Haskell, …);
// an SQL pad's editor highlights SQL, a `setup.sql` created in the Files panel fills the tables,
// and Run on main.sql prints the query's result as a table.
import assert from 'node:assert/strict';
import {
  createPad, outputText, replaceEditorText, runAndWaitForEnd, signUp, uniqueName, waitForEditorText,
} from '../lib/app.mjs';

export const name = 'sql-pad';

const modelLanguage = (page) => page.evaluate(() => window.monaco.editor.getEditors()[0].getModel().getLanguageId());

export async function run({ baseUrl, newPage, screenshot }) {
  const { page } = await newPage();
  await signUp(page, baseUrl, uniqueName('Codd'));
  await page.waitForURL(/\/dashboard$/);
  // The picker fills in from GET /api/languages once the dashboard has loaded.
  await page.getByLabel('Language').locator('option[value="sql"]').waitFor({ state: 'attached' });
  const offered = await page.getByLabel('Language').locator('option').evaluateAll((os) => os.map((o) => o.value));
  for (const id of ['kotlin', 'scala', 'haskell', 'php', 'perl', 'lua', 'r', 'elixir', 'bash', 'sql']) {
    assert.ok(offered.includes(id), `the new-pad picker offers ${id}: ${offered}`);
  }
  await createPad(page, baseUrl, { title: 'Employees', language: 'sql' });
  await page.locator('.file-crumb', { hasText: 'main.sql' }).waitFor();
  assert.equal(await modelLanguage(page), 'sql');
  await page.locator('#file-language option[value="elixir"]').waitFor({ state: 'attached' });
  const perFile = await page.locator('#file-language option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(perFile.includes('haskell') && perFile.includes('elixir'), `the file picker offers them too: ${perFile}`);

  await page.getByRole('button', { name: 'New file' }).click();
  await page.getByLabel('New file name').fill('setup.sql');
  await page.getByLabel('New file name').press('Enter');
  await page.getByRole('button', { name: 'setup.sql', exact: true }).waitFor();
  await waitForEditorText(page, (t) => t === '', { label: 'the new setup.sql' });
  assert.equal(await modelLanguage(page), 'sql');
  const setup = "CREATE TABLE employees(name TEXT, dept TEXT);\nINSERT INTO employees VALUES ('Ada', 'eng'), ('Grace', 'eng'), ('Linus', 'ops');\n";
  await replaceEditorText(page, setup);
  await waitForEditorText(page, (t) => t === setup, { label: 'the setup script' });

  await page.getByRole('button', { name: 'main.sql', exact: true }).click();
  const query = 'SELECT dept, COUNT(*) AS people FROM employees GROUP BY dept ORDER BY dept;\n';
  await replaceEditorText(page, query);
  await waitForEditorText(page, (t) => t === query, { label: 'the query' });
  assert.equal(await runAndWaitForEnd(page), 'Exit 0');
  const out = await outputText(page);
  assert.match(out, /│ dept │ people │/, out);
  assert.match(out, /│ eng {2}│ 2 {6}│/, out);
  assert.match(out, /│ ops {2}│ 1 {6}│/, out);
  await screenshot(page);
}
