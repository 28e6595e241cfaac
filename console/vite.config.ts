// Builds the SOC console into console/dist, served by `vigil serve` (src/api/static.ts).
// JSX is compiled by Vite's own transformer (no React plugin: nothing else to pin, no second Vite).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // The CSP forbids inline scripts and styles: never inline assets as data: URLs into scripts.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 400,
  },
});
