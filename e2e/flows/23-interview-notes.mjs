// Private interviewer notes: Ada and Bob interview Cam. Both open "Private notes", type, and see
// each other's text arrive live; the preview renders the Markdown. Cam, the candidate, never sees
// the notes: not on the page, not over a socket (her page never opens the notes socket) and not
// even the code (her page never loads the notes module).
import assert from 'node:assert/strict';
import { apiCall, createInviteViaApi, inviteNewUser, signUp, uniqueName, waitForEditor, TIMEOUT } from '../lib/app.mjs';

export const name = 'interview-notes';

const ADA_LINE = 'ADA-NOTE-3c9 asked about **complexity**';
const BOB_LINE = 'BOB-NOTE-7f2 good tests';

async function openNotes(page) {
  await page.getByTestId('notes-toggle').locator('summary').click();
  const area = page.getByTestId('notes-text');
  await area.waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => !document.querySelector('[data-testid="notes-text"]')?.disabled, null, { timeout: TIMEOUT });
  return area;
}

async function waitForNotes(page, expected) {
  await page.waitForFunction(
    (want) => want.every((w) => (document.querySelector('[data-testid="notes-text"]')?.value ?? '').includes(w)),
    expected,
    { timeout: TIMEOUT },
  );
}

export async function run({ baseUrl, newPage, screenshot }) {
  const a = await newPage();
  const b = await newPage();
  const c = await newPage();
  // Everything Cam's page fetches or opens, from the start.
  const camSockets = [];
  const camScripts = [];
  c.page.on('websocket', (ws) => camSockets.push(ws.url()));
  c.page.on('request', (r) => camScripts.push(r.url()));

  await signUp(a.page, baseUrl, uniqueName('Ada'));
  const question = await apiCall(a.page, 'POST', '/api/questions', {
    title: 'Reverse a list',
    prompt: 'Reverse the list **in place**.',
    difficulty: 'easy',
    tags: [],
    languages: [{ language: 'python', files: [] }],
    guidance: '',
  });
  assert.equal(question.status, 201, JSON.stringify(question.body));
  const started = await apiCall(a.page, 'POST', `/api/questions/${question.body.id}/interviews`, { language: 'python' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const slug = started.body.pad.slug;
  await a.page.goto(`${baseUrl}/p/${slug}`);
  await waitForEditor(a.page);
  await inviteNewUser(a.page, b.page, baseUrl, slug, 'collaborator', 'Bob');

  const invite = await createInviteViaApi(a.page, slug, 'candidate');
  await signUp(c.page, baseUrl, uniqueName('Cam'));
  await c.page.goto(baseUrl + new URL(invite.url).pathname);
  await c.page.getByRole('button', { name: /Join pad/ }).click();
  await a.page.getByTestId('waiting-person').waitFor({ timeout: TIMEOUT });
  await a.page.getByTestId('admit').click();
  await waitForEditor(c.page);

  const adaNotes = await openNotes(a.page);
  const bobNotes = await openNotes(b.page);
  await adaNotes.click();
  await a.page.keyboard.type(`${ADA_LINE}\n`, { delay: 5 });
  await waitForNotes(b.page, [ADA_LINE]);
  await bobNotes.click();
  await b.page.keyboard.press('Control+End');
  await b.page.keyboard.type(BOB_LINE, { delay: 5 });
  await waitForNotes(a.page, [ADA_LINE, BOB_LINE]);
  await waitForNotes(b.page, [ADA_LINE, BOB_LINE]);
  assert.equal(
    await a.page.getByTestId('notes-text').inputValue(),
    await b.page.getByTestId('notes-text').inputValue(),
    'both interviewers hold the same notes',
  );
  await a.page.getByTestId('notes-status').getByText(/also here: .*Bob/).waitFor({ timeout: TIMEOUT });

  // The preview renders the Markdown like the prompt.
  await a.page.getByTestId('notes-preview-toggle').click();
  await a.page.getByTestId('notes-preview').locator('strong', { hasText: 'complexity' }).waitFor({ timeout: TIMEOUT });
  await screenshot(a.page);

  // The candidate's page: the interview panel, but no notes anywhere.
  await c.page.getByTestId('interview-panel').waitFor({ timeout: TIMEOUT });
  await c.page.waitForTimeout(1000);
  assert.equal(await c.page.getByTestId('notes-toggle').count(), 0, 'no notes section for the candidate');
  const candidatePage = await c.page.content();
  assert.ok(!candidatePage.includes('ADA-NOTE-3c9') && !candidatePage.includes('BOB-NOTE-7f2'), 'no note on the candidate page');
  assert.ok(camSockets.length > 0, 'the candidate page opened its pad socket');
  assert.ok(!camSockets.some((u) => u.includes('/notes')), `the candidate never opened the notes socket: ${camSockets}`);
  assert.ok(!camScripts.some((u) => /InterviewNotes/.test(u)), 'the candidate page never loaded the notes module');
  const refused = await apiCall(c.page, 'GET', `/api/pads/${slug}/interview`);
  assert.ok(!JSON.stringify(refused.body).includes('NOTE-'), 'the interview answer holds no notes');
}
