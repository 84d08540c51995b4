#!/usr/bin/env python3
"""Sanity checks of scripts/torch_arms.py and of the arm fixtures it writes.

/usr/bin/python3 scripts/torch_arms_check.py [fixture dir, default test/fixtures]
Checks each arm's defining property on random matrices, that the l2 and lrd arms' first step
equals the one-step fixtures' code, and, in every arm_*.safetensors, that the losses fall and
that the float32 run follows the float64 run.
"""
import copy
import glob
import json
import math
import os
import sys

import torch

import torch_arms
import torch_fixtures as tf


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        check.failed = True


check.failed = False


def svals(w):
    return torch.linalg.svdvals(w.double())


def matrix_functions():
    g = torch.Generator().manual_seed(0)
    for shape in ((20, 20), (28, 20), (20, 28)):
        w = torch.randn(*shape, generator=g, dtype=torch.float64) * 0.3
        for dtype in (torch.float32, torch.float64):
            wd = w.to(dtype)
            pol = torch_arms.polar_factor_f64(wd)
            dev = (svals(pol) - 1).abs().max().item()
            check(pol.dtype == dtype and dev < (1e-6 if dtype == torch.float32 else 1e-12),
                  f"polar {shape} {dtype}: singular values of U V^T within {dev:.1e} of 1")
            rate = 0.3
            prox = torch_arms.soft_threshold_f64(wd, rate)
            want = (svals(wd) - rate).clamp(min=0)
            dev = (svals(prox) - want).abs().max().item()
            check(prox.dtype == dtype and dev < (1e-6 if dtype == torch.float32 else 1e-12),
                  f"prox {shape} {dtype}: singular values fall by the rate (clamped at 0) within {dev:.1e}")
            # Both Newton-Schulz iterations act on each singular value alone: their outputs are
            # U diag(f^k(sigma / (||W||_F + eps))) V^T with f the iteration's scalar polynomial.
            a, b, c = torch_arms.MUON_COEFFS
            for name, got, f, eps in (
                    ("cubic NS (LRD, Luon)", torch_arms.newton_schulz(wd, 5), lambda s: 0.5 * s * (3 - s * s), 1e-8),
                    ("quintic NS (Muon)", torch_arms.newton_schulz_quintic(wd, 5), lambda s: a * s + b * s ** 3 + c * s ** 5, 1e-7)):
                U, S, Vh = torch.linalg.svd(wd.double(), full_matrices=False)
                x = S / (wd.double().norm() + eps)
                for _ in range(5):
                    x = f(x)
                dev = ((got.double() - (U * x) @ Vh).abs().max() / x.max()).item()
                check(got.shape == wd.shape and got.dtype == dtype and dev < (1e-5 if dtype == torch.float32 else 1e-12),
                      f"{name} {shape} {dtype}: U diag(f^5(s)) V^T within {dev:.1e}; singular values {x.min():.3f}..{x.max():.3f}")


def stablemax():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 12, generator=g, dtype=torch.float64) * 3
    x[0, 0], x[1, 1], x[2, 2] = 1.0, 0.0, -1.0  # the branch points and the pole of 1 / (1 - x)
    x.requires_grad_(True)
    t = torch.tensor([0, 1, 2, 3, 4, 5])
    loss = torch_arms.stablemax_cross_entropy(x, t)
    want = 0.0
    for i in range(6):
        s = [v + 1 if v >= 0 else 1 / (1 - v) for v in x[i].tolist()]
        want -= math.log(s[t[i]] / sum(s)) / 6
    check(abs(loss.item() - want) < 1e-12, f"StableMax loss {loss.item():.12f} against a scalar loop {want:.12f}")
    loss.backward()
    check(bool(torch.isfinite(x.grad).all()), "StableMax gradient finite at x = 1, 0, -1")
    z = torch.zeros(3, 12, dtype=torch.float64)
    check(abs(torch_arms.stablemax_cross_entropy(z, torch.tensor([0, 5, 11])).item() - math.log(12)) < 1e-14,
          "StableMax of zero logits is log(vocab)")


def gradient_transforms():
    model = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5)
    tokens, targets = tf.arm_batches(11, 1, 24, 6)
    loss = torch.nn.functional.cross_entropy(model(tokens[0]), targets[0])
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt = torch_arms.ArmOptimizer(model, torch_arms.ARMS["orthograd"], 1e-3)
    opt._orthograd()
    worst_dot, worst_norm = 0.0, 0.0
    for n, p in model.named_parameters():
        w, g = p.detach().double(), p.grad.double()
        worst_dot = max(worst_dot, abs((w * g).sum().item()) / (w.norm() * g.norm()).item())
        worst_norm = max(worst_norm, abs(g.norm().item() / grads[n].double().norm().item() - 1))
    check(worst_dot < 1e-5 and worst_norm < 1e-5,
          f"orthograd: cos(w, g') <= {worst_dot:.1e}, ||g'|| / ||g|| - 1 <= {worst_norm:.1e}")
    for n, p in model.named_parameters():
        p.grad = grads[n].clone()
    opt = torch_arms.ArmOptimizer(model, torch_arms.ARMS["grokfast"], 1e-3)
    opt._grokfast()
    dev = max((p.grad - 3 * grads[n]).abs().max().item() for n, p in model.named_parameters())
    check(dev < 1e-6, f"grokfast first step: g' = (1 + lambda) g within {dev:.1e}")


