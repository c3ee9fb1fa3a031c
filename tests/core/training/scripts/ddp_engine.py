"""Three optimizer steps through the engine's entry points, on 1 process or as 2-process CPU DDP.

Usage: python ddp_engine.py OUT_FILE --devices {1,2} [--local-negatives]

The global batch is the same 8 rows either way (rank r gets rows 4r..4r+3 of each step). Two
models train one after the other:
- ``contrastive``: :class:`~cl_core.training.ContrastiveModule` with the kernel's ``nt_xent`` (no
  hand-written gather: the module turns ``gather`` on under DDP) and a BatchNorm layer
  (SyncBatchNorm under DDP);
- ``objective``: :func:`~cl_core.training.fit_objective` with ``clip_loss`` and
  ``gather=gather_negatives(...)``, data from :func:`~cl_core.training.index_loader`.
Rank 0 saves both models' weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.engine_options import EngineOptions
from cl_core.losses import clip_loss, nt_xent
from cl_core.training import (
    ContrastiveModule,
    fit_objective,
    gather_negatives,
    index_loader,
    make_trainer,
    resumable_loader,
)

GLOBAL_BATCH = 8
STEPS = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--local-negatives", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    strategy = "ddp" if args.devices > 1 else "auto"
    local_batch = GLOBAL_BATCH // args.devices

    generator = torch.Generator().manual_seed(3)
    x = torch.randn(GLOBAL_BATCH * STEPS, 5, generator=generator)
    views = TensorDataset(x, x + 0.3 * torch.randn(x.shape, generator=generator))
    torch.manual_seed(11)
    # No bias before BatchNorm: its gradient is zero up to rounding, which AdamW would amplify.
    encoder = nn.Sequential(
        nn.Linear(5, 12, bias=False), nn.BatchNorm1d(12), nn.Tanh(), nn.Linear(12, 3)
    )
    module = ContrastiveModule(
        encoder,
        nt_xent,
        temperature=0.2,
        lr=0.05,
        warmup_fraction=0.0,
        local_negatives=args.local_negatives,
    )
    trainer = make_trainer(
        args.out.parent / f"run-{args.out.stem}",
        max_steps=STEPS,
        seed=11,
        accelerator="cpu",
        devices=args.devices,
        strategy=strategy,
        progress_bar=False,
        tensorboard=False,
        enable_model_summary=False,
    )
    trainer.fit(module, resumable_loader(views, local_batch, shuffle=False))

    torch.manual_seed(12)
    towers = nn.ModuleDict({"image": nn.Linear(5, 4), "text": nn.Linear(5, 4)})

    def objective(model: nn.Module, index: torch.Tensor) -> torch.Tensor:
        a, b = views[index]
        return clip_loss(
            model["image"](a),
            model["text"](b),
            logit_scale=10.0,
            gather=gather_negatives(args.local_negatives),
        )

    engine = EngineOptions(accelerator="cpu", devices=args.devices, strategy=strategy, seed=12)
    fit_objective(
        towers,
        objective,
        index_loader(len(views), local_batch, shuffle=False),
        max_steps=STEPS,
        lr=0.05,
        engine=engine,
    )
    if trainer.is_global_zero:
        torch.save(
            {"contrastive": encoder.state_dict(), "objective": towers.state_dict()}, args.out
        )


if __name__ == "__main__":
    main()
