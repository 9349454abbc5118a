// Excalidraw's fonts, served by our own origin: the CSP allows fonts from it only, and Excalidraw
// loads them from a CDN unless told otherwise.
// - The build copies them into dist/excalidraw-assets/fonts/ (all of them, the CJK fallback Xiaolai
//   too, ~13 MB in ~200 subsets of which a browser fetches only those its text needs).
// - Excalidraw names a CDN as the last place to look for every font; that place is rewritten to
//   the fonts' home here, so no font request can ever leave our origin. The build fails when the
//   pattern is not found (an Excalidraw upgrade changed it), rather than ship CDN requests.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

const ASSETS_DIR = 'excalidraw-assets';
const CDN_FALLBACK = /"ASSETS_FALLBACK_URL",`https:\/\/esm\.sh\/.*?\/dist\/prod\/`/;

export function excalidrawAssets(): Plugin {
  let outDir = 'dist';
  return {
    name: 'opencoder-excalidraw-assets',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    transform(code, id) {
      if (!id.includes('/@excalidraw/excalidraw/') || !code.includes('"ASSETS_FALLBACK_URL"')) return null;
      if (!CDN_FALLBACK.test(code)) this.error(`Excalidraw's font CDN fallback changed shape in ${id}`);
      return { code: code.replace(CDN_FALLBACK, `"ASSETS_FALLBACK_URL",window.location.origin+"/${ASSETS_DIR}/"`), map: null };
    },
    writeBundle() {
      const fonts = fileURLToPath(new URL('../node_modules/@excalidraw/excalidraw/dist/prod/fonts/', import.meta.url));
      cpSync(fonts, join(outDir, ASSETS_DIR, 'fonts'), { recursive: true });
    },
  };
}
