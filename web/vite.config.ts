import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { excalidrawAssets } from './build/excalidrawAssets';
import { precompress } from './build/precompress';

// React without @vitejs/plugin-react: esbuild's automatic JSX runtime is all we need.
// The dev server proxies the API and the pad WebSockets to a local `opencoder` (default :4000).
const apiTarget = process.env.OPENCODER_API ?? 'http://127.0.0.1:4000';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  resolve: {
    // Key-binding add-ons import the bare package, whose entry pulls in every language service;
    // point them at the editor API we already bundle (the same module instance, no second copy).
    // monaco-vim's browser build carries its own old copy of Monaco internals; its ES module build
    // imports them from ours.
    alias: [
      { find: /^monaco-editor$/, replacement: 'monaco-editor/esm/vs/editor/editor.api.js' },
      { find: /^monaco-vim$/, replacement: fileURLToPath(new URL('./node_modules/monaco-vim/dist/index.mjs', import.meta.url)) },
    ],
  },
  plugins: [excalidrawAssets(), precompress()],
  build: {
    target: 'es2020',
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    // dist/.vite/manifest.json: the import graph bench/load.mjs uses to size the initial load.
    manifest: true,
    // Monaco is one big lazy chunk by design; keep the warning for everything else.
    chunkSizeWarningLimit: 4000,
    modulePreload: { polyfill: false },
    // Rollup folds the whiteboard into a chunk named after one of Excalidraw's own modules; its file
    // is named after the whiteboard instead, so bench/load.mjs can find and size it.
    rollupOptions: {
      output: {
        chunkFileNames: (chunk) =>
          chunk.moduleIds.some((id) => id.includes('/src/features/whiteboard/WhiteboardPanel'))
            ? 'assets/WhiteboardPanel-[hash].js'
            : 'assets/[name]-[hash].js',
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
      '/ws': { target: apiTarget, ws: true, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
