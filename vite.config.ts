// The browser app: web/ served by Vite, built to dist/web/ with relative asset paths so it
// works from any static host. COOP/COEP make the page cross-origin isolated (ready for threads).
// The committed results (docs/results/**/*.json and *.jsonl) are served and built under
// results/: the page draws one as its opening example, and `?verify=results/...` checks one.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Vite sets server.headers / preview.headers on 200 replies only; a 304 (Not Modified) came
// without them, and WebKit then lost cross-origin isolation on a cached reload. This middleware,
// ahead of Vite's own, sets them on every reply.
function isolationOnEveryReply(): Plugin {
  // Returns nothing: a function returned from these hooks would be taken for a post-middleware hook.
  const use = (server: { middlewares: { use(f: (req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => void): unknown } }): void => {
    server.middlewares.use((_req, res, next) => {
      for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
      next();
    });
  };
  return { name: 'grokwasm-isolation-on-every-reply', configureServer: use, configurePreviewServer: use };
}

const RESULTS = new URL('./docs/results', import.meta.url).pathname;

function resultFiles(dir = RESULTS): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name.startsWith('.') ? [] : resultFiles(path);
    return /\.jsonl?$/.test(name) ? [relative(RESULTS, path)] : [];
  });
}

function committedResults(): Plugin {
  return {
    name: 'grokwasm-committed-results',
    configureServer(server) { server.middlewares.use(serve); },
    configurePreviewServer(server) { server.middlewares.use(serve); },
    generateBundle() {
      for (const file of resultFiles()) this.emitFile({ type: 'asset', fileName: `results/${file}`, source: readFileSync(join(RESULTS, file)) });
    },
  };
}

// In `vite` and `vite preview`: /results/<file> from docs/results (preview also finds the built copy).
function serve(req: { url?: string }, res: { setHeader(k: string, v: string): void; end(b: Buffer): void }, next: () => void): void {
  const path = decodeURIComponent((req.url ?? '').split('?')[0]).replace(/^.*?\/results\//, '');
  if (!(req.url ?? '').includes('/results/') || !resultFiles().includes(path)) return next();
  res.setHeader('content-type', 'application/json');
  for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
  res.end(readFileSync(join(RESULTS, path)));
}

export default defineConfig({
  root: 'web',
  base: './',
  plugins: [isolationOnEveryReply(), committedResults()],
  // vega and vega-lite make the page's one large chunk; they are needed at once for the charts.
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1200 },
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  optimizeDeps: { include: ['comlink', '@assemblyscript/loader', 'vega', 'vega-lite'] },
});
