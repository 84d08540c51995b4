// Every result committed under docs/results/ is one that `grokwasm verify` will read: a cells.jsonl
// or mechanism.json that mixes file formats (cells appended after a new evaluation field, as
// once happened to sweep-reference/) is refused by verify's reader, and so fails here.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyTargets } from '../src/train/verify.js';

const RESULTS = new URL('../docs/results/', import.meta.url).pathname;

function resultFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return resultFiles(path);
    return name === 'cells.jsonl' || name === 'mechanism.json' ? [path] : [];
  });
}

describe('committed results', () => {
  const files = resultFiles(RESULTS);
  it('there are some (sweeps, comparisons, mechanism files)', () => {
    expect(files.some((f) => f.endsWith('cells.jsonl'))).toBe(true);
    expect(files.some((f) => f.endsWith('mechanism.json'))).toBe(true);
  });
  it.each(files.map((f) => [f.slice(RESULTS.length)]))('%s is read by verify\'s reader, every run in one format', (file) => {
    const targets = verifyTargets(readFileSync(join(RESULTS, file), 'utf8'), file);
    expect(targets.length).toBeGreaterThan(0);
  });
});
