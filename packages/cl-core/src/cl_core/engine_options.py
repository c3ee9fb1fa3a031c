"""The engine options every ``cl-train`` sub-command and every training entry point share.

One dataclass, one place for each default: :func:`cl_core.cli.add_engine_args` builds the command
line from it, :func:`cl_core.training.make_trainer` and :func:`cl_core.training.fit_objective`
take it. Standard library only, so parsers that use it stay instant.

Global negatives: with world size W > 1 (``--devices`` x ``--num-nodes`` processes), an in-batch
contrastive loss scores every process's anchors against the candidates gathered from all W
processes, so W processes at batch b train as one run at batch W * b (``local_negatives=True``
opts out: each process contrasts its own b rows only).

Example:
    >>> EngineOptions().precision
    '32-true'
    >>> EngineOptions(devices=2, strategy="ddp").world_size_hint()
    2
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

#: Lightning's precision values (``Trainer(precision=...)``).
PRECISIONS = ("32-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true", "64-true")
#: Precisions whose autocast or kernels need a CUDA device.
GPU_ONLY_PRECISIONS = ("16-mixed", "16-true")


@dataclass(frozen=True)
class EngineOptions:
    """Where and how a run trains: devices, processes, precision, negatives, checkpoints, seed.

    Attributes:
        accelerator: ``"cpu"``, ``"gpu"``, ``"mps"`` or ``"auto"``.
        devices: processes per node: a count, ``-1`` (all visible devices) or ``"auto"``.
        num_nodes: machines taking part.
        strategy: Lightning strategy (``"auto"``, ``"ddp"``, ``"ddp_spawn"``, ``"fsdp"``...).
        precision: one of :data:`PRECISIONS`.
        local_negatives: under data-parallel training, contrast each process's own batch only
            (default: gather the candidates of every process, i.e. one global batch).
        checkpoint_every: also checkpoint every this many optimizer steps (``None``: per epoch).
        resume: ``"last"`` or a checkpoint path to continue from; ``None`` starts afresh.
        seed: seeds Python, NumPy and torch.
    """

    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "32-true"
    local_negatives: bool = False
    checkpoint_every: int | None = None
    resume: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.num_nodes < 1:
            raise ValueError(f"num_nodes must be >= 1, got {self.num_nodes}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1 or None, got {self.checkpoint_every}")

    def world_size_hint(self) -> int:
        """Processes this configuration asks for (``devices`` x ``num_nodes``; 1 for auto/-1)."""
        devices = self.devices if isinstance(self.devices, int) and self.devices > 0 else 1
        return devices * self.num_nodes

    def with_changes(self, **changes: Any) -> EngineOptions:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


#: The engine defaults (the only place they are written).
DEFAULT_ENGINE = EngineOptions()
