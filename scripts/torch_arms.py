"""The decay arms and losses beyond the reference's L2 and LRD, in plain PyTorch, for the
multi-step parity fixtures that scripts/torch_fixtures.py writes (test/fixtures/arm_*.safetensors).

Every arm works in the dtype of the model it is given, so the same code runs the float32 fixture
run and its float64 twin. One training step is, for every arm:

    loss = mean loss of the batch (softmax cross-entropy or StableMax); loss.backward()
    pre-AdamW gradient transform    (grokfast, orthograd; none for the others)
    AdamW step on the AdamW groups  (torch.optim.AdamW, betas (0.9, 0.999), eps 1e-8)
    post-AdamW weight update        (lrd, radial, polar, prox on Q/K; muon, luon on their own weights)

ARMS lists each case's fields as the fixtures' config metadata carries them; a field an arm
does not use is 0. The StableMax cases keep their arm's name in `decay` and say `loss: stablemax`.
Note for mirroring: Python reads `0.5 * y @ z` as `(0.5 * y) @ z`, and a Python float scalar
times a float32 tensor is rounded to float32 first.
"""
import torch

ADAMW_BETAS = (0.9, 0.999)
ADAMW_EPS = 1e-8
# Muon's quintic Newton-Schulz coefficients (a, b, c).
MUON_COEFFS = (3.4445, -4.7750, 2.0315)

_NONE = {"wd": 0.0, "rate": 0.0, "nsIters": 0, "alpha": 0.0, "lambda": 0.0, "muonLr": 0.0, "momentum": 0.0,
         "luonLambda": 0.0, "loss": "softmax"}


def _arm(decay, **fields):
    cfg = dict(_NONE, decay=decay)
    cfg.update(fields)
    return cfg


ARMS = {
    "l2": _arm("l2", wd=0.1),
    "lrd": _arm("lrd", wd=0.1, rate=0.005, nsIters=5),
    "radial": _arm("radial", wd=0.1, rate=0.02),
    "polar": _arm("polar", wd=0.1, rate=0.005),
    "prox": _arm("prox", wd=0.1, rate=0.005),
    "grokfast": _arm("grokfast", wd=0.1, alpha=0.98, **{"lambda": 2.0}),  # lambda is a Python keyword
    "orthograd": _arm("orthograd", wd=0.1),
    "muon": _arm("muon", wd=0.1, nsIters=5, muonLr=0.02, momentum=0.95),
    "luon": _arm("luon", wd=0.1, nsIters=5, muonLr=0.02, momentum=0.95, luonLambda=0.5),
    "l2_stablemax": _arm("l2", wd=0.1, loss="stablemax"),
    "lrd_stablemax": _arm("lrd", wd=0.1, rate=0.005, nsIters=5, loss="stablemax"),
}


def is_query_key(name):
    return name.endswith("attn.q_proj.weight") or name.endswith("attn.k_proj.weight")


def is_block_matrix(name, t):
    """Muon's weights: every 2-D weight inside a block (q, k, v, o, mlp.0, mlp.2)."""
    return name.startswith("layers.") and t.dim() == 2


# --- losses -------------------------------------------------------------------------------------

def stablemax_cross_entropy(logits, targets):
    """StableMax: s(x) = x + 1 (x >= 0), 1 / (1 - x) (x < 0); p = s / sum s; -mean log p_target.

    The x < 0 branch is evaluated on min(x, 0) so that where() never sees an infinite branch
    (1 / (1 - x) at x = 1) whose zero-weighted gradient would turn into NaN.
    """
    s = torch.where(logits >= 0, logits + 1, 1 / (1 - logits.clamp(max=0)))
    p = s / s.sum(dim=-1, keepdim=True)
    return -torch.log(p.gather(1, targets.unsqueeze(1)).squeeze(1)).mean()


# --- matrix functions ---------------------------------------------------------------------------

def newton_schulz(w, iters):
    """The reference's cubic iteration towards U V^T, in w's dtype; the identity is sized to
    Y^T Y so wide matrices work too. X = W / (||W||_F + 1e-8), transposed first when W has more
    rows than columns; then iters times Y = 0.5 * Y @ (3I - Y^T Y)."""
    x = w.detach()
    flip = x.shape[0] > x.shape[1]
    if flip:
        x = x.t()
    y = x / (x.norm() + 1e-8)
    eye = torch.eye(y.shape[1], dtype=y.dtype)
    for _ in range(iters):
        y = 0.5 * y @ (3.0 * eye - y.t() @ y)
    return y.t() if flip else y


def newton_schulz_quintic(u, iters):
    """Muon's orthogonalisation: X = u / (||u||_F + 1e-7) (norm of u as stored), transposed when
    it has more rows than columns; iters times A = X X^T, B = b A + c (A A), X = a X + B X;
    transposed back."""
    a, b, c = MUON_COEFFS
    x = u / (u.norm() + 1e-7)
    flip = x.shape[0] > x.shape[1]
    if flip:
        x = x.t()
    for _ in range(iters):
        A = x @ x.t()
        B = b * A + c * (A @ A)
        x = a * x + B @ x
    return x.t() if flip else x


def polar_factor_f64(w):
    """U V^T over the singular values above 1e-7 * sigma_1, computed in float64, cast back to w's dtype."""
    U, S, Vh = torch.linalg.svd(w.detach().double(), full_matrices=False)
    keep = S > 1e-7 * S[0]
    return (U[:, keep] @ Vh[keep, :]).to(w.dtype)


