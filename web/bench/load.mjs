#!/usr/bin/env node
// Web client benchmark:
//  1. production bundle sizes (gzip and brotli): the initial load (entry + its static imports +
//     CSS), the Monaco/editor chunk, the pad-page chunk, the terminal, playback and whiteboard chunks;
//  2. time from navigation to an editable editor on a pad page, in headless Chromium, median of 5
//     cold loads (fresh browser context, empty cache) and 5 warm reloads;
//  3. big output: a run printing 60,000 lines (cut at the server's 1 MiB cap) shown on an open pad,
//     with the longest main-thread task seen meanwhile (Long Tasks API).
// Prerequisites: `npm run build` (web/dist) and `cargo build -p opencoder` (target/debug/opencoder,
// or OPENCODER_BIN). Writes artifacts/bench/web-load.json.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { repoRoot, startServer } from '../../e2e/lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.env.WEB_DIST ?? join(here, '..', 'dist'));
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_INITIAL_GZ_KB = 250;
const TARGET_EDITABLE_MS = 1500;
const TARGET_LONGEST_TASK_MS = 100;
/** Time a freshly opened pad gets to settle before the big-output run. */
const SETTLE_MS = 3000;
const BIG_OUTPUT_PROGRAM = 'for i in range(60000):\n    print(i, "x" * 24)\n';

const kb = (n) => Math.round((n / 1024) * 10) / 10;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
};

function sizes(files) {
  let raw = 0;
  let gz = 0;
  let br = 0;
  for (const f of files) {
    const data = readFileSync(join(dist, f));
    raw += data.length;
    gz += gzipSync(data, { level: 9 }).length;
    br += brotliCompressSync(data).length;
  }
  return { files: files.length, rawKB: kb(raw), gzipKB: kb(gz), brotliKB: kb(br) };
}

function bundleReport() {
  const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));
  const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
  const staticClosure = (key, seen = new Set()) => {
    if (seen.has(key)) return seen;
    seen.add(key);
    for (const dep of manifest[key].imports ?? []) staticClosure(dep, seen);
    return seen;
  };
  const initialKeys = staticClosure(entryKey);
  const initialJs = [...initialKeys].map((k) => manifest[k].file);
  const initialCss = [...initialKeys].flatMap((k) => manifest[k].css ?? []);
  // By chunk name, or by file name where vite.config.ts names a merged chunk's file (the whiteboard).
  const findChunk = (name) =>
    Object.keys(manifest).find((k) => (manifest[k].name === name || manifest[k].file.startsWith(`assets/${name}-`)) && manifest[k].file.endsWith('.js'));
  const editorKey = findChunk('CodeEditor');
  const padKey = findChunk('PadPage');
  const lazyOnly = (key) => [...staticClosure(key)].filter((k) => !initialKeys.has(k));
  const padKeys = lazyOnly(padKey);
  const editorKeys = lazyOnly(editorKey).filter((k) => !padKeys.includes(k));
  // The terminal (xterm.js) and playback chunks load only when used; sized beyond the pad page.
  const beyondPad = (name) => {
    const key = findChunk(name);
    return key ? lazyOnly(key).filter((k) => !padKeys.includes(k) && !editorKeys.includes(k)) : [];
  };
  const terminalKeys = beyondPad('TerminalPanel');
  const playbackKeys = beyondPad('PlaybackPage');
  const whiteboardKeys = beyondPad('WhiteboardPanel');
  const worker = readdirSync(join(dist, 'assets'))
    .filter((f) => /^editor\.worker-.*\.js$/.test(f))
    .map((f) => join('assets', f));
  return {
    initialJs: sizes(initialJs),
    initialCss: sizes(initialCss),
    padPageJs: sizes(padKeys.map((k) => manifest[k].file)),
    monacoJs: sizes(editorKeys.map((k) => manifest[k].file)),
    monacoCss: sizes(editorKeys.flatMap((k) => manifest[k].css ?? [])),
    editorWorker: sizes(worker),
    terminalJs: sizes(terminalKeys.map((k) => manifest[k].file)),
    terminalCss: sizes(terminalKeys.flatMap((k) => manifest[k].css ?? [])),
    playbackJs: sizes(playbackKeys.map((k) => manifest[k].file)),
    whiteboardJs: sizes(whiteboardKeys.map((k) => manifest[k].file)),
    whiteboardCss: sizes(whiteboardKeys.flatMap((k) => manifest[k].css ?? [])),
  };
}

async function api(base, method, path, token, body) {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Open a pad holding BIG_OUTPUT_PROGRAM, run it, and watch the page's main thread meanwhile. */
async function bigOutput(base, token, browser) {
  const created = await api(base, 'POST', '/api/pads', token, { title: 'Big output', language: 'python' });
  const slug = created.pad.slug;
  await api(base, 'POST', `/api/pads/${slug}/files`, token, { name: 'big.py', content: BIG_OUTPUT_PROGRAM });
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  await context.addInitScript((t) => localStorage.setItem('oc_token', t), token);
  const page = await context.newPage();
  await page.goto(`${base}/p/${slug}`);
  await page.waitForFunction(() => document.querySelector('[data-testid="connection"][data-status="live"]'), null, { timeout: 30_000 });
  // Let the page finish loading (editor chunk, first paint) so only the run's work is counted.
  await page.waitForTimeout(SETTLE_MS);
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
  });
  const started = Date.now();
  await api(base, 'POST', `/api/pads/${slug}/runs`, token, { entry: 'big.py' });
  await page.waitForFunction(() => document.querySelector('[data-testid="run-status"][data-finished]'), null, { timeout: 60_000 });
  // Let the last frame render, then ask the page (a frozen page would answer late).
  await page.waitForTimeout(500);
  const shown = await page.evaluate(() => ({
    rows: Number(document.querySelector('[data-testid="output-rows"]')?.dataset.rows ?? 0),
    status: document.querySelector('[data-testid="run-status"]')?.textContent ?? '',
    longTasks: window.__longTasks,
  }));
  const result = {
    program: BIG_OUTPUT_PROGRAM,
    rowsShown: shown.rows,
    status: shown.status,
    shownWithinMs: Date.now() - started - 500,
    longTasks: shown.longTasks.length,
    longestTaskMs: Math.round(Math.max(0, ...shown.longTasks)),
  };
  await context.close();
  return result;
}

