import { describe, expect, it } from 'vitest';
import { randomArray, seeded } from './helpers.js';
import { Workspace, checkGradients, f32 } from './kernel_harness.js';

describe('embedding, gather and scatter-add', () => {
  const rand = seeded(51);
  const [vocab, seq, dim] = [6, 3, 7];
  const tokens = [0, 5, 2, 5, 1, 0, 3];
  const positions = [0, 1, 2, 1, 0, 2, 1];

  it('forward adds the token row and the position row', () => {
    const ws = new Workspace();
    const emb = randomArray(vocab * dim, rand), pos = randomArray(seq * dim, rand);
    const out = ws.f32(tokens.length * dim);
    ws.k.embeddingForward(out, ws.i32(tokens), ws.i32(positions), ws.f32(emb), ws.f32(pos), tokens.length, dim);
    const y = ws.read(out, tokens.length * dim);
    tokens.forEach((t, r) => {
      for (let i = 0; i < dim; i++) expect(y[r * dim + i]).toBe(f32(emb[t * dim + i] + pos[positions[r] * dim + i]));
    });
  });

  it('backward scatter-adds into repeated rows (finite differences)', () => {
    const ws = new Workspace();
    const emb = randomArray(vocab * dim, rand), pos = randomArray(seq * dim, rand);
    checkGradients([emb, pos], ([e, p]) => {
      const y = new Float64Array(tokens.length * dim);
      tokens.forEach((t, r) => { for (let i = 0; i < dim; i++) y[r * dim + i] = e[t * dim + i] + p[positions[r] * dim + i]; });
      return y;
    }, (dy) => {
      const demb = ws.f32(vocab * dim), dpos = ws.f32(seq * dim);
      ws.k.embeddingBackward(demb, dpos, ws.f32(dy), ws.i32(tokens), ws.i32(positions), tokens.length, dim);
      return [ws.read(demb, vocab * dim), ws.read(dpos, seq * dim)];
    }, rand);
  });

  it('gatherRows copies rows by index; scatterAddRows sums them back in ascending order', () => {
    const ws = new Workspace();
    const src = randomArray(4 * 5, rand);
    const index = [3, 0, 3, 2];
    const out = ws.f32(index.length * 5);
    ws.k.gatherRows(out, ws.f32(src), ws.i32(index), index.length, 5);
    const y = ws.read(out, index.length * 5);
    index.forEach((r, i) => expect(Array.from(y.subarray(i * 5, i * 5 + 5))).toEqual(Array.from(src.subarray(r * 5, r * 5 + 5))));
    const dst = ws.f32(4 * 5);
    ws.k.scatterAddRows(dst, out, ws.i32(index), index.length, 5);
    const back = ws.read(dst, 20);
    for (let i = 0; i < 5; i++) {
      expect(back[3 * 5 + i]).toBe(f32(src[3 * 5 + i] + src[3 * 5 + i]));
      expect(back[1 * 5 + i]).toBe(0);
    }
  });
});
