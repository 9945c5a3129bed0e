// electron-vite: main (CommonJS, Node target), sandboxed preload, React renderer -> out/{main,preload,renderer}.
// `odsora studio` runs `electron-vite build` when out/ is missing; `npx electron-vite dev` for hot reload.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

const root = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      rolldownOptions: { input: { index: resolve(root, 'src-main/electron/main.ts') } },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload can only require('electron') and a few built-ins: bundle everything else into it.
      externalizeDeps: false,
      rolldownOptions: { input: { index: resolve(root, 'src-main/electron/preload.ts') } },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: { input: resolve(root, 'src-renderer/index.html') },
    },
  },
});
