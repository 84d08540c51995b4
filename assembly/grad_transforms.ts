// Elementwise and per-tensor transforms of gradients and momenta, for the optimizers beside
// AdamW: Grokfast's gradient filter, the orthogonal gradient of Prieto et al. 2025, Muon's and
// Luon's momenta, and the decoupled update W <- W decay - step O. Scalars arrive in f64 and are
// rounded to f32 once; every elementwise operation is a correctly rounded f32 op, so each f32x4
// body and its scalar tail give identical bits (as in adamw.ts).

/**
 * Grokfast-EMA over n floats: ema = grad if first, else ema*f32(alpha) + grad*f32(1 - alpha);
 * then grad += ema * f32(lambda). Both grad and ema are written back.
 */
export function grokfastEma(grad: usize, ema: usize, n: i32, alpha: f64, lambda: f64, first: bool): void {
  const a = <f32>alpha;
  const keep = <f32>(1.0 - alpha);
  const l = <f32>lambda;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const g = v128.load(grad + off);
    const e = first ? g : f32x4.add(f32x4.mul(v128.load(ema + off), f32x4.splat(a)), f32x4.mul(g, f32x4.splat(keep)));
    v128.store(ema + off, e);
    v128.store(grad + off, f32x4.add(g, f32x4.mul(e, f32x4.splat(l))));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const g = load<f32>(grad + off);
    const e = first ? g : load<f32>(ema + off) * a + g * keep;
    store<f32>(ema + off, e);
    store<f32>(grad + off, g + e * l);
  }
}

// g <- g * f32x4(factor) over n floats.
function scaleInPlace(g: usize, n: i32, factor: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(g + off, f32x4.mul(v128.load(g + off), f32x4.splat(factor)));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(g + off, load<f32>(g + off) * factor);
  }
}

/**
 * grad[n] <- its component orthogonal to w[n], rescaled to grad's original norm:
 * g_perp = g - (<w,g> / (<w,w> + 1e-30)) w, g = g_perp * (||g|| / (||g_perp|| + 1e-30)).
 * Sums in f64 in index order (one order, whatever the thread count); coefficients rounded to
 * f32 once; the elementwise steps in f32.
 */
export function orthogonalizeGradient(grad: usize, w: usize, n: i32): void {
  let wg: f64 = 0, ww: f64 = 0, gg: f64 = 0;
  for (let i = 0; i < n; i++) {
    const off = (<usize>i) << 2;
    const g = <f64>load<f32>(grad + off), x = <f64>load<f32>(w + off);
    wg += x * g;
    ww += x * x;
    gg += g * g;
  }
  const coef = <f32>(wg / (ww + 1e-30));
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(grad + off, f32x4.sub(v128.load(grad + off), f32x4.mul(f32x4.splat(coef), v128.load(w + off))));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(grad + off, load<f32>(grad + off) - coef * load<f32>(w + off));
  }
  // The norm of g_perp as stored (after its f32 rounding), so the rescaled norm is ||g||.
  let pp: f64 = 0;
  for (let j = 0; j < n; j++) {
    const g = <f64>load<f32>(grad + ((<usize>j) << 2));
    pp += g * g;
  }
  scaleInPlace(grad, n, <f32>(Math.sqrt(gg) / (Math.sqrt(pp) + 1e-30)));
}

/** Muon's Nesterov momentum over n floats: buf = f32(mu)*buf + grad; u = grad + f32(mu)*buf. */
export function muonMomentum(u: usize, buf: usize, grad: usize, n: i32, mu: f64): void {
  const m = <f32>mu;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const g = v128.load(grad + off);
    const b = f32x4.add(f32x4.mul(f32x4.splat(m), v128.load(buf + off)), g);
    v128.store(buf + off, b);
    v128.store(u + off, f32x4.add(g, f32x4.mul(f32x4.splat(m), b)));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const g = load<f32>(grad + off);
    const b = m * load<f32>(buf + off) + g;
    store<f32>(buf + off, b);
    store<f32>(u + off, g + m * b);
  }
}

/** Luon's momentum over n floats, weight decay folded in: m = f32(mu)*m + (grad + f32(lambda)*w). */
export function luonMomentum(m: usize, grad: usize, w: usize, n: i32, mu: f64, lambda: f64): void {
  const k = <f32>mu;
  const l = <f32>lambda;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    const d = f32x4.add(v128.load(grad + off), f32x4.mul(f32x4.splat(l), v128.load(w + off)));
    v128.store(m + off, f32x4.add(f32x4.mul(f32x4.splat(k), v128.load(m + off)), d));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    const d = load<f32>(grad + off) + l * load<f32>(w + off);
    store<f32>(m + off, k * load<f32>(m + off) + d);
  }
}

/**
 * w[n] = w * f32(decay) - f32(step) * o[n]: Muon's W <- W (1 - lr wd) - lr scale O, with
 * decay = 1 - lr wd and step = lr scale computed by the host in f64.
 */
export function scaledUpdate(w: usize, o: usize, n: i32, decay: f64, step: f64): void {
  const d = <f32>decay;
  const s = <f32>step;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = (<usize>i) << 2;
    v128.store(w + off, f32x4.sub(f32x4.mul(v128.load(w + off), f32x4.splat(d)), f32x4.mul(f32x4.splat(s), v128.load(o + off))));
  }
  for (; i < n; i++) {
    const off = (<usize>i) << 2;
    store<f32>(w + off, load<f32>(w + off) * d - s * load<f32>(o + off));
  }
}
