#!/usr/bin/env node
// opencoder browser e2e runner. Prerequisites (this runner builds nothing):
//   cargo build -p opencoder            -> target/debug/opencoder  (or set OPENCODER_BIN)
//   cd web && npm ci && npm run build   -> web/dist               (or set WEB_DIST)
//   /usr/bin/chromium                   (Debian's; or set CHROMIUM_PATH)
// Usage: node run.mjs [flow-name-filter ...]
// Each flow saves a screenshot of its final state to artifacts/e2e/<flow>.png.
import { mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchBrowser } from './lib/browser.mjs';
import { repoRoot, startServer } from './lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(repoRoot, 'artifacts', 'e2e');
mkdirSync(artifacts, { recursive: true });
const FLOW_TIMEOUT_MS = Number(process.env.E2E_FLOW_TIMEOUT_MS ?? 120_000);

const filters = process.argv.slice(2);
const files = readdirSync(join(here, 'flows'))
  .filter((f) => f.endsWith('.mjs'))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));

const results = [];
let server;
let browser;
try {
  server = await startServer({ logFile: join(artifacts, 'server.log') });
  console.log(`server: ${server.url} (exec backend: ${server.health?.exec?.backend ?? 'unknown'}, isolated: ${server.health?.exec?.isolated})`);
  browser = await launchBrowser();
  for (const file of files) {
    const mod = await import(pathToFileURL(join(here, 'flows', file)).href);
    const name = mod.name ?? file.replace(/\.mjs$/, '');
    const contexts = [];
    const pages = [];
    const consoleErrors = [];
    const ctx = {
      baseUrl: server.url,
      health: server.health,
      cli: (args) => server.cli(args),
      browser,
      async newPage() {
        const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
        contexts.push(context);
        const page = await context.newPage();
        page.on('pageerror', (err) => consoleErrors.push(`${err.message}${err.stack ? ` @ ${err.stack.split("\n").slice(0, 3).join(" / ")}` : ''}`));
        page.on('console', (msg) => {
          if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) consoleErrors.push(msg.text());
        });
        pages.push(page);
        return { context, page };
      },
      async screenshot(page, suffix = '') {
        const path = join(artifacts, `${name}${suffix}.png`);
        await page.screenshot({ path });
        return path;
      },
      log: (...a) => console.log(`  [${name}]`, ...a),
      consoleErrors,
    };
    const started = Date.now();
    let status = 'passed';
    let error = null;
    try {
      if (mod.skip) {
        const reason = typeof mod.skip === 'function' ? await mod.skip(ctx) : mod.skip;
        if (reason) {
          status = 'skipped';
          error = reason;
        }
      }
      if (status !== 'skipped') {
        let timer;
        await Promise.race([
          mod.run(ctx),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`flow timed out after ${FLOW_TIMEOUT_MS} ms`)), FLOW_TIMEOUT_MS);
          }),
        ]).finally(() => clearTimeout(timer));
        if (consoleErrors.length) throw new Error(`page errors: ${consoleErrors.join(' | ')}`);
      }
    } catch (err) {
      status = 'failed';
      error = err?.stack ?? String(err);
      for (const [i, p] of pages.entries()) {
        await p.screenshot({ path: join(artifacts, `${name}-failure-${i}.png`) }).catch(() => {});
      }
    }
    for (const c of contexts) await c.close().catch(() => {});
    const ms = Date.now() - started;
    results.push({ name, status, ms, error });
    const mark = status === 'passed' ? 'ok  ' : status === 'skipped' ? 'skip' : 'FAIL';
    console.log(`${mark} ${name} (${(ms / 1000).toFixed(1)} s)${error ? `\n     ${String(error).split('\n').join('\n     ')}` : ''}`);
  }
} catch (err) {
  console.error('e2e harness failed:', err?.stack ?? err);
  results.push({ name: 'harness', status: 'failed', ms: 0, error: String(err) });
} finally {
  await browser?.close().catch(() => {});
  await server?.stop().catch(() => {});
}

const passed = results.filter((r) => r.status === 'passed').length;
const failed = results.filter((r) => r.status === 'failed').length;
const skipped = results.filter((r) => r.status === 'skipped').length;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || results.length === 0 ? 1 : 0);
