#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures that test/parity.test.ts checks grokwasm against.

The reference model is rebuilt here from ../shared/reference-experiment.md (pre-RMSNorm blocks,
QK-norm over the full width, no mask, last-position logits), with fixed weights and a fixed
batch. Each fixture is one .safetensors file holding the parameters, the batch, the logits and
loss, every gradient, the parameters after one AdamW step of the L2 arm and after one step of
the LRD arm (AdamW then Low-Rank Decay), Newton-Schulz outputs and singular values.

It also writes one multi-step fixture per decay arm of scripts/torch_arms.py,
arm_<case>.safetensors: a small model (p 11, dim 20, depth 2, heads 2, mlp 28), 60 fixed
batches of 24, and the loss of every step and the final parameters of the same run in float32
and in float64 (param.*, inputs, targets, loss32, loss64, final32.*, final64.*; metadata
config with the sizes and the arm's fields).

Needs Debian's python3-torch (PyTorch 1.13):
  /usr/bin/python3 scripts/torch_fixtures.py test/fixtures              # all fixtures
  /usr/bin/python3 scripts/torch_fixtures.py test/fixtures --arms-only  # only arm_*.safetensors
  /usr/bin/python3 scripts/torch_fixtures.py test/fixtures --no-arms    # only the one-step fixtures
  /usr/bin/python3 scripts/torch_arms_check.py test/fixtures            # sanity checks of the arms
The one-step fixtures' numbers depend on the BLAS PyTorch loads (ulp-level differences from one
BLAS to another), so regenerating them elsewhere can change their bytes, not their meaning.
"""
import copy
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

import torch_arms
from torch_arms import is_query_key, newton_schulz


def unit_rms_norm(x, g):
    # The reference's RMSNorm: F.normalize (x / max(||x||, 1e-12)) * sqrt(dim) * g.
    return F.normalize(x, dim=-1) * (x.shape[-1] ** 0.5) * g


class Reference(torch.nn.Module):
    def __init__(self, p, dim, depth, heads, mlp):
        super().__init__()
        vocab = p + 1
        self.heads = heads
        self.pos_embedding = torch.nn.Parameter(torch.randn(1, 3, dim) * 0.02)
        self.embedding = torch.nn.Embedding(vocab, dim)
        self.layers = torch.nn.ModuleList()
        for _ in range(depth):
            block = torch.nn.Module()
            block.norm1 = torch.nn.Module()
            block.norm1.g = torch.nn.Parameter(torch.ones(dim))
            block.attn = torch.nn.Module()
            for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                setattr(block.attn, name, torch.nn.Linear(dim, dim, bias=False))
            for name in ("q_norm", "k_norm"):
                norm = torch.nn.Module()
                norm.g = torch.nn.Parameter(torch.ones(dim))
                setattr(block.attn, name, norm)
            block.norm2 = torch.nn.Module()
            block.norm2.g = torch.nn.Parameter(torch.ones(dim))
            block.mlp = torch.nn.Sequential(torch.nn.Linear(dim, mlp, bias=False), torch.nn.SiLU(),
                                            torch.nn.Linear(mlp, dim, bias=False))
            self.layers.append(block)
        self.norm_final = torch.nn.Module()
        self.norm_final.g = torch.nn.Parameter(torch.ones(dim))
        self.lm_head = torch.nn.Linear(dim, vocab, bias=False)

    def attention(self, a, x):
        b, t, d = x.shape
        hd = d // self.heads
        q = unit_rms_norm(a.q_proj(x), a.q_norm.g)
        k = unit_rms_norm(a.k_proj(x), a.k_norm.g)
        v = a.v_proj(x)
        split = lambda z: z.view(b, t, self.heads, hd).transpose(1, 2)
        q, k, v = split(q), split(k), split(v)
        scores = (q @ k.transpose(-2, -1)) * (hd ** -0.5)
        mixed = scores.softmax(dim=-1) @ v
        return a.o_proj(mixed.transpose(1, 2).reshape(b, t, d))

    def forward(self, tokens):
        x = self.embedding(tokens) + self.pos_embedding[:, : tokens.shape[1], :]
        for blk in self.layers:
            x = x + self.attention(blk.attn, unit_rms_norm(x, blk.norm1.g))
            x = x + blk.mlp(unit_rms_norm(x, blk.norm2.g))
        return self.lm_head(unit_rms_norm(x, self.norm_final.g)[:, -1, :])


def one_step(model, tokens, targets, arm, wd, rate, iters):
    """Parameters after one optimiser step of the given arm, from the model's current weights."""
    clone = Reference(model.p, model.dim, model.depth, model.heads_, model.mlp)
    clone.load_state_dict(model.state_dict())
    named = list(clone.named_parameters())
    if arm == "l2":
        opt = torch.optim.AdamW(clone.parameters(), lr=1e-3, weight_decay=wd)
    else:
        opt = torch.optim.AdamW([
            {"params": [p for n, p in named if not is_query_key(n)], "weight_decay": wd},
            {"params": [p for n, p in named if is_query_key(n)], "weight_decay": 0.0},
        ], lr=1e-3)
    loss = F.cross_entropy(clone(tokens), targets)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if arm == "lrd":
        with torch.no_grad():
            for n, p in named:
                if is_query_key(n):
                    p.sub_(rate * newton_schulz(p, iters))
    return {n: t.detach().clone() for n, t in clone.state_dict().items()}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def seeded_model(p, dim, depth, heads, mlp, seed):
    torch.manual_seed(seed)
    model = Reference(p, dim, depth, heads, mlp)
    model.p, model.dim, model.depth, model.heads_, model.mlp = p, dim, depth, heads, mlp
    # Random, not trained, weights would leave every gain at exactly 1 and hide a transposed
    # gain in the kernels; perturb them so each parameter's role is visible in the gradients.
    with torch.no_grad():
        for n, t in model.named_parameters():
            if n.endswith(".g"):
                t.add_(0.1 * torch.randn_like(t))
    return model


