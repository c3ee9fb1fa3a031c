"""The Lightning base every modality trains with: views -> encoder -> head -> embeddings -> loss.

A contrastive method is a choice of views, encoder, projection head and loss (SimCLR: Chen et al.,
"A Simple Framework for Contrastive Learning of Visual Representations", 2020, arXiv:2002.05709).
:class:`ContrastiveModule` owns the rest: AdamW (Loshchilov & Hutter, "Decoupled Weight Decay
Regularization", 2017, arXiv:1711.05101) with a per-step linear warm-up + cosine schedule, an
optional learnable temperature, deterministic per-step view randomness (so a resumed run replays
the same augmentations), and logging.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from cl_core.training.engine import gather_negatives, trainer_wants_local_negatives
from cl_core.training.randomness import step_generator
from cl_core.training.schedule import warmup_cosine_schedule
from cl_core.training.temperature import LearnableTemperature

ViewsFn = Callable[[Any, torch.Generator], Sequence[Tensor]]
LossKwargsFn = Callable[[Any], Mapping[str, Any]]

_RNG_STATE_KEY = "cl_core_torch_rng_state"


def fused_adamw_supported(param_groups: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every parameter suits PyTorch's fused AdamW kernel (floating point, CPU or CUDA).

    The fused kernel does one pass per step instead of one per tensor and operation (it is what
    ``transformers.Trainer`` uses by default).
    """
    params = [p for group in param_groups for p in group["params"]]
    return bool(params) and all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params
    )


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    # A loss module's own signature is nn.Module.__call__'s (*args, **kwargs): read forward's.
    target = function.forward if isinstance(function, nn.Module) else function
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


def default_views(batch: Any) -> list[Tensor]:
    """Views already in the batch: a tuple/list of tensors or a dict of tensors (in key order)."""
    if isinstance(batch, Mapping):
        views = list(batch.values())
    elif isinstance(batch, Sequence) and not isinstance(batch, str):
        views = list(batch)
    else:
        raise TypeError(
            "a batch must be a tuple/list or dict of view tensors when no views_fn is given, "
            f"got {type(batch).__name__}"
        )
    if len(views) < 2 or not all(isinstance(v, Tensor) for v in views):
        raise ValueError(
            f"a batch must hold at least two view tensors, got {[type(v).__name__ for v in views]}"
        )
    return views


