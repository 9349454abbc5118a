import { defineConfig } from 'vitest/config';
import { precompress } from './build/precompress';

// React without @vitejs/plugin-react: esbuild's automatic JSX runtime is all we need.
// The dev server proxies the API and the pad WebSockets to a local `opencoder` (default :4000).
const apiTarget = process.env.OPENCODER_API ?? 'http://127.0.0.1:4000';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  plugins: [precompress()],
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