def soft_threshold_f64(w, rate):
    """U max(S - rate, 0) V^T, computed in float64, cast back to w's dtype."""
    U, S, Vh = torch.linalg.svd(w.detach().double(), full_matrices=False)
    return ((U * (S - rate).clamp(min=0)) @ Vh).to(w.dtype)


# --- the optimiser --------------------------------------------------------------------------------

class ArmOptimizer:
    """AdamW with per-group weight decay plus one arm's gradient transform or weight update."""

    def __init__(self, model, cfg, lr):
        self.cfg, self.lr = cfg, lr
        self.named = list(model.named_parameters())
        decay, wd = cfg["decay"], cfg["wd"]
        if decay in ("l2", "grokfast", "orthograd"):
            groups = [{"params": [p for _, p in self.named], "weight_decay": wd}]
            self.special = []
        elif decay in ("lrd", "radial", "polar", "prox"):
            groups = [{"params": [p for n, p in self.named if not is_query_key(n)], "weight_decay": wd},
                      {"params": [p for n, p in self.named if is_query_key(n)], "weight_decay": 0.0}]
            self.special = [p for n, p in self.named if is_query_key(n)]
        elif decay == "muon":
            self.special = [p for n, p in self.named if is_block_matrix(n, p)]
            groups = [{"params": [p for n, p in self.named if not is_block_matrix(n, p)], "weight_decay": wd}]
        elif decay == "luon":
            self.special = [p for n, p in self.named if is_query_key(n)]
            groups = [{"params": [p for n, p in self.named if not is_query_key(n)], "weight_decay": wd}]
        else:
            raise ValueError(f"unknown arm {decay}")
        self.adamw = torch.optim.AdamW(groups, lr=lr, betas=ADAMW_BETAS, eps=ADAMW_EPS)
        self.state = {}

    def zero_grad(self):
        for _, p in self.named:
            p.grad = None

    @torch.no_grad()
    def step(self):
        decay = self.cfg["decay"]
        if decay == "grokfast":
            self._grokfast()
        elif decay == "orthograd":
            self._orthograd()
        self.adamw.step()
        if decay in ("lrd", "radial", "polar", "prox"):
            for w in self.special:
                self._decay(decay, w)
        elif decay == "muon":
            for w in self.special:
                self._muon(w)
        elif decay == "luon":
            for w in self.special:
                self._luon(w)

    def _grokfast(self):
        # e <- alpha e + (1 - alpha) g (e = g at the first step); g <- g + lambda e.
        alpha, lam = self.cfg["alpha"], self.cfg["lambda"]
        for _, p in self.named:
            g = p.grad
            if p not in self.state:
                self.state[p] = g.clone()
            else:
                e = self.state[p]
                e.mul_(alpha).add_((1 - alpha) * g)
            g.add_(lam * self.state[p])

    def _orthograd(self):
        # g_perp = g - (<w,g> / (<w,w> + 1e-30)) w; g <- g_perp * (||g|| / (||g_perp|| + 1e-30)).
        for _, p in self.named:
            w, g = p.detach(), p.grad
            coef = (w * g).sum() / ((w * w).sum() + 1e-30)
            g_perp = g - coef * w
            scale = g.norm() / (g_perp.norm() + 1e-30)
            p.grad = g_perp * scale

    def _decay(self, decay, w):
        rate = self.cfg["rate"]
        if decay == "lrd":
            w.sub_(rate * newton_schulz(w, self.cfg["nsIters"]))
        elif decay == "radial":
            w.sub_(rate * (w / (w.norm() + 1e-8)))
        elif decay == "polar":
            w.sub_(rate * polar_factor_f64(w))
        else:  # prox
            w.copy_(soft_threshold_f64(w, rate))

    def _muon(self, w):
        # b <- mu b + g; u = g + mu b; O = quintic NS(u);
        # W <- W (1 - muonLr wd) - (muonLr max(1, out/in)^0.5) O.
        mu, lr, wd = self.cfg["momentum"], self.cfg["muonLr"], self.cfg["wd"]
        g = w.grad
        if w not in self.state:
            self.state[w] = torch.zeros_like(w)
        b = self.state[w]
        b.mul_(mu).add_(g)
        u = g + mu * b
        o = newton_schulz_quintic(u, self.cfg["nsIters"])
        rows, cols = w.shape
        w.mul_(1 - lr * wd)
        w.sub_((lr * max(1.0, rows / cols) ** 0.5) * o)

    def _luon(self, w):
        # m <- mu m + (g + luonLambda W); W <- W - muonLr NS(m), the reference's cubic NS.
        mu, lr, lam = self.cfg["momentum"], self.cfg["muonLr"], self.cfg["luonLambda"]
        if w not in self.state:
            self.state[w] = torch.zeros_like(w)
        m = self.state[w]
        m.mul_(mu).add_(w.grad + lam * w)
        w.sub_(lr * newton_schulz(m, self.cfg["nsIters"]))


def loss_fn(cfg):
    if cfg["loss"] == "stablemax":
        return stablemax_cross_entropy
    return torch.nn.functional.cross_entropy


def train(model, inputs, targets, cfg, lr):
    """Runs len(inputs) steps of the arm on the model in place; returns the loss of each step."""
    opt = ArmOptimizer(model, cfg, lr)
    criterion = loss_fn(cfg)
    losses = []
    for step in range(inputs.shape[0]):
        loss = criterion(model(inputs[step]), targets[step])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    return torch.stack(losses)
