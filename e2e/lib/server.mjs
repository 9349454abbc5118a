// Starts a prebuilt `opencoder` (never builds it) on a free loopback port with a fresh DATA_DIR.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '..', '..');

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** `env` goes on top of the test settings; `port` (default: a free one) lets a caller know the
 * server's origin before it starts (an identity provider must know its redirect URI). */
export async function startServer({ logFile, env: extra = {}, port: fixedPort } = {}) {
  const bin = resolve(process.env.OPENCODER_BIN ?? join(repoRoot, 'target', 'debug', 'opencoder'));
  const webDist = resolve(process.env.WEB_DIST ?? join(repoRoot, 'web', 'dist'));
  if (!existsSync(bin)) {
    throw new Error(`opencoder binary not found at ${bin}. Build it first: cargo build -p opencoder (or set OPENCODER_BIN).`);
  }
  if (!existsSync(join(webDist, 'index.html'))) {
    throw new Error(`web client not built at ${webDist}. Build it first: cd web && npm ci && npm run build (or set WEB_DIST).`);
  }
  const port = fixedPort ?? (await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), 'oc-e2e-'));
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    WEB_DIR: webDist,
    RATE_LIMIT_PER_MINUTE: '100000',
    SIGNUP_RATE_LIMIT_PER_MINUTE: '10000',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    ...extra,
  };
  delete env.OPENCODER_ENV;
  delete env.NODE_ENV;
  // The unsandboxed backend needs the explicit opt-in (and a loopback HOST, set above).
  if (process.env.E2E_EXEC_FORCE_LOCAL === '1') Object.assign(env, { EXEC_FORCE_LOCAL: '1', EXEC_ALLOW_LOCAL: '1' });
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    const out = createWriteStream(logFile);
    child.stdout.pipe(out);
    child.stderr.pipe(out);
  } else {
    child.stdout.resume();
    child.stderr.resume();
  }
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let health = null;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`opencoder exited during start-up (${JSON.stringify(exited)}); see ${logFile ?? 'its output'}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) {
        health = await res.json();
        break;
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  if (!health) {
    child.kill('SIGTERM');
    throw new Error('opencoder did not answer /api/health within 30 s');
  }
  return {
    url,
    port,
    health,
    /** `opencoder <args>` against this server's data directory (the operator's CLI). */
    cli(args) {
      return spawnSync(bin, args, { env: { PATH: process.env.PATH, DATA_DIR: dataDir }, encoding: 'utf8' });
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            if (!exited) child.kill('SIGKILL');
            r();
          }, 10_000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
