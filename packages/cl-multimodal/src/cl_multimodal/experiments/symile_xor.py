r"""The binary XOR toy of Symile: three modalities whose pairwise mutual information is zero.

Saporta, Puli, Goldstein, Ranganath, "Contrasting with Symile: Simple Model-Agnostic Representation
Learning for Unlimited Modalities", NeurIPS 2024, arXiv:2411.01053 (``examples/binary_xor.py``).

Data: :math:`a, b \sim \text{Bernoulli}(0.5)^d` and :math:`c = a \oplus b`. Each pair of modalities
is independent, so any objective built from pairwise similarities (CLIP on the three pairs) has
nothing to learn, while Symile's multilinear inner product
:math:`\mathrm{MIP}(x, y, z) = \sum_k x_k y_k z_k` captures the three-way dependence. Encoders are
linear maps :math:`\{0,1\}^d \to \mathbb{R}^{16}`. Zero-shot prediction of :math:`c` from
:math:`(a, b)` ranks all :math:`2^d` candidate values of :math:`c`: Symile scores
:math:`\mathrm{MIP}(f_a(a), f_b(b), f_c(c'))` (:func:`cl_core.losses.symile_zero_shot_scores`),
pairwise CLIP scores :math:`f_a(a)^\top f_c(c') + f_b(b)^\top f_c(c')`. Chance is :math:`2^{-d}`.

Training runs on the kernel's engine (:func:`cl_core.training.fit_objective`, one CPU process:
the toy's data and generator live on the CPU); the batch order and Symile's negatives draw from
one seeded generator, as in the authors' loop.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.engine_options import EngineOptions
from cl_core.losses import clip_loss, symile, symile_zero_shot_scores


@dataclass(frozen=True)
class XorConfig:
    """Settings of the toy (defaults follow the authors' example: AdamW lr 0.1, batch 1000,
    log-scale initialised at -0.3, 10k training triples)."""

    bits: int = 3
    dim: int = 16
    train_size: int = 10_000
    test_size: int = 2_000
    epochs: int = 40
    batch_size: int = 1000
    lr: float = 0.1
    negatives: str = "n"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= 12:
            raise ValueError(f"bits must lie in [1, 12], got {self.bits}")
        if min(self.dim, self.train_size, self.test_size, self.epochs) < 1 or self.batch_size < 2:
            raise ValueError("dim, sizes and epochs must be >= 1 and batch_size >= 2")


def xor_triples(count: int, bits: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """``count`` triples (a, b, a XOR b) of float {0, 1} vectors of length ``bits``."""
    a = torch.randint(0, 2, (count, bits), generator=generator).float()
    b = torch.randint(0, 2, (count, bits), generator=generator).float()
    return a, b, (a + b) % 2


class _Encoders(nn.Module):
    def __init__(self, bits: int, dim: int) -> None:
        super().__init__()
        self.maps = nn.ModuleList(nn.Linear(bits, dim) for _ in range(3))
        self.log_scale = nn.Parameter(torch.tensor(-0.3))

    def forward(self, *modalities: Tensor) -> list[Tensor]:
        return [F.normalize(m(x), dim=-1) for m, x in zip(self.maps, modalities, strict=True)]


def _pairwise_clip_loss(reps: list[Tensor], scale: Tensor, gather: bool) -> Tensor:
    pairs = itertools.combinations(reps, 2)
    return sum(clip_loss(x, y, scale, normalize=False, gather=gather) for x, y in pairs) / 3


def train_and_score_xor(method: str, config: XorConfig) -> dict[str, float]:
    """Train ``"symile"`` or ``"clip"`` (pairwise) on the toy; return test zero-shot accuracy of
    predicting c from (a, b), plus the chance level and the final training loss."""
    if method not in ("symile", "clip"):
        raise ValueError(f"method must be 'symile' or 'clip', got {method!r}")
    from cl_core.training import fit_objective, gather_negatives
    from cl_core.training.replay import ReplayBatches

    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    train = xor_triples(config.train_size, config.bits, generator)
    test = xor_triples(config.test_size, config.bits, generator)
    model = _Encoders(config.bits, config.dim)
    last = {"loss": torch.tensor(0.0)}

    def objective(model: _Encoders, index: Tensor) -> Tensor:
        reps = model(*(m[index] for m in train))
        scale = model.log_scale.exp()
        if method == "symile":
            loss = symile(
                *reps,
                logit_scale=scale,
                negatives=config.negatives,
                normalize=False,
                generator=generator,
            )
        else:
            loss = _pairwise_clip_loss(reps, scale, gather_negatives())
        last["loss"] = loss.detach()
        return loss

    batches = ReplayBatches(
        config.train_size,
        config.batch_size,
        lambda: torch.randperm(config.train_size, generator=generator),
        generators=(generator,),
    )
    fit_objective(
        model,
        objective,
        batches,
        epochs=config.epochs,
        lr=config.lr,
        weight_decay=0.01,
        engine=EngineOptions(accelerator="cpu", seed=config.seed),
        callbacks=[batches.tracker()],
    )
    loss = last["loss"]
    return {
        "zero_shot_acc": _zero_shot_accuracy(model, test, method, config.bits),
        "chance": 1.0 / 2**config.bits,
        "final_loss": loss.detach().item(),
    }


@torch.no_grad()
def _zero_shot_accuracy(
    model: _Encoders, test: tuple[Tensor, Tensor, Tensor], method: str, bits: int
) -> float:
    a, b, c = test
    candidates = torch.tensor(list(itertools.product((0.0, 1.0), repeat=bits)))
    rep_a, rep_b, _ = model(a, b, c)
    rep_candidates = model.maps[2](candidates)
    if method == "symile":
        scores = symile_zero_shot_scores(rep_candidates, rep_a, rep_b)
    else:
        rep_candidates = F.normalize(rep_candidates, dim=-1)
        scores = (rep_a + rep_b) @ rep_candidates.T
    truth = (c * 2 ** torch.arange(bits - 1, -1, -1)).sum(1).long()
    return (scores.argmax(1) == truth).float().mean().item()
