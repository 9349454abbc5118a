// Small screens: at 800 px the editor keeps at least half the window's height and the side panels
// become tabs; on a 390 px phone the header's parts do not overlap, nothing scrolls sideways, Run
// is on screen, and Chat and the whiteboard are a tab away.
import assert from 'node:assert/strict';
import { createPad, signUp, uniqueName, waitForEditor } from '../lib/app.mjs';

export const name = 'small-screens';

const overlaps = (p, q) => p.x < q.x + q.width - 0.5 && q.x < p.x + p.width - 0.5 && p.y < q.y + q.height - 0.5 && q.y < p.y + p.height - 0.5;

async function openOn(browser, baseUrl, viewport, who) {
  const context = await browser.newContext({ viewport, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  const page = await context.newPage();
  await signUp(page, baseUrl, who);
  await createPad(page, baseUrl, { title: 'A pad with a rather long title for a phone', language: 'python' });
  return { context, page };
}

async function checkTabs(page) {
  await page.getByTestId('pane-tab-chat').click();
  await page.getByRole('complementary', { name: 'Chat' }).waitFor();
  assert.equal(await page.locator('.monaco-editor').first().isVisible(), false, 'one pane at a time');
  await page.getByTestId('pane-tab-board').click();
  await page.getByTestId('whiteboard').waitFor({ state: 'visible', timeout: 30000 });
  assert.equal(await page.locator('.monaco-editor').first().isVisible(), false, 'the board replaces the code');
  await page.getByTestId('pane-tab-code').click();
  await page.locator('.monaco-editor').first().waitFor({ state: 'visible' });
}

export async function run({ baseUrl, browser, screenshot }) {
  const wide = await openOn(browser, baseUrl, { width: 800, height: 720 }, uniqueName('Wes'));
  try {
    const editor = await wide.page.locator('.editor-wrap').boundingBox();
    assert.ok(editor && editor.height >= 720 / 2, `editor ${editor?.height} px high in a 720 px window`);
    assert.ok(editor.width >= 760, 'the editor spans the window');
    await screenshot(wide.page, '-800');
    await checkTabs(wide.page);
  } finally {
    await wide.context.close();
  }

  const phone = await openOn(browser, baseUrl, { width: 390, height: 844 }, uniqueName('Pia'));
  try {
    const { page } = phone;
    const parts = await page.locator('.app-header .logo-link, .app-header .pad-title-wrap, .app-header .chip, .app-header .conn, .app-header .user-button, .app-header .btn-icon').evaluateAll((els) =>
      els.filter((el) => el.getClientRects().length > 0 && !els.some((other) => other !== el && other.contains(el))).map((el) => {
        const r = el.getBoundingClientRect();
        return { name: el.className, x: r.x, y: r.y, width: r.width, height: r.height };
      }),
    );
    for (const p of parts) assert.ok(p.x >= 0 && p.x + p.width <= 390 + 0.5, `${p.name} inside the screen`);
    for (let i = 0; i < parts.length; i++) {
      for (let j = i + 1; j < parts.length; j++) assert.ok(!overlaps(parts[i], parts[j]), `${parts[i].name} overlaps ${parts[j].name}`);
    }
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, 'no sideways scrolling');
    const runButton = await page.getByRole('button', { name: /^(▶ )?Run/ }).boundingBox();
    assert.ok(runButton && runButton.x + runButton.width <= 390 && runButton.y + runButton.height <= 844, 'Run is on screen');
    const editor = await page.locator('.editor-wrap').boundingBox();
    assert.ok(editor && editor.height >= 844 / 3, `editor ${editor?.height} px high on the phone`);
    await screenshot(page, '-390');
    await checkTabs(page);
    await page.reload();
    await waitForEditor(page);
    await screenshot(page);
  } finally {
    await phone.context.close();
  }
}
