// Fourier progress measures for modular addition (Nanda et al., 2023, "Progress measures for
// grokking via mechanistic interpretability"): how much of the token embedding lies on each
// frequency of Z_p, and the training loss of the logits restricted to, or with out, the
// components cos(w (a + b - c)) and sin(w (a + b - c)) of the key frequencies w, the ones the
// generalising algorithm uses. Restricted loss falls when the algorithm forms (before the test
// accuracy rises); excluded loss rises as memorisation is cleaned up.
//
// Everything here uses only IEEE basic operations in a fixed order (the cosine table is a
// Taylor series, not Math.cos, whose last bits differ between engines), and the losses go
// through the kernel's cross-entropy, so the figures are the same bits on every engine.

/** Frequencies kept as "key": the largest by embedding norm, as Nanda et al. find about five. */
export const KEY_FREQUENCIES = 5;
/** The largest modulus the measures are computed for: they hold all p^2 x p logits in memory. */
export const FOURIER_MAX_P = 256;

// cos and sin of 2 pi j / p for j = 0..p-1: angles reduced to [-pi, pi], then a Taylor series
// to 30 terms (error below 1e-16 there).
export interface TrigTable { cos: Float64Array; sin: Float64Array }

export function trigTable(p: number): TrigTable {
  const cos = new Float64Array(p), sin = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const turn = j / p <= 0.5 ? j / p : j / p - 1;
    const x = 2 * Math.PI * turn;
    let term = 1, c = 1, s = x, termS = x;
    for (let n = 1; n <= 30; n++) {
      term *= (-x * x) / ((2 * n - 1) * (2 * n));
      termS *= (-x * x) / ((2 * n) * (2 * n + 1));
      c += term;
      s += termS;
    }
    cos[j] = c;
    sin[j] = s;
  }
  return { cos, sin };
}

/**
 * Share of the token embedding's squared norm on each frequency k = 0..floor(p/2) of the number
 * tokens: || sum_a E[a] exp(-2 pi i k a / p) ||^2, normalised to sum to 1 (frequency 0 is the mean).
 */
export function embeddingFrequencyShares(embedding: Float32Array, p: number, dim: number, trig = trigTable(p)): number[] {
  const { cos, sin } = trig;
  const power: number[] = [];
  for (let k = 0; k <= Math.floor(p / 2); k++) {
    let total = 0;
    for (let d = 0; d < dim; d++) {
      let re = 0, im = 0;
      for (let a = 0; a < p; a++) {
        const e = embedding[a * dim + d], j = (k * a) % p;
        re += e * cos[j];
        im -= e * sin[j];
      }
      total += re * re + im * im;
    }
    power.push(total);
  }
  const sum = power.reduce((x, y) => x + y, 0);
  return power.map((x) => (sum > 0 ? x / sum : 0));
}

/** The `count` frequencies (1..floor(p/2)) with the largest shares, ascending. */
export function keyFrequencies(shares: number[], count = KEY_FREQUENCIES): number[] {
  return shares.map((s, k) => [s, k] as const).slice(1).sort((x, y) => y[0] - x[0] || x[1] - y[1])
    .slice(0, count).map(([, k]) => k).sort((x, y) => x - y);
}

/**
 * The logits of every pair split at the key frequencies: `restricted` keeps only the components
 * cos/sin(2 pi w (a + b - c) / p) for w in `keys`, `excluded` everything else. `logits` holds
 * the number classes 0..p-1 of pair id a * p + b at row id (p classes per row).
 */
export function splitLogits(logits: Float64Array, p: number, keys: number[], trig = trigTable(p)):
  { restricted: Float64Array; excluded: Float64Array } {
  const { cos, sin } = trig;
  const restricted = new Float64Array(logits.length);
  // The index j = w (a + b - c) mod p walks down by w mod p as c rises, so it is carried from
  // class to class instead of taken modulo at every term; the sums run in the same order over
  // the same terms, so the figures keep their bits (test/fourier.test.ts).
  for (const w of keys) {
    const step = w % p;
    // Coefficients of the two basis functions over the whole p^3 grid (each has squared norm p^3 / 2).
    let alpha = 0, beta = 0;
    for (let a = 0, i = 0; a < p; a++) {
      for (let b = 0; b < p; b++) {
        let j = (w * ((a + b) % p)) % p;
        for (let c = 0; c < p; c++, i++) {
          alpha += logits[i] * cos[j];
          beta += logits[i] * sin[j];
          j -= step;
          if (j < 0) j += p;
        }
      }
    }
    // Over the whole grid cos^2 sums to p^3 / 2, or p^3 where 2w = p (then sin is zero).
    const norm = (2 * w) % p === 0 ? p * p * p : (p * p * p) / 2;
    alpha /= norm;
    beta /= norm;
    for (let a = 0, i = 0; a < p; a++) {
      for (let b = 0; b < p; b++) {
        let j = (w * ((a + b) % p)) % p;
        for (let c = 0; c < p; c++, i++) {
          restricted[i] += alpha * cos[j] + beta * sin[j];
          j -= step;
          if (j < 0) j += p;
        }
      }
    }
  }
  const excluded = logits.map((x, i) => x - restricted[i]);
  return { restricted, excluded };
}

/**
 * The Gini coefficient of the embedding's share of norm over the frequencies 1..floor(p/2) (the
 * constant component left out): 0 when every frequency holds the same share, near 1 when a few
 * hold it all, as in the sparse Fourier solution of Nanda et al. Sorted ascending, G =
 * sum_i (2i - n - 1) x_i / (n sum x), i = 1..n.
 */
export function frequencyGini(shares: readonly number[]): number | null {
  const xs = shares.slice(1).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = xs.length, total = xs.reduce((a, b) => a + b, 0);
  if (n === 0 || total <= 0) return null;
  return xs.reduce((g, x, i) => g + (2 * (i + 1) - n - 1) * x, 0) / (n * total);
}
