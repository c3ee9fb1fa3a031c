"""Train a tiny MLP contrastively on synthetic data; used by the resume and DDP tests.

Usage: python tiny_run.py OUT_DIR [--kill-after-step N] [--resume last] [--devices 2 --strategy ddp]
       [--max-steps N] [--batch-size B] [--identity-views]

Writes OUT_DIR/final_state.pt (the encoder's state dict) when training ends on rank 0.
"""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.training import (
    ContrastiveModule,
    checkpoint_dir,
    make_trainer,
    resolve_resume,
    resumable_loader,
)

SEED = 7


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: torch.Tensor | float) -> torch.Tensor:
    a = nn.functional.normalize(a, dim=1)
    b = nn.functional.normalize(b, dim=1)
    logits = a @ b.T / temperature
    return nn.functional.cross_entropy(logits, torch.arange(len(a)))


def noisy_views(batch: list[torch.Tensor], generator: torch.Generator) -> list[torch.Tensor]:
    (x,) = batch
    return [x + 0.1 * torch.randn(x.shape, generator=generator) for _ in range(2)]


class TraceSteps(pl.Callback):
    """Append ``step batch_sum loss`` per step to a file, to locate a divergence."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        with self.path.open("a") as handle:
            handle.write(
                f"{trainer.global_step} {batch_idx} {float(batch[0].sum()):.6f} "
                f"{float(outputs['loss']):.6f}\n"
            )


class KillAfterStep(pl.Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--kill-after-step", type=int, default=None)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--strategy", default="auto")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(80, 6, generator=generator))
    torch.manual_seed(SEED)
    encoder = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 4))
    module = ContrastiveModule(
        encoder,
        info_nce,
        views_fn=noisy_views,
        temperature=0.5,
        learnable_temperature=True,
        lr=0.05,
        warmup_fraction=0.2,
        seed=SEED,
    )
    callbacks: list[pl.Callback] = [TraceSteps(args.out / "trace.txt")]
    if args.kill_after_step is not None:
        callbacks.append(KillAfterStep(args.kill_after_step))
    trainer = make_trainer(
        args.out,
        max_steps=args.max_steps,
        seed=SEED,
        accelerator="cpu",
        devices=args.devices,
        strategy=args.strategy,
        checkpoint_every_n_steps=3,
        progress_bar=False,
        tensorboard=False,
        callbacks=callbacks,
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    loader = resumable_loader(data, args.batch_size, seed=SEED)
    trainer.fit(module, loader, ckpt_path=resolve_resume(args.resume, checkpoint_dir(args.out)))
    if trainer.is_global_zero:
        torch.save(
            {"encoder": module.encoder.state_dict(), "global_step": trainer.global_step},
            args.out / "final_state.pt",
        )


if __name__ == "__main__":
    main()
