// What a user does in the app, as reusable steps. Everything goes through the UI unless a step
// says it is setup (then it uses the same REST API the client uses, with the page's own token).
import assert from 'node:assert/strict';

export const TIMEOUT = 20_000;

let counter = 0;
export function uniqueName(prefix) {
  counter += 1;
  return `${prefix} ${Date.now().toString(36).slice(-4)}${counter}`;
}

/** Sign up through the landing page; returns { name, recoveryKey }. Lands on `next` (or the dashboard). */
export async function signUp(page, baseUrl, name, { path = '/' } = {}) {
  if (path) await page.goto(baseUrl + path);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: /Start coding/ }).click();
  const keyEl = page.getByTestId('recovery-key');
  await keyEl.waitFor({ timeout: TIMEOUT });
  const recoveryKey = (await keyEl.textContent()).trim();
  assert.ok(recoveryKey.length >= 16, 'a recovery key is shown');
  await page.getByLabel('I have saved my recovery key').check();
  await page.getByRole('button', { name: /Continue/ }).click();
  return { name, recoveryKey };
}

/** From the dashboard: create a pad; returns its slug once the editor is live. */
export async function createPad(page, baseUrl, { title, language = 'python', kind } = {}) {
  if (!page.url().endsWith('/dashboard')) await page.goto(baseUrl + '/dashboard');
  await page.getByRole('heading', { name: /Your pads/ }).waitFor({ timeout: TIMEOUT });
  if (title) await page.getByLabel('Title').fill(title);
  await page.getByLabel('Language').selectOption(language);
  if (kind === 'interview') await page.getByText('Interview', { exact: true }).click();
  await page.getByRole('button', { name: /Create pad/ }).click();
  await page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await waitForEditor(page);
  return new URL(page.url()).pathname.split('/').pop();
}

/** Wait until the editor is mounted, synced ("live") and shows a model. */
export async function waitForEditor(page) {
  await page.locator('.monaco-editor').first().waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: TIMEOUT });
  await page.waitForFunction(() => !!window.monaco?.editor.getEditors()[0]?.getModel(), null, { timeout: TIMEOUT });
}

export async function editorText(page) {
  return page.evaluate(() => window.monaco.editor.getEditors()[0].getModel().getValue());
}

/** Replace the open file's text the way a user pasting would. */
export async function replaceEditorText(page, text) {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Put the caret at the end of the document and type. */
export async function typeAtEnd(page, text, { delay = 15 } = {}) {
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('ControlOrMeta+End');
  await page.keyboard.type(text, { delay });
}

export async function waitForEditorText(page, predicate, { timeout = TIMEOUT, label = 'editor text' } = {}) {
  const start = Date.now();
  for (;;) {
    const text = await editorText(page);
    if (predicate(text)) return { text, ms: Date.now() - start };
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${label}; editor has: ${JSON.stringify(text.slice(0, 300))}`);
    await page.waitForTimeout(25);
  }
}

/** Setup via the REST API with the page's own session (same calls the UI makes). */
export async function apiCall(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const token = localStorage.getItem('oc_token');
      const res = await fetch(path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    { method, path, body },
  );
}

export async function createInviteViaApi(page, slug, role) {
  const res = await apiCall(page, 'POST', `/api/pads/${slug}/invites`, { role });
  assert.equal(res.status, 201, `invite created: ${JSON.stringify(res.body)}`);
  return res.body.invite;
}

/** Create a question (Python) from `fields` and start an interview from it; returns `{ questionId, slug }`. */
export async function startInterviewViaApi(page, fields) {
  const question = await apiCall(page, 'POST', '/api/questions', {
    difficulty: 'easy',
    tags: [],
    languages: [{ language: 'python', files: [] }],
    guidance: '',
    ...fields,
  });
  assert.equal(question.status, 201, JSON.stringify(question.body));
  const started = await apiCall(page, 'POST', `/api/questions/${question.body.id}/interviews`, { language: 'python' });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  return { questionId: question.body.id, slug: started.body.pad.slug };
}

/** Sign `candidatePage` up as `name`, join through a candidate invite and be let in from `interviewerPage`. */
export async function admitNewCandidate(interviewerPage, candidatePage, baseUrl, slug, name) {
  const invite = await createInviteViaApi(interviewerPage, slug, 'candidate');
  await signUp(candidatePage, baseUrl, name);
  await candidatePage.goto(baseUrl + new URL(invite.url).pathname);
  await candidatePage.getByRole('button', { name: /Join pad/ }).click();
  await interviewerPage.getByTestId('waiting-person').waitFor({ timeout: TIMEOUT });
  await interviewerPage.getByTestId('admit').click();
  await waitForEditor(candidatePage);
}

/** Accept an invite link through the UI (the invite page's Join button). */
export async function acceptInvite(page, url) {
  await page.goto(url);
  await page.getByRole('button', { name: /Join pad/ }).click();
  await page.waitForURL(/\/p\/[^/]+$/, { timeout: TIMEOUT });
  await waitForEditor(page);
}

/** Sign `guest` up as a new user and bring them onto the pad with `role`; returns their name. */
export async function inviteNewUser(ownerPage, guestPage, baseUrl, slug, role, prefix) {
  const invite = await createInviteViaApi(ownerPage, slug, role);
  const name = uniqueName(prefix);
  await signUp(guestPage, baseUrl, name);
  await acceptInvite(guestPage, baseUrl + new URL(invite.url).pathname);
  return name;
}

/** Press Run and wait for that run (not the one shown before) to finish; returns its status. */
export async function runAndWaitForEnd(page, { timeout = 60_000 } = {}) {
  const panel = page.getByTestId('output-panel');
  const before = await panel.getAttribute('data-run-id');
  await page.getByRole('button', { name: /^(▶ )?Run/ }).click();
  await page.waitForFunction(
    (previous) => {
      const el = document.querySelector('[data-testid="output-panel"]');
      return el?.dataset.runId && el.dataset.runId !== previous && el.querySelector('[data-testid="run-status"][data-finished]');
    },
    before,
    { timeout },
  );
  return waitForRunEnd(page);
}

/** Wait until the output panel shows a finished run; returns its plain-language status. */
export async function waitForRunEnd(page, { timeout = 60_000 } = {}) {
  const status = page.locator('[data-testid="run-status"][data-finished]');
  await status.waitFor({ timeout });
  return ((await status.textContent()) ?? '').trim();
}

/** The output as shown (rows are blocks, so innerText keeps their line breaks). */
export async function outputText(page) {
  return (await page.getByTestId('output').innerText()) ?? '';
}

/** Wait until the page's output (as shown) contains `expected`; `label` says whose page in the error. */
export async function waitForOutput(page, expected, label) {
  await page.waitForFunction(
    (text) => (document.querySelector('[data-testid="output"]')?.innerText ?? '').includes(text),
    expected,
    { timeout: 30_000 },
  ).catch(async (err) => {
    throw new Error(`${label}: output never showed ${JSON.stringify(expected)}; it shows ${JSON.stringify(await outputText(page))} (${err.message})`);
  });
}
