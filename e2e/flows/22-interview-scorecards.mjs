// Scorecards: Ada and Bob interview Cam. Ada rates, writes a note and submits; Bob, before
// submitting his own, sees only that one scorecard was submitted, never Ada's note; once he
// submits, he sees Ada's scorecard, and his Markdown summary holds both notes and the code. Cam's
// page never shows a scorecard nor either note. Ada's criteria become her template, and then the
// question's.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { admitNewCandidate, apiCall, inviteNewUser, signUp, startInterviewViaApi, uniqueName, waitForEditor, TIMEOUT } from '../lib/app.mjs';

export const name = 'interview-scorecards';

const ADA_NOTE = 'ADA-SCORECARD-NOTE-5d1';
const BOB_NOTE = 'BOB-SCORECARD-NOTE-8e4';

/** Open the scorecard, rate every criterion `rating`, write `note`, recommend and submit. */
async function fillAndSubmit(page, rating, note, recommendation) {
  const card = page.getByTestId('scorecard');
  const criteria = card.locator('fieldset.scorecard-criterion');
  const count = await criteria.count();
  assert.ok(count > 0, 'the scorecard has criteria');
  for (let i = 0; i < count; i++) {
    await criteria.nth(i).locator('input[type=radio]').nth(rating - 1).check();
  }
  await page.getByTestId('scorecard-notes').fill(note);
  await page.getByTestId('scorecard-recommendation').selectOption(recommendation);
  await page.getByTestId('scorecard-submit').click();
  await card.getByText('Your scorecard (submitted)').waitFor({ timeout: TIMEOUT });
}

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  const c = await newPage();
  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const { questionId, slug } = await startInterviewViaApi(a.page, {
    title: 'FizzBuzz',
    prompt: 'Print the numbers 1 to 100, **fizz** for multiples of 3.',
  });
  await a.page.goto(`${baseUrl}/p/${slug}`);
  await waitForEditor(a.page);
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');

  // Cam, the candidate, is let in.
  await admitNewCandidate(a.page, c.page, baseUrl, slug, uniqueName('Cam'));

  await a.page.getByTestId('scorecard-toggle').locator('summary').click();
  await fillAndSubmit(a.page, 3, ADA_NOTE, 'yes');
  await a.page.getByText('Nobody else has submitted yet.').waitFor({ timeout: TIMEOUT });
  // Her criteria become her template: what her next scorecards start from.
  await a.page.getByTestId('scorecard-save-template').click();
  await a.page.getByText('Your next scorecards start from these criteria').waitFor({ timeout: TIMEOUT });
  const template = await apiCall(a.page, 'GET', '/api/scorecard-template');
  assert.equal(template.body.custom, true, JSON.stringify(template.body));

  // Bob sees that Ada submitted, not what.
  await b.page.getByTestId('scorecard-toggle').locator('summary').click();
  await b.page.getByTestId('scorecards-refresh').click();
  await b.page.getByTestId('scorecards-hidden').getByText('1 submitted').waitFor({ timeout: TIMEOUT });
  assert.ok(!(await b.page.content()).includes(ADA_NOTE), "Ada's note is not on Bob's page before he submits");
  await fillAndSubmit(b.page, 2, BOB_NOTE, 'no');
  const adas = b.page.getByTestId('scorecard-other');
  await adas.getByText(ADA_NOTE).waitFor({ timeout: TIMEOUT });
  await adas.getByText(': Yes').waitFor({ timeout: TIMEOUT });

  // The summary lists both scorecards, and downloads as Markdown.
  await b.page.getByTestId('summary-toggle').locator('summary').first().click();
  await b.page.getByTestId('summary-scorecard').nth(1).waitFor({ timeout: TIMEOUT });
  assert.equal(await b.page.getByTestId('summary-scorecard').count(), 2);
  const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.getByTestId('summary-markdown').click()]);
  assert.match(download.suggestedFilename(), new RegExp(`^interview-${slug}\\.md$`));
  const summary = readFileSync(await download.path(), 'utf8');
  for (const expected of ['# Interview: FizzBuzz', ADA_NOTE, BOB_NOTE, '## Final code']) {
    assert.ok(summary.includes(expected), `${expected} in the summary:\n${summary}`);
  }

  // Ada, already submitted, sees Bob's after a refresh.
  await a.page.getByTestId('scorecards-refresh').click();
  await a.page.getByTestId('scorecard-other').getByText(BOB_NOTE).waitFor({ timeout: TIMEOUT });

  // The candidate has no scorecard anywhere.
  await c.page.getByTestId('interview-panel').waitFor({ timeout: TIMEOUT });
  assert.equal(await c.page.getByTestId('scorecard-toggle').count(), 0, 'no scorecard for the candidate');
  const candidatePage = await c.page.content();
  assert.ok(!candidatePage.includes(ADA_NOTE) && !candidatePage.includes(BOB_NOTE), 'no note reaches the candidate');
  await screenshot(b.page);

  // In the bank, Ada gives the question her template: its next interviews' scorecards use it.
  await a.page.goto(`${baseUrl}/questions`);
  await a.page.getByRole('button', { name: 'FizzBuzz' }).click();
  await a.page.getByRole('button', { name: 'Edit', exact: true }).click();
  // The box turns on once her template has been fetched.
  await a.page.getByTestId('question-scorecard-template').click();
  await a.page.getByText("Its interviews' scorecards use this question's criteria").waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('save-question').click();
  await a.page.getByTestId('start-interview').waitFor({ timeout: TIMEOUT });
  const saved = await apiCall(a.page, 'GET', `/api/questions/${questionId}`);
  assert.deepEqual(saved.body.scorecardTemplate, template.body.sections);
}
