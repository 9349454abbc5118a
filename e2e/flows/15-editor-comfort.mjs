// Editor comfort: a new pad takes typing at once; font size, tab width, word wrap and Vim keys
// apply live and survive a reload; a run's error shows as a marker at its line until the next edit;
// the side panel and the output panel keep the size they were dragged to.
import assert from 'node:assert/strict';
import { createPad, editorText, replaceEditorText, runAndWaitForEnd, signUp, uniqueName, waitForEditor } from '../lib/app.mjs';

export const name = 'editor-comfort';

const option = (page, key) => page.evaluate((k) => {
  const m = window.monaco;
  return m.editor.getEditors()[0].getOption(m.editor.EditorOption[k]);
}, key);
const runMarkers = (page) => page.evaluate(() => window.monaco.editor.getModelMarkers({ owner: 'oc-run' }).map((m) => ({ line: m.startLineNumber, message: m.message })));
const box = async (locator) => (await locator.boundingBox()) ?? assert.fail('no box');

export async function run({ baseUrl, newPage, screenshot }) {
  const { page } = await newPage();
  await signUp(page, baseUrl, uniqueName('Cora'));
  await createPad(page, baseUrl, { title: 'Comfort', language: 'python' });

  // Focus: typing right after the pad opens goes into the code.
  const before = await editorText(page);
  assert.ok(await page.evaluate(() => !!document.activeElement?.closest('.monaco-editor')), 'the editor has the focus');
  await page.keyboard.type('# typed at once\n');
  assert.equal(await editorText(page), '# typed at once\n' + before);

  // Preferences, applied live.
  await replaceEditorText(page, 'abc\n');
  await page.getByRole('button', { name: 'Editor settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Editor settings' });
  await dialog.getByLabel('Font size').fill('19');
  await dialog.getByLabel('Tab width').selectOption('2');
  await dialog.getByLabel('Word wrap').check();
  assert.equal(await option(page, 'fontSize'), 19);
  assert.equal(await option(page, 'wordWrap'), 'on');
  assert.equal(await page.evaluate(() => window.monaco.editor.getEditors()[0].getModel().getOptions().tabSize), 2);
  await dialog.getByLabel('Key bindings').selectOption('vim');
  await page.getByTestId('editor-keymode').filter({ hasText: /NORMAL/ }).waitFor();
  await screenshot(page, '-prefs');
  await page.keyboard.press('Escape');

  // Vim: in normal mode `x` deletes the character under the cursor, it does not type one.
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('g');
  await page.keyboard.press('g');
  await page.keyboard.press('0');
  await page.keyboard.press('x');
  assert.equal(await editorText(page), 'bc\n', 'vim normal mode deleted a character');

  await page.reload();
  await waitForEditor(page);
  assert.equal(await option(page, 'fontSize'), 19, 'font size survives a reload');
  assert.equal(await option(page, 'wordWrap'), 'on');
  await page.getByTestId('editor-keymode').filter({ hasText: /NORMAL/ }).waitFor();
  await page.goto(`${baseUrl}/settings`);
  await page.getByLabel('Key bindings').selectOption('standard');
  await page.goBack();
  await waitForEditor(page);
  assert.equal(await page.getByTestId('editor-host').getAttribute('data-keys'), 'standard');

  // A run's error becomes a marker at its line; an edit clears it.
  await replaceEditorText(page, 'print("fine")\nprint(undefined_name)\n');
  await runAndWaitForEnd(page);
  await page.waitForFunction(() => window.monaco.editor.getModelMarkers({ owner: 'oc-run' }).length > 0, null, { timeout: 5000 });
  const markers = await runMarkers(page);
  assert.deepEqual(markers.map((m) => m.line), [2]);
  assert.match(markers[0].message, /NameError/);
  await page.locator('.monaco-editor .squiggly-error').first().waitFor();
  await screenshot(page, '-marker');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  await page.waitForFunction(() => window.monaco.editor.getModelMarkers({ owner: 'oc-run' }).length === 0, null, { timeout: 5000 });

  // Panes: drag the side panel 120 px wider and the output 100 px taller; both are remembered.
  const side = page.locator('.pad-side');
  const drawer = page.locator('.drawer');
  const sideBefore = (await box(side)).width;
  const drawerBefore = (await box(drawer)).height;
  const drag = async (handle, dx, dy) => {
    const b = await box(handle);
    await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width / 2 + dx / 2, b.y + b.height / 2 + dy / 2, { steps: 3 });
    await page.mouse.move(b.x + b.width / 2 + dx, b.y + b.height / 2 + dy, { steps: 3 });
    await page.mouse.up();
  };
  await drag(page.getByTestId('split-side'), -120, 0);
  await drag(page.getByTestId('split-drawer'), 0, -100);
  const sideAfter = (await box(side)).width;
  const drawerAfter = (await box(drawer)).height;
  assert.ok(Math.abs(sideAfter - sideBefore - 120) <= 4, `side panel ${sideBefore} → ${sideAfter}`);
  assert.ok(Math.abs(drawerAfter - drawerBefore - 100) <= 4, `output panel ${drawerBefore} → ${drawerAfter}`);
  await page.reload();
  await waitForEditor(page);
  assert.ok(Math.abs((await box(side)).width - sideAfter) <= 2, 'side panel width remembered');
  assert.ok(Math.abs((await box(drawer)).height - drawerAfter) <= 2, 'output panel height remembered');
  await screenshot(page);
}