async function timing() {
  const server = await startServer({ logFile: join(repoRoot, 'artifacts', 'bench', 'server.log') });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const { token } = await api(server.url, 'POST', '/api/auth/guest', null, { name: 'Bench' });
    const created = await api(server.url, 'POST', '/api/pads', token, { title: 'Bench pad', language: 'python' });
    const slug = created.pad.slug;
    const url = `${server.url}/p/${slug}`;
    // "Editable": Monaco mounted, the document synced from the server (text shown), and not read-only.
    const editable = () => {
      const ed = window.monaco?.editor.getEditors()[0];
      const live = document.querySelector('[data-testid="connection"][data-status="live"]');
      const host = document.querySelector('[data-testid="editor-host"][data-readonly="false"]');
      return !!(ed && live && host && ed.getModel() && ed.getModel().getValue().length > 0 && document.querySelector('.monaco-editor .view-line'));
    };
    const measure = async (page) => {
      await page.waitForFunction(editable, null, { polling: 'raf', timeout: 30_000 });
      return page.evaluate(() => Math.round(performance.now()));
    };
    const cold = [];
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      await context.addInitScript((t) => localStorage.setItem('oc_token', t), token);
      const page = await context.newPage();
      await page.goto(url, { waitUntil: 'commit' });
      cold.push(await measure(page));
      await context.close();
    }
    const warm = [];
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    await context.addInitScript((t) => localStorage.setItem('oc_token', t), token);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    await measure(page);
    for (let i = 0; i < RUNS; i++) {
      await page.reload({ waitUntil: 'commit' });
      warm.push(await measure(page));
    }
    await context.close();
    const big = await bigOutput(server.url, token, browser);
    return { runs: RUNS, coldMs: cold, warmMs: warm, coldMedianMs: median(cold), warmMedianMs: median(warm), execBackend: server.health?.exec?.backend, big };
  } finally {
    await browser.close();
    await server.stop();
  }
}

const bundles = bundleReport();
const load = process.env.BENCH_SKIP_TIMING === '1' ? null : await timing();
const report = {
  at: new Date().toISOString(),
  bundles,
  load,
  targets: { initialJsGzipKB: TARGET_INITIAL_GZ_KB, editableMs: TARGET_EDITABLE_MS, bigOutputLongestTaskMs: TARGET_LONGEST_TASK_MS },
  pass: {
    initialJs: bundles.initialJs.gzipKB <= TARGET_INITIAL_GZ_KB,
    editable: load ? load.coldMedianMs <= TARGET_EDITABLE_MS : null,
    bigOutput: load ? load.big.longestTaskMs <= TARGET_LONGEST_TASK_MS : null,
  },
};
const out = join(repoRoot, 'artifacts', 'bench');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'web-load.json'), JSON.stringify(report, null, 2) + '\n');

const row = (label, s) => console.log(`${label.padEnd(26)} ${String(s.gzipKB).padStart(8)} KB gz  ${String(s.brotliKB).padStart(8)} KB br  ${String(s.rawKB).padStart(9)} KB raw  (${s.files} files)`);
console.log('Bundle sizes (production build):');
row('initial JS (no Monaco)', bundles.initialJs);
row('initial CSS', bundles.initialCss);
row('pad page JS (lazy)', bundles.padPageJs);
row('Monaco editor JS (lazy)', bundles.monacoJs);
row('Monaco editor CSS (lazy)', bundles.monacoCss);
row('editor worker', bundles.editorWorker);
row('terminal JS (lazy)', bundles.terminalJs);
row('terminal CSS (lazy)', bundles.terminalCss);
row('playback JS (lazy)', bundles.playbackJs);
row('whiteboard JS (lazy)', bundles.whiteboardJs);
row('whiteboard CSS (lazy)', bundles.whiteboardCss);
if (load) {
  console.log(`\nNavigation → editable editor on a pad page (headless Chromium, ${load.runs} runs):`);
  console.log(`  cold (fresh context, empty cache): median ${load.coldMedianMs} ms   [${load.coldMs.join(', ')}]`);
  console.log(`  warm (reload, cached assets):      median ${load.warmMedianMs} ms   [${load.warmMs.join(', ')}]`);
  const big = load.big;
  console.log(`\nBig output (60,000 lines, cut at 1 MiB by the server) on an open pad:`);
  console.log(`  ${big.rowsShown} rows shown (“${big.status}”) ${big.shownWithinMs} ms after the run request`);
  console.log(`  main-thread tasks over 50 ms: ${big.longTasks}; longest ${big.longestTaskMs} ms (target ≤ ${TARGET_LONGEST_TASK_MS} ms)`);
}
const verdict = (pass) => (pass == null ? 'not measured' : pass ? 'met' : 'MISSED');
console.log(
  `\nTargets: initial JS ≤ ${TARGET_INITIAL_GZ_KB} KB gz: ${verdict(report.pass.initialJs)}; editable ≤ ${TARGET_EDITABLE_MS} ms: ${verdict(report.pass.editable)}; big output longest task ≤ ${TARGET_LONGEST_TASK_MS} ms: ${verdict(report.pass.bigOutput)}`,
);
console.log(`Written to ${join(out, 'web-load.json')}`);
