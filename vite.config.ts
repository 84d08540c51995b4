// The browser app: web/ served by Vite, built to dist/web/ with relative asset paths so it
// works from any static host. COOP/COEP make the page cross-origin isolated (ready for threads).
import { defineConfig } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'web',
  base: './',
  // vega and vega-lite make the page's one large chunk; they are needed at once for the charts.
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1200 },
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  optimizeDeps: { include: ['comlink', '@assemblyscript/loader', 'vega', 'vega-lite'] },
});
