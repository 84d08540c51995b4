// The browser app as the browser tests see it: built once with Vite, served by `vite preview`
// on 127.0.0.1 with the COOP/COEP headers of vite.config.ts (cross-origin isolation, for threads).
import { build, preview } from 'vite';

export const root = new URL('..', import.meta.url).pathname;

let built: Promise<unknown> | undefined;

/** Builds web/ into dist/web/ (once per test file). */
export function buildApp(): Promise<unknown> {
  built ??= build({ root: `${root}web`, configFile: `${root}vite.config.ts`, logLevel: 'warn' });
  return built;
}

/** Serves the built page; `base` ends in '/'. */
export async function serveApp(): Promise<{ base: string; close(): Promise<void> }> {
  await buildApp();
  const server = await preview({ configFile: `${root}vite.config.ts`, root: `${root}web`, preview: { host: '127.0.0.1', port: 0 }, logLevel: 'warn' });
  return {
    base: server.resolvedUrls!.local[0],
    close: () => new Promise<void>((resolve) => server.httpServer.close(() => resolve())),
  };
}
