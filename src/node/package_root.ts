// Node-only: where this package's files are, whether this code runs as TypeScript from src/
// (tests) or as JavaScript from dist/src/ (the CLI, an installed package). Decided by this
// file's own extension, never by searching the path for a folder name.
const fromSource = import.meta.url.endsWith('.ts');

/** A path inside the package root (build/grokwasm.wasm, ...). */
export function packageFile(path: string): URL {
  return new URL(`${fromSource ? '../../' : '../../../'}${path}`, import.meta.url);
}

/** The built JavaScript of a Node module of src/node/ (worker scripts must be JavaScript). */
export function builtNodeModule(name: string): URL {
  return fromSource ? packageFile(`dist/src/node/${name}`) : new URL(`./${name}`, import.meta.url);
}