def make(name, out_dir, p, dim, depth, heads, mlp, batch, seed, wd=0.1, rate=0.005, iters=5):
    model = seeded_model(p, dim, depth, heads, mlp, seed)
    g = torch.Generator().manual_seed(seed + 1)
    ab = torch.randint(0, p, (batch, 2), generator=g)
    tokens = torch.cat([ab, torch.full((batch, 1), p)], dim=1)
    targets = (ab[:, 0] + ab[:, 1]) % p

    logits = model(tokens)
    loss = F.cross_entropy(logits, targets)
    loss.backward()

    tensors = {}
    for n, t in model.state_dict().items():
        tensors[f"param.{n}"] = t
    tensors["inputs"] = tokens.to(torch.int32)
    tensors["targets"] = targets.to(torch.int32)
    tensors["logits"] = logits.detach()
    tensors["loss"] = loss.detach().reshape(1)
    for n, t in model.named_parameters():
        tensors[f"grad.{n}"] = t.grad
    for n, t in one_step(model, tokens, targets, "l2", wd, rate, iters).items():
        tensors[f"l2.{n}"] = t
    for n, t in one_step(model, tokens, targets, "lrd", wd, rate, iters).items():
        tensors[f"lrd.{n}"] = t

    # Newton-Schulz and spectra of a square and a tall matrix.
    for key, pname in (("q", "layers.0.attn.q_proj.weight"), ("mlp", "layers.0.mlp.0.weight")):
        w = model.state_dict()[pname]
        tensors[f"ns.{key}"] = newton_schulz(w, iters)
        s = torch.linalg.svdvals(w.double())
        tensors[f"sv.{key}"] = s
        tensors[f"stable_rank.{key}"] = ((s ** 2).sum() / s[0] ** 2).reshape(1)
        pr = s / s.sum()
        tensors[f"effective_rank.{key}"] = torch.exp(-(pr[pr > 0] * torch.log(pr[pr > 0])).sum()).reshape(1)

    metadata = {"config": json.dumps(dict(p=p, dim=dim, depth=depth, heads=heads, mlp=mlp, batch=batch,
                                          wd=wd, rate=rate, nsIters=iters, lr=1e-3, seed=seed)),
                "torch": torch.__version__}
    path = os.path.join(out_dir, f"{name}.safetensors")
    write_safetensors(path, tensors, metadata)
    print(f"{path}: loss {loss.item():.6f}, {os.path.getsize(path)} bytes")


