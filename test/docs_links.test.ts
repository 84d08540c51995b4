// Every link in the README and docs/ resolves to a file in the repository (committed results
// and figures included), so a reader following one never lands on nothing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? markdownFiles(path) : name.endsWith('.md') ? [path] : [];
  });
}

/** Relative link targets of a markdown file: [text](target), ![alt](target), <img src="target">. */
function links(text: string): string[] {
  const found = [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g), ...text.matchAll(/<img[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]);
  return found.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => decodeURIComponent(t.split('#')[0]));
}

const files = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
// Files git tracks: a link to an ignored or uncommitted file would pass on this machine and fail on a clone.
const tracked = new Set(spawnSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter(Boolean));

describe('documentation links', () => {
  it('finds the links it checks (the check can fail)', () => {
    expect(links('see [a](docs/x.md), ![b](img/y.png "t"), <img src="z.png" width="2">, [web](https://e.org), [here](#top)'))
      .toEqual(['docs/x.md', 'img/y.png', 'z.png']);
  });

  it.each(files.map((f) => [relative(root, f)]))('every relative link in %s is a committed file', (file) => {
    const path = join(root, file);
    const missing = links(readFileSync(path, 'utf8')).filter((target) => {
      const resolved = relative(root, join(dirname(path), target));
      if (!existsSync(join(root, resolved))) return true;
      if (statSync(join(root, resolved)).isDirectory()) return ![...tracked].some((t) => t.startsWith(`${resolved}/`));
      return tracked.size > 0 && !tracked.has(resolved);
    });
    expect(missing).toEqual([]);
  });
});