class ContrastiveModule(pl.LightningModule):
    """Contrastive training of ``head(encoder(view))`` for every view of a batch.

    A training step: ``views = views_fn(batch, generator)`` (or :meth:`make_views`), ``z_v =
    head(encoder(view_v))`` (:meth:`embed`), ``loss = loss_fn(z_1, ..., z_V, **loss_kwargs(batch),
    temperature=tau)`` (:meth:`compute_loss`). The temperature is passed only if ``temperature`` is
    set; with ``learnable_temperature=True`` it is ``exp(log_tau)`` (:class:`LearnableTemperature`).
    The learning rate follows ``lr * warmup_cosine_factor(step)``, updated after every step.

    Args:
        encoder: maps one view to features ``(N, F)``.
        loss_fn: a ``cl_core.losses`` function (e.g. ``nt_xent``) or any callable of the view
            embeddings returning a scalar.
        head: projection head on top of the encoder (default: identity).
        views_fn: ``(batch, generator) -> views``; draw all randomness from ``generator``, which is
            seeded from ``(seed, global_step, rank)``. Default: the batch already holds the views.
        loss_kwargs: ``batch -> dict`` of extra keyword arguments for ``loss_fn`` (e.g. labels).
        temperature: softmax temperature passed as ``temperature=``; ``None`` passes none.
        learnable_temperature: learn ``log(temperature)``, initialised at ``temperature``.
        lr: peak learning rate.
        weight_decay: AdamW weight decay (the temperature is not decayed).
        warmup_fraction: fraction of the total optimizer steps spent in linear warm-up, in [0, 1).
        min_lr_factor: final learning rate as a fraction of ``lr``.
        total_steps: schedule length; default: the trainer's estimate of its optimizer steps.
        seed: seed of the per-step view generators.
        local_negatives: under data-parallel training, keep each process's negatives local.
            By default a ``loss_fn`` that takes ``gather=`` (the ``cl_core.losses`` in-batch
            losses) gets ``gather=True`` whenever more than one process trains, so the processes
            contrast one global batch (:func:`~cl_core.training.gather_negatives`).

    Shapes:
        each view ``(N, ...)`` -> each embedding ``(N, D)``.

    Example:
        >>> enc = nn.Linear(8, 4)
        >>> def loss(a, b, temperature):
        ...     return ((a - b) ** 2).mean() / temperature
        >>> module = ContrastiveModule(enc, loss, temperature=0.5, learnable_temperature=True)
        >>> module.embed(torch.randn(3, 8)).shape
        torch.Size([3, 4])
    """

    def __init__(
        self,
        encoder: nn.Module,
        loss_fn: Callable[..., Tensor],
        *,
        head: nn.Module | None = None,
        views_fn: ViewsFn | None = None,
        loss_kwargs: LossKwargsFn | None = None,
        temperature: float | None = None,
        learnable_temperature: bool = False,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_fraction: float = 0.1,
        min_lr_factor: float = 0.0,
        total_steps: int | None = None,
        seed: int = 0,
        local_negatives: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if not 0.0 <= warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction}")
        if total_steps is not None and total_steps < 1:
            raise ValueError(f"total_steps must be >= 1 or None, got {total_steps}")
        if learnable_temperature and temperature is None:
            raise ValueError("learnable_temperature=True needs an initial temperature, got None")
        if temperature is not None and temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.encoder = encoder
        self.head = head if head is not None else nn.Identity()
        self.loss_fn = loss_fn
        self.views_fn = views_fn
        self.loss_kwargs_fn = loss_kwargs
        self.learnable_temperature = (
            LearnableTemperature(temperature) if learnable_temperature else None
        )
        self.fixed_temperature = None if learnable_temperature else temperature
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_fraction = warmup_fraction
        self.min_lr_factor = min_lr_factor
        self.total_steps = total_steps
        self.seed = seed
        self.local_negatives = local_negatives
        self._loss_takes_gather = _accepts_keyword(loss_fn, "gather")

    def temperature(self) -> Tensor | float | None:
        """The temperature given to the loss (a tensor when learnable)."""
        if self.learnable_temperature is not None:
            return self.learnable_temperature()
        return self.fixed_temperature

    def step_generator(self) -> torch.Generator:
        """A generator seeded from ``(seed, global_step, rank)``: identical after a resume."""
        return step_generator(self.seed, self.global_step, self.global_rank)

    def make_views(self, batch: Any, generator: torch.Generator) -> Sequence[Tensor]:
        """Views of a batch; override, or pass ``views_fn``."""
        if self.views_fn is not None:
            return self.views_fn(batch, generator)
        return default_views(batch)

    def embed(self, view: Tensor) -> Tensor:
        """``head(encoder(view))``."""
        return self.head(self.encoder(view))

    def embed_views(self, views: Sequence[Any]) -> list[Tensor]:
        """One embedding tensor per view: :meth:`embed` on each. Subclasses may run all views
        through the encoder in one call where that gives the same embeddings faster."""
        return [self.embed(view) for view in views]

    @torch.no_grad()
    def encode(self, inputs: Tensor, batch_size: int = 1024) -> Tensor:
        """Frozen encoder features (before the head, as evaluated in SimCLR), in eval mode."""
        was_training = self.training
        self.eval()
        try:
            chunks = [
                self.encoder(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(chunks)

    def compute_loss(self, embeddings: Sequence[Tensor], batch: Any) -> Tensor:
        """``loss_fn(*embeddings, **loss_kwargs(batch), temperature=...)``."""
        kwargs = dict(self.loss_kwargs_fn(batch)) if self.loss_kwargs_fn is not None else {}
        temperature = self.temperature()
        if temperature is not None:
            kwargs["temperature"] = temperature
        if self._loss_takes_gather and "gather" not in kwargs:
            trainer = self._trainer  # None outside a fit (the property would raise)
            local = self.local_negatives or trainer_wants_local_negatives(trainer)
            kwargs["gather"] = gather_negatives(local)
        return self.loss_fn(*embeddings, **kwargs)

    def training_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
        views = self.make_views(batch, self.step_generator())
        embeddings = self.embed_views(views)
        loss = self.compute_loss(embeddings, batch)
        batch_size = int(embeddings[0].shape[0])
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        temperature = self.temperature()
        if isinstance(temperature, Tensor):
            self.log("train/temperature", temperature.detach(), batch_size=batch_size)
        return {"loss": loss, "embeddings": tuple(e.detach() for e in embeddings)}

    def _schedule_length(self) -> int:
        if self.total_steps is not None:
            return self.total_steps
        return max(1, int(self.trainer.estimated_stepping_batches))

    def param_groups(self) -> list[dict[str, Any]]:
        """The optimizer's parameter groups: the model, and a learnable temperature without weight
        decay. Subclasses override this to give parts of the model their own settings."""
        temperature_params = (
            list(self.learnable_temperature.parameters()) if self.learnable_temperature else []
        )
        temperature_ids = {id(p) for p in temperature_params}
        model_params = [p for p in self.parameters() if id(p) not in temperature_ids]
        groups: list[dict[str, Any]] = [{"params": model_params}]
        if temperature_params:
            groups.append({"params": temperature_params, "weight_decay": 0.0})
        return groups

    def configure_optimizers(self) -> dict[str, Any]:
        groups = self.param_groups()
        optimizer = torch.optim.AdamW(
            groups, lr=self.lr, weight_decay=self.weight_decay, fused=fused_adamw_supported(groups)
        )
        total = self._schedule_length()
        scheduler = warmup_cosine_schedule(
            optimizer,
            warmup_steps=int(self.warmup_fraction * total),
            total_steps=total,
            min_factor=self.min_lr_factor,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lightning does not store the global RNG; dropout and similar layers draw from it.
        checkpoint[_RNG_STATE_KEY] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if _RNG_STATE_KEY in checkpoint:
            torch.set_rng_state(checkpoint[_RNG_STATE_KEY])
