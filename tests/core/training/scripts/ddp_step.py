"""One optimizer step of a tiny contrastive model, on 1 process or as 2-process CPU DDP (gloo).

Usage: python ddp_step.py OUT_FILE --devices {1,2}

The global batch is the same 8 pairs either way: with 2 processes, rank r gets rows 4r..4r+3 and
the loss gathers the other rank's candidates with ``cl_core.distributed.gathered_pair``.
Rank 0 saves the encoder weights after the step and the gradients DDP applied.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.distributed import gathered_pair
from cl_core.training import ContrastiveModule, make_trainer, resumable_loader

GLOBAL_BATCH = 8


def local_anchor_info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE of the local anchors against the candidates of every process."""
    candidates, positive = gathered_pair(z1, z2)
    logits = nn.functional.normalize(z1, dim=1) @ nn.functional.normalize(candidates, dim=1).T
    return nn.functional.cross_entropy(logits / temperature, positive)


class RecordGradients(pl.Callback):
    def __init__(self) -> None:
        self.gradients: dict[str, torch.Tensor] = {}

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.gradients = {
            name: p.grad.detach().clone() for name, p in pl_module.encoder.named_parameters()
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)

    generator = torch.Generator().manual_seed(3)
    x = torch.randn(GLOBAL_BATCH, 5, generator=generator)
    views = TensorDataset(x, x + 0.3 * torch.randn(x.shape, generator=generator))
    torch.manual_seed(11)
    encoder = nn.Sequential(nn.Linear(5, 12), nn.Tanh(), nn.Linear(12, 3))
    module = ContrastiveModule(
        encoder, local_anchor_info_nce, temperature=0.2, lr=0.1, warmup_fraction=0.0
    )
    recorder = RecordGradients()
    trainer = make_trainer(
        args.out.parent / f"run-{args.devices}",
        max_steps=1,
        seed=11,
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp" if args.devices > 1 else "auto",
        progress_bar=False,
        tensorboard=False,
        callbacks=[recorder],
        enable_model_summary=False,
        enable_checkpointing=True,
        log_every_n_steps=1,
    )
    loader = resumable_loader(views, GLOBAL_BATCH // args.devices, shuffle=False)
    trainer.fit(module, loader)
    if trainer.is_global_zero:
        torch.save(
            {"weights": module.encoder.state_dict(), "gradients": recorder.gradients}, args.out
        )


if __name__ == "__main__":
    main()