def first_step_matches_one_step():
    # The arms' AdamW groups and LRD step against the existing one-step fixture code.
    model = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5)
    tokens, targets = tf.arm_batches(11, 1, 24, 6)
    for arm in ("l2", "lrd"):
        want = tf.one_step(model, tokens[0], targets[0], arm, 0.1, 0.005, 5)
        clone = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5)
        torch_arms.train(clone, tokens, targets, torch_arms.ARMS[arm], 1e-3)
        same = all(torch.equal(t, want[n]) for n, t in clone.state_dict().items())
        check(same, f"{arm}: one step of the arm equals one_step() of the one-step fixtures bit for bit")


def adamw_step(model, grads, wd_of):
    """The parameters after one torch.optim.AdamW step from the given gradients, in the model's dtype."""
    clone = copy.deepcopy(model)
    named = list(clone.named_parameters())
    for n, p in named:
        p.grad = grads[n].clone()
    opt = torch.optim.AdamW([{"params": [p], "weight_decay": wd_of(n)} for n, p in named], lr=1e-3)
    opt.step()
    return {n: p.detach().clone() for n, p in named}


def first_step_formulas():
    # One step of each arm with a weight update, against its formula written out on the Q/K (or
    # Muon) weights after a plain AdamW step; in float64 so that only the formula can differ.
    model = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5).double()
    tokens, targets = tf.arm_batches(11, 1, 24, 6)
    loss = torch.nn.functional.cross_entropy(model(tokens[0]), targets[0])
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    adam = adamw_step(model, grads, lambda n: 0.0 if torch_arms.is_query_key(n) else 0.1)
    adam_all = adamw_step(model, grads, lambda n: 0.1)
    start = {n: t.clone() for n, t in model.state_dict().items()}

    def svd(w):
        return torch.linalg.svd(w, full_matrices=False)

    def radial(w, r):
        return w - r * w / (w.norm() + 1e-8)

    def polar(w, r):
        U, S, Vh = svd(w)
        return w - r * U @ Vh

    def prox(w, r):
        U, S, Vh = svd(w)
        return U @ torch.diag((S - r).clamp(min=0)) @ Vh

    for arm, f in (("radial", radial), ("polar", polar), ("prox", prox)):
        clone = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5).double()
        torch_arms.train(clone, tokens, targets, torch_arms.ARMS[arm], 1e-3)
        rate = torch_arms.ARMS[arm]["rate"]
        dev = max((t - (f(adam[n], rate) if torch_arms.is_query_key(n) else adam[n])).abs().max().item()
                  for n, t in clone.state_dict().items())
        check(dev < 1e-12, f"{arm}: first step equals AdamW then its formula on Q/K within {dev:.1e}")

    a, b, c = torch_arms.MUON_COEFFS
    for arm in ("muon", "luon"):
        cfg = torch_arms.ARMS[arm]
        clone = tf.seeded_model(p=11, dim=20, depth=2, heads=2, mlp=28, seed=5).double()
        torch_arms.train(clone, tokens, targets, cfg, 1e-3)
        dev, special = 0.0, 0
        for n, t in clone.state_dict().items():
            w, g = start[n], grads[n]
            if arm == "muon" and n.startswith("layers.") and w.dim() == 2:
                X = 1.95 * g  # u = g + mu * (mu * 0 + g)
                X = X / (X.norm() + 1e-7)
                tall = X.shape[0] > X.shape[1]
                X = X.t() if tall else X
                for _ in range(5):
                    A = X @ X.t()
                    X = a * X + (b * A + c * A @ A) @ X
                O = X.t() if tall else X
                want = w * (1 - 0.02 * 0.1) - 0.02 * max(1, w.shape[0] / w.shape[1]) ** 0.5 * O
                special += 1
            elif arm == "luon" and torch_arms.is_query_key(n):
                want = w - 0.02 * torch_arms.newton_schulz(g + 0.5 * w, 5)
                special += 1
            else:
                want = adam_all[n]
            dev = max(dev, (t - want).abs().max().item())
        check(dev < 1e-12 and special == (12 if arm == "muon" else 4),
              f"{arm}: first step on its {special} weights and AdamW (wd 0.1) on the rest within {dev:.1e}")


def fixtures(fixture_dir):
    paths = sorted(glob.glob(os.path.join(fixture_dir, "arm_*.safetensors")))
    check(len(paths) == len(torch_arms.ARMS), f"{len(paths)} arm fixtures in {fixture_dir}")
    for path in paths:
        meta, t = read_safetensors(path)
        cfg = json.loads(meta["config"])
        l32, l64 = t["loss32"], t["loss64"]
        falls = l32[-10:].mean() < l32[:10].mean()
        loss_rel = ((l32.double() - l64).abs() / l64.abs()).max().item()
        param_rel = max(((t[k].double() - t["final64." + k[8:]]).abs().max() / t["final64." + k[8:]].abs().max()).item()
                        for k in t if k.startswith("final32."))
        size = os.path.getsize(path)
        check(bool(falls) and loss_rel < 1e-4 and param_rel < 1e-4 and size < 1 << 20,
              f"{os.path.basename(path)} ({cfg['decay']}, {cfg['loss']}): loss {l32[0]:.4f} -> {l32[-1]:.4f}; "
              f"f32 vs f64: loss {loss_rel:.1e}, final parameters {param_rel:.1e}; {size} bytes")


def read_safetensors(path):
    import struct
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32}
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=dtypes[e["dtype"]]).reshape(e["shape"])
    return header["__metadata__"], out


def main():
    torch.set_num_threads(1)
    matrix_functions()
    stablemax()
    gradient_transforms()
    first_step_matches_one_step()
    first_step_formulas()
    fixtures(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures")
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
