"""Lightning training for every modality: contrastive module, trainer factory, callbacks, resume.

Importing this package imports Lightning (~20 s); import it only on paths that train.

Example (``encoder``, ``head``, ``views`` and ``dataset`` are yours)::

    from cl_core.losses import nt_xent
    from cl_core.training import (
        ContrastiveModule, checkpoint_dir, make_trainer, resolve_resume, resumable_loader,
    )

    module = ContrastiveModule(encoder, nt_xent, head=head, views_fn=views, temperature=0.5)
    trainer = make_trainer("runs/x", max_epochs=10, checkpoint_every_n_steps=100)
    loader = resumable_loader(dataset, batch_size=256, seed=0)
    trainer.fit(module, loader, ckpt_path=resolve_resume("last", checkpoint_dir("runs/x")))
"""

from cl_core.io import atomic_torch_save
from cl_core.training.callbacks import EmbeddingDiagnostics, SpectrumAndProjectionPlot
from cl_core.training.callbacks.diagnostics import embedding_diagnostics
from cl_core.training.callbacks.spectrum_plot import save_spectrum_and_projection
from cl_core.training.checkpoint import AtomicCheckpointIO, BackgroundCheckpointIO
from cl_core.training.engine import (
    FitResult,
    ObjectiveModule,
    check_engine,
    fit_objective,
    gather_negatives,
    index_loader,
    quiet_lightning,
)
from cl_core.training.module import ContrastiveModule, default_views
from cl_core.training.randomness import step_generator
from cl_core.training.resume import TrackSamplerProgress, resolve_resume
from cl_core.training.sampler import ResumableDataLoader, ResumableSampler, resumable_loader
from cl_core.training.schedule import warmup_cosine_factor, warmup_cosine_schedule
from cl_core.training.temperature import LearnableTemperature
from cl_core.training.trainer import checkpoint_dir, make_trainer, tensorboard_available

__all__ = [
    "AtomicCheckpointIO",
    "BackgroundCheckpointIO",
    "ContrastiveModule",
    "EmbeddingDiagnostics",
    "FitResult",
    "LearnableTemperature",
    "ObjectiveModule",
    "ResumableDataLoader",
    "ResumableSampler",
    "SpectrumAndProjectionPlot",
    "TrackSamplerProgress",
    "atomic_torch_save",
    "check_engine",
    "checkpoint_dir",
    "default_views",
    "embedding_diagnostics",
    "fit_objective",
    "gather_negatives",
    "index_loader",
    "make_trainer",
    "quiet_lightning",
    "resolve_resume",
    "resumable_loader",
    "save_spectrum_and_projection",
    "step_generator",
    "tensorboard_available",
    "warmup_cosine_factor",
    "warmup_cosine_schedule",
]
