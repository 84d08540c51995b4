// Softmax cross-entropy over the logits of one position per example.

/**
 * logits [b x v], targets i32[b] -> probs [b x v] (softmax, kept for the backward).
 * Returns the sum over the batch of -log softmax(logits)[target], accumulated in f64.
 */
export function crossEntropyForward(probs: usize, logits: usize, targets: usize, b: i32, v: i32): f64 {
  let total: f64 = 0;
  for (let n = 0; n < b; n++) {
    const row = logits + ((<usize>n * v) << 2);
    const pr = probs + ((<usize>n * v) << 2);
    let peak = load<f32>(row);
    for (let j = 1; j < v; j++) peak = max(peak, load<f32>(row + ((<usize>j) << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < v; j++) {
      const e = Mathf.exp(load<f32>(row + ((<usize>j) << 2)) - peak);
      store<f32>(pr + ((<usize>j) << 2), e);
      sum += e;
    }
    for (let j = 0; j < v; j++) store<f32>(pr + ((<usize>j) << 2), load<f32>(pr + ((<usize>j) << 2)) / sum);
    const t = load<i32>(targets + ((<usize>n) << 2));
    // log_softmax(x)_t = x_t - peak - log(sum exp(x - peak))
    total += <f64>(Mathf.log(sum) - (load<f32>(row + ((<usize>t) << 2)) - peak));
  }
  return total;
}

/** dlogits [b x v] = (softmax - onehot(target)) * scale; scale is 1/b for a mean loss. */
export function crossEntropyBackward(dlogits: usize, probs: usize, targets: usize, b: i32, v: i32, scale: f32): void {
  for (let n = 0; n < b; n++) {
    const pr = probs + ((<usize>n * v) << 2);
    const dr = dlogits + ((<usize>n * v) << 2);
    const t = load<i32>(targets + ((<usize>n) << 2));
    for (let j = 0; j < v; j++) {
      const p = load<f32>(pr + ((<usize>j) << 2));
      store<f32>(dr + ((<usize>j) << 2), (j == t ? p - 1 : p) * scale);
    }
  }
}

/** Number of rows whose first largest logit is the target (PyTorch argmax picks the first). */
export function countCorrect(logits: usize, targets: usize, b: i32, v: i32): i32 {
  let correct = 0;
  for (let n = 0; n < b; n++) {
    const row = logits + ((<usize>n * v) << 2);
    let best = 0;
    let peak = load<f32>(row);
    for (let j = 1; j < v; j++) {
      const x = load<f32>(row + ((<usize>j) << 2));
      if (x > peak) { peak = x; best = j; }
    }
    if (best == load<i32>(targets + ((<usize>n) << 2))) correct++;
  }
  return correct;
}
