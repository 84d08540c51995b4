// WebKitGTK through WebKitWebDriver (Debian's webkit2gtk-driver; test/engine.ts): a W3C WebDriver
// server driven here with plain HTTP requests, no npm client. It starts MiniBrowser, which needs
// an X display: an Xvfb of our own, on a display number Xvfb picks itself (-displayfd).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Engine, Size, Tab } from './engine.js';
import { selector } from './engine.js';

export const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB = '/usr/bin/Xvfb';
export const webkitAvailable = () => [WEBKIT_DRIVER, MINIBROWSER, XVFB].every((f) => existsSync(f));

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a display it picks; resolves with ':N' once it listens. */
function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const xvfb = spawn(XVFB, ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let err = '';
    xvfb.stderr!.on('data', (d) => (err += d));
    xvfb.once('error', reject);
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${err.trim()}`)));
    (xvfb.stdio[3] as NodeJS.ReadableStream).once('data', (d: Buffer) => resolve({ display: `:${d.toString().trim()}`, process: xvfb }));
  });
}

/** One WebDriver command; throws the server's error message when it answers one. */
async function command<T>(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = (await response.json()) as { value: T & { error?: string; message?: string } };
  if (!response.ok || (reply.value && typeof reply.value === 'object' && 'error' in reply.value && reply.value.error)) {
    throw new Error(`WebDriver ${method} ${path}: ${reply.value?.error}: ${reply.value?.message}`);
  }
  return reply.value;
}

/**
 * Starts Xvfb, WebKitWebDriver and one MiniBrowser session. `env` is added to the driver's
 * environment, which MiniBrowser and its web process inherit (JSC_* options switch
 * JavaScriptCore features, e.g. JSC_useWasmSIMD=false).
 */
export async function launchWebKit(env: Record<string, string> = {}): Promise<Engine> {
  const xvfb = await startXvfb();
  const port = await freePort();
  const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`, '--host=127.0.0.1'], { stdio: 'ignore', env: { ...process.env, DISPLAY: xvfb.display, ...env } });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => { driver.kill(); xvfb.process.removeAllListeners('exit'); xvfb.process.kill(); };
  try {
    for (let tries = 0; ; tries++) {
      try {
        if ((await command<{ ready: boolean }>(base, 'GET', '/status')).ready) break;
      } catch (e) {
        if (tries > 100) throw new Error(`WebKitWebDriver did not answer on port ${port}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // --full-screen hides MiniBrowser's toolbar (with no window manager the window keeps its
    // size), which otherwise holds the window at 447 px or wider: a 390 px phone viewport needs it.
    const session = await command<{ sessionId: string; capabilities: { browserName: string; browserVersion: string } }>(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation', '--full-screen'] } } },
    });
    const s = `/session/${session.sessionId}`;
    // One MiniBrowser window: WebDriver classic drives one tab at a time, so open() navigates it.
    return {
      name: `WebKitGTK ${session.capabilities.browserVersion}`,
      async open(url: string, size?: Size): Promise<Tab> {
        // WebDriver sizes the window, toolbar and frame included: size it, see what the page
        // gets, and grow the window by the difference.
        for (let tries = 0; size && tries < 3; tries++) {
          const inner = await command<Size>(base, 'POST', `${s}/execute/sync`, { script: 'return { width: innerWidth, height: innerHeight };', args: [] });
          if (inner.width === size.width && inner.height === size.height) break;
          const outer = await command<Size>(base, 'GET', `${s}/window/rect`);
          await command(base, 'POST', `${s}/window/rect`, { width: outer.width + size.width - inner.width, height: outer.height + size.height - inner.height });
        }
        await command(base, 'POST', `${s}/url`, { url });
        return {
          evaluate: (expression) => command(base, 'POST', `${s}/execute/sync`, { script: `return (${expression});`, args: [] }),
          async click(testid) {
            const element = await command<Record<string, string>>(base, 'POST', `${s}/element`, { using: 'css selector', value: selector(testid) });
            await command(base, 'POST', `${s}/element/${element[ELEMENT]}/click`, {});
          },
          async doubleClick(testid) {
            const element = await command<Record<string, string>>(base, 'POST', `${s}/element`, { using: 'css selector', value: selector(testid) });
            const press = [{ type: 'pointerDown', button: 0 }, { type: 'pointerUp', button: 0 }];
            await command(base, 'POST', `${s}/actions`, { actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' },
              actions: [{ type: 'pointerMove', origin: { [ELEMENT]: element[ELEMENT] }, x: 0, y: 0 }, ...press, ...press] }] });
            await command(base, 'DELETE', `${s}/actions`);
          },
          screenshot: async () => Buffer.from(await command<string>(base, 'GET', `${s}/screenshot`), 'base64'),
          // Leaves the page, so nothing of it keeps running in the one window.
          close: async () => { await command(base, 'POST', `${s}/url`, { url: 'about:blank' }); },
        };
      },
      async close() {
        await command(base, 'DELETE', s).catch(() => {});
        stop();
      },
    };
  } catch (e) {
    stop();
    throw e;
  }
}
