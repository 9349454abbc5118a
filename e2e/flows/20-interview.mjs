// An interview from the question bank: Ada writes a question and starts an interview from it;
// Cam opens the candidate link and waits until Ada lets him in; Cam sees the prompt (Markdown,
// raw HTML shown as text, no guidance) and codes; Ada locks the pad (Cam's typing no longer
// changes it) and ends the interview (Cam sees the closing message).
import assert from 'node:assert/strict';
import { createInviteViaApi, editorText, signUp, typeAtEnd, uniqueName, waitForEditor, waitForEditorText, TIMEOUT } from '../lib/app.mjs';

export const name = 'interview';

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));

  // The question bank, from the dashboard.
  await a.page.getByTestId('question-bank-link').click();
  await a.page.waitForURL(/\/questions$/, { timeout: TIMEOUT });
  await a.page.getByTestId('new-question').click();
  await a.page.getByLabel('Title').fill('Two sum');
  await a.page.getByLabel('Tags').fill('arrays, hashing');
  await a.page.getByLabel(/^Prompt/).fill('Return the indices of the **two** numbers.\n\n<img src=x onerror=alert(1)>');
  await a.page.getByLabel(/^Guidance/).fill('GUIDANCE-ONLY-FOR-ADA: use a dict');
  await a.page.getByLabel('Language to add').selectOption('python');
  await a.page.getByRole('button', { name: 'Add language' }).click();
  await a.page.getByLabel('python starter code').fill('def two_sum(xs, target):\n    pass\n');
  await a.page.getByTestId('save-question').click();
  await a.page.getByRole('button', { name: 'Two sum' }).waitFor({ timeout: TIMEOUT });
  // Filtering by a tag it does not have hides it; its own tag shows it.
  await a.page.getByLabel('Tag').fill('graphs');
  await a.page.getByText('No questions yet').waitFor({ timeout: TIMEOUT });
  await a.page.getByLabel('Tag').fill('arrays');
  await a.page.getByRole('button', { name: 'Two sum' }).waitFor({ timeout: TIMEOUT });

  // Start interview: an interview pad with the starter file and the prompt beside the editor.
  await a.page.getByTestId('start-interview').click();
  await a.page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await waitForEditor(a.page);
  const slug = new URL(a.page.url()).pathname.split('/').pop();
  assert.match(await editorText(a.page), /def two_sum/);
  await a.page.getByTestId('interview-guidance').waitFor({ state: 'attached', timeout: TIMEOUT });

  // Cam opens the candidate link and waits.
  const invite = await createInviteViaApi(a.page, slug, 'candidate');
  await signUp(b.page, baseUrl, uniqueName('Cam'));
  await b.page.goto(baseUrl + new URL(invite.url).pathname);
  await b.page.getByRole('button', { name: /Join pad/ }).click();
  await b.page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await b.page.getByTestId('waiting-room').getByText('Your interviewer will let you in').waitFor({ timeout: TIMEOUT });
  assert.equal(await b.page.locator('.monaco-editor').count(), 0, 'no editor while waiting');

  // Ada sees him waiting and lets him in.
  await a.page.getByTestId('waiting-person').waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('admit').click();
  await waitForEditor(b.page);

  // Cam sees the prompt rendered, the HTML in it as text, and no guidance anywhere.
  const prompt = b.page.getByTestId('interview-prompt');
  await prompt.waitFor({ timeout: TIMEOUT });
  assert.equal(await prompt.locator('strong').textContent(), 'two');
  assert.equal(await prompt.locator('img').count(), 0, 'raw HTML is not rendered');
  assert.match(await prompt.textContent(), /<img src=x onerror=alert\(1\)>/);
  assert.equal(await b.page.getByTestId('interview-guidance').count(), 0);
  assert.ok(!(await b.page.content()).includes('GUIDANCE-ONLY-FOR-ADA'), 'guidance never reaches the candidate');

  // Cam codes; Ada sees it.
  await typeAtEnd(b.page, 'print(two_sum([2, 7], 9))\n');
  await waitForEditorText(a.page, (t) => t.includes('print(two_sum'), { label: "Cam's code on Ada's page" });

  // Ada locks the pad: Cam's editor turns read-only and his typing changes nothing.
  // (The switch shows the server's state: it turns on when the change comes back.)
  await a.page.getByTestId('switch-locked').click();
  await a.page.locator('[data-testid="switch-locked"]:checked').waitFor({ timeout: TIMEOUT });
  await b.page.getByTestId('interview-locked').waitFor({ timeout: TIMEOUT });
  await b.page.getByTestId('interview-banner').getByText('paused editing').waitFor({ timeout: TIMEOUT });
  await b.page.locator('[data-testid="editor-host"][data-readonly="true"]').waitFor({ timeout: TIMEOUT });
  const before = await editorText(a.page);
  await typeAtEnd(b.page, 'LOCKED-TYPING');
  await b.page.waitForTimeout(600);
  assert.equal(await editorText(a.page), before, "Cam's typing while locked does not reach the pad");
  assert.ok(!(await editorText(b.page)).includes('LOCKED-TYPING'));

  // Ada ends the interview: Cam sees the closing message.
  await a.page.getByTestId('end-interview').click();
  await b.page.getByTestId('interview-ended').getByText('The interview has ended').waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('interview-ended').waitFor({ timeout: TIMEOUT });
  assert.ok(await b.page.getByRole('button', { name: /^(▶ )?Run/ }).isDisabled(), 'no running after the end');
  await screenshot(b.page);
}