# The multi-step arm fixtures: one small model with sizes that are not multiples of 4.
ARM_SIZES = dict(p=11, dim=20, depth=2, heads=2, mlp=28)
ARM_BATCH, ARM_STEPS, ARM_LR = 24, 60, 1e-3
ARM_MODEL_SEED, ARM_DATA_SEED = 5, 6


def arm_batches(p, steps, batch, seed):
    """steps fixed random batches of (a, b, =) with targets (a + b) mod p."""
    g = torch.Generator().manual_seed(seed)
    ab = torch.randint(0, p, (steps, batch, 2), generator=g)
    tokens = torch.cat([ab, torch.full((steps, batch, 1), p)], dim=2)
    return tokens, (ab[..., 0] + ab[..., 1]) % p


def make_arm(case, out_dir):
    """arm_<case>.safetensors: the initial parameters, the batches, and the loss of every step and
    the final parameters of the same run in float32 and in float64."""
    cfg = torch_arms.ARMS[case]
    model32 = seeded_model(**ARM_SIZES, seed=ARM_MODEL_SEED)
    model64 = copy.deepcopy(model32).double()
    tokens, targets = arm_batches(ARM_SIZES["p"], ARM_STEPS, ARM_BATCH, ARM_DATA_SEED)

    tensors = {f"param.{n}": t.detach().clone() for n, t in model32.state_dict().items()}
    tensors["inputs"] = tokens.to(torch.int32)
    tensors["targets"] = targets.to(torch.int32)
    tensors["loss32"] = torch_arms.train(model32, tokens, targets, cfg, ARM_LR)
    tensors["loss64"] = torch_arms.train(model64, tokens, targets, cfg, ARM_LR)
    for n, t in model32.state_dict().items():
        tensors[f"final32.{n}"] = t
    for n, t in model64.state_dict().items():
        tensors[f"final64.{n}"] = t

    config = dict(ARM_SIZES, batch=ARM_BATCH, steps=ARM_STEPS, lr=ARM_LR, **cfg)
    path = os.path.join(out_dir, f"arm_{case}.safetensors")
    write_safetensors(path, tensors, {"config": json.dumps(config), "torch": torch.__version__})
    l32, l64 = tensors["loss32"], tensors["loss64"]
    print(f"{path}: loss {l32[0].item():.4f} -> {l32[-1].item():.4f}, "
          f"f32 vs f64 loss {((l32.double() - l64).abs() / l64.abs()).max().item():.1e}, "
          f"{os.path.getsize(path)} bytes")


def main():
    args = sys.argv[1:]
    which = "all"
    for flag in ("--arms-only", "--no-arms"):
        if flag in args:
            args.remove(flag)
            which = flag
    out_dir = args[0] if args else "test/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    if which != "--arms-only":
        # Sizes that are not multiples of 4 or 8 anywhere: vocab 14, dim 18, head_dim 6, mlp 30, batch 7.
        make("odd", out_dir, p=13, dim=18, depth=2, heads=3, mlp=30, batch=7, seed=1, rate=0.02)
        # One block, so the first block is also the last (both savings at once).
        make("single_block", out_dir, p=7, dim=10, depth=1, heads=2, mlp=14, batch=9, seed=2, rate=0.02)
        # A moderate size with a batch large enough that pairs repeat inside it.
        make("small", out_dir, p=23, dim=32, depth=2, heads=4, mlp=64, batch=200, seed=3)
        # The full reference size.
        make("reference", out_dir, p=113, dim=128, depth=2, heads=4, mlp=512, batch=512, seed=4)
    if which != "--no-arms":
        for case in torch_arms.ARMS:
            make_arm(case, out_dir)


if __name__ == "__main__":
    main()
