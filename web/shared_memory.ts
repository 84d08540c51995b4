// Whether a run's helper threads can share its memory in this browser, and if not, why, in
// words for the page. Shared WebAssembly memory needs a cross-origin isolated page (COOP/COEP
// headers) and a browser that gives it SharedArrayBuffer and lets it pass to a worker: WebKitGTK
// 2.50 (MiniBrowser) is isolated but has SharedArrayBuffer switched off (its JavaScriptCore option
// useSharedArrayBuffer), so posting the memory fails there with "The object can not be cloned".

let known: string | null | undefined;

/** Null when helper threads can share memory here; otherwise the reason, worded for the threads line. */
export function sharedMemoryProblem(): string | null {
  if (known !== undefined) return known;
  known = ask();
  return known;
}

function ask(): string | null {
  if (!self.crossOriginIsolated) {
    return 'this page is not cross-origin isolated, so it has no shared memory; the host must send COOP/COEP headers, see the README';
  }
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'this browser gives the page no SharedArrayBuffer although it is cross-origin isolated, so helper threads cannot share the run\'s memory';
  }
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const channel = new MessageChannel();
    channel.port1.postMessage(memory);
    channel.port1.close();
    channel.port2.close();
    return null;
  } catch (e) {
    return `this browser cannot pass shared memory to a worker (${(e as Error).message})`;
  }
}
