// Writes `.br` and `.gz` siblings for compressible build outputs; the Rust server sends them to
// browsers that accept them (see server/src/http/static_files.rs).
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|ttf|txt|map)$/;
const MIN_BYTES = 1024;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

export function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'opencoder-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      for (const file of walk(outDir)) {
        if (!COMPRESSIBLE.test(file)) continue;
        const data = readFileSync(file);
        if (data.length < MIN_BYTES) continue;
        const gz = gzipSync(data, { level: 9 });
        if (gz.length < data.length * 0.9) writeFileSync(file + '.gz', gz);
        const br = brotliCompressSync(data, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
        });
        if (br.length < data.length * 0.9) writeFileSync(file + '.br', br);
      }
    },
  };
}
