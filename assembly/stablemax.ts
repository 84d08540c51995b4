// The StableMax loss (Prieto et al. 2025, "Grokking at the edge of numerical stability"):
// softmax's exp replaced by s(x) = x + 1 for x >= 0 and 1 / (1 - x) for x < 0, which grows only
// linearly, so the probabilities cannot round to exactly 0 or 1 as late in training as softmax's
// do. s is positive and increasing, so the argmax (countCorrect on the logits) is unchanged.

// @ts-ignore: decorator
@inline
function s(x: f32): f32 { return x >= 0 ? x + 1 : <f32>1 / (<f32>1 - x); }

/**
 * logits [b x v], targets i32[b] -> sv [b x v] = s(logits) (kept for the backward).
 * Returns the sum over the batch of -log(s_t / sum_j s_j), each example's f32 loss added in f64.
 */
export function stablemaxForward(sv: usize, logits: usize, targets: usize, b: i32, v: i32): f64 {
  let total: f64 = 0;
  for (let n = 0; n < b; n++) {
    const row = logits + ((<usize>n * v) << 2);
    const sr = sv + ((<usize>n * v) << 2);
    let sum: f32 = 0;
    for (let j = 0; j < v; j++) {
      const y = s(load<f32>(row + ((<usize>j) << 2)));
      store<f32>(sr + ((<usize>j) << 2), y);
      sum += y;
    }
    const t = load<i32>(targets + ((<usize>n) << 2));
    // -log of the probability itself: near p = 1 this keeps the small loss's absolute error at
    // the probability's rounding, where log(S) - log(s_t) would cancel two large logs.
    total += <f64>(-Mathf.log(load<f32>(sr + ((<usize>t) << 2)) / sum));
  }
  return total;
}

/**
 * dlogits [b x v] = d(-log p_t)/dx * scale (scale 1/b for a mean loss), from sv = s(logits)
 * of the forward: s'(x_j) / S - [j == t] s'(x_t) / s_t, with s'(x) = 1 for x >= 0 and
 * 1 / (1 - x)^2 = s(x)^2 for x < 0. S is summed again in the forward's order, so it is the same.
 */
export function stablemaxBackward(dlogits: usize, sv: usize, logits: usize, targets: usize, b: i32, v: i32, scale: f32): void {
  for (let n = 0; n < b; n++) {
    const row = logits + ((<usize>n * v) << 2);
    const sr = sv + ((<usize>n * v) << 2);
    const dr = dlogits + ((<usize>n * v) << 2);
    let sum: f32 = 0;
    for (let j = 0; j < v; j++) sum += load<f32>(sr + ((<usize>j) << 2));
    const t = load<i32>(targets + ((<usize>n) << 2));
    const st = load<f32>(sr + ((<usize>t) << 2));
    // s'(x_t) / s_t: 1 / s_t on the linear side, s_t on the reciprocal side.
    const own = load<f32>(row + ((<usize>t) << 2)) >= 0 ? <f32>1 / st : st;
    for (let j = 0; j < v; j++) {
      const y = load<f32>(sr + ((<usize>j) << 2));
      const slope = load<f32>(row + ((<usize>j) << 2)) >= 0 ? <f32>1 : y * y;
      const g = slope / sum;
      store<f32>(dr + ((<usize>j) << 2), (j == t ? g - own : g) * scale);
    }
  }
}
