// RMSNorm in the reference's form: y = x / max(||x||_2, 1e-12) * sqrt(dim) * g, per row.
// It is L2 normalisation scaled by sqrt(dim), so there is no epsilon inside a square root.
// Element-wise work runs on f32x4 lanes with the scalar tail doing the same operations in the
// same order, so a row's result does not depend on where the vector part ends.
import { dot } from './vector';

const NORM_FLOOR: f32 = 1e-12;

/** out[rows x dim] = rmsnorm(x[rows x dim]) * g[dim]; norms[rows] keeps max(||x||, 1e-12) for the backward. */
export function rmsnormForward(out: usize, norms: usize, x: usize, g: usize, rows: i32, dim: i32): void {
  const scale = <f32>Mathf.sqrt(<f32>dim);
  const vscale = f32x4.splat(scale);
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * dim) << 2);
    const yr = out + ((<usize>r * dim) << 2);
    const n = max(Mathf.sqrt(dot(xr, xr, dim)), NORM_FLOOR);
    store<f32>(norms + ((<usize>r) << 2), n);
    const vn = f32x4.splat(n);
    // Rounded in the reference's order: (x / n) * scale, then * g.
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const off = (<usize>i) << 2;
      v128.store(yr + off, f32x4.mul(f32x4.mul(f32x4.div(v128.load(xr + off), vn), vscale), v128.load(g + off)));
    }
    for (; i < dim; i++) {
      const off = (<usize>i) << 2;
      store<f32>(yr + off, ((load<f32>(xr + off) / n) * scale) * load<f32>(g + off));
    }
  }
}

/** dx[rows x dim] += d rmsnorm / dx . dy; dg[dim] += sum over rows of dy * x / n * sqrt(dim). scratch: dim floats. */
export function rmsnormBackward(dx: usize, dg: usize, dy: usize, x: usize, g: usize, norms: usize,
  rows: i32, dim: i32, scratch: usize): void {
  const scale = <f32>Mathf.sqrt(<f32>dim);
  const vscale = f32x4.splat(scale);
  // scratch[dim] holds du = dy * g * scale for one row.
  const du = scratch;
  for (let r = 0; r < rows; r++) {
    const xr = x + ((<usize>r * dim) << 2);
    const dyr = dy + ((<usize>r * dim) << 2);
    const dxr = dx + ((<usize>r * dim) << 2);
    const n = load<f32>(norms + ((<usize>r) << 2));
    const vn = f32x4.splat(n);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const off = (<usize>i) << 2;
      const d = v128.load(dyr + off);
      const u = f32x4.div(v128.load(xr + off), vn);
      v128.store(dg + off, f32x4.add(v128.load(dg + off), f32x4.mul(d, f32x4.mul(u, vscale))));
      v128.store(du + off, f32x4.mul(f32x4.mul(d, v128.load(g + off)), vscale));
    }
    for (; i < dim; i++) {
      const off = (<usize>i) << 2;
      const d = load<f32>(dyr + off);
      const u = load<f32>(xr + off) / n;
      store<f32>(dg + off, load<f32>(dg + off) + d * (u * scale));
      store<f32>(du + off, d * load<f32>(g + off) * scale);
    }
    if (n > NORM_FLOOR) {
      // d(x/|x|) = (I - u u^T) / |x|, with u = x / |x|.
      const udu = dot(xr, du, dim) / n;
      const vudu = f32x4.splat(udu);
      i = 0;
      for (; i + 4 <= dim; i += 4) {
        const off = (<usize>i) << 2;
        const u = f32x4.div(v128.load(xr + off), vn);
        v128.store(dxr + off, f32x4.add(v128.load(dxr + off), f32x4.div(f32x4.sub(v128.load(du + off), f32x4.mul(u, vudu)), vn)));
      }
      for (; i < dim; i++) {
        const off = (<usize>i) << 2;
        const u = load<f32>(xr + off) / n;
        store<f32>(dxr + off, load<f32>(dxr + off) + (load<f32>(du + off) - u * udu) / n);
      }
    } else {
      // The norm sits at its floor, a constant: only the division by it carries gradient.
      i = 0;
      for (; i + 4 <= dim; i += 4) {
        const off = (<usize>i) << 2;
        v128.store(dxr + off, f32x4.add(v128.load(dxr + off), f32x4.div(v128.load(du + off), vn)));
      }
      for (; i < dim; i++) {
        const off = (<usize>i) << 2;
        store<f32>(dxr + off, load<f32>(dxr + off) + load<f32>(du + off) / n);
      }
    }
  }
}
