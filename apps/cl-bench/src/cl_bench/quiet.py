"""Quiet benchmark output: the training libraries' info lines, warnings and progress bars hidden.

``cl-bench`` prints one progress line per row; without ``--verbose`` nothing else should reach the
terminal. Everything here is scoped to the run (:func:`quiet_output` restores what it changed), so
the libraries themselves keep their defaults for every other caller.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Loggers of Lightning's per-fit info lines (devices, tips, "Seed set", "`Trainer.fit` stopped",
#: the model-summary table). Lightning resets the level of ``lightning.pytorch`` itself when it is
#: imported, so the levels are set on the loggers that emit those lines, which it leaves alone.
LIGHTNING_INFO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning.pytorch.accelerators.cuda",
    "lightning.pytorch.callbacks.model_summary",
    "lightning.fabric.utilities.seed",
)

#: Read by huggingface_hub and transformers when they are imported (the rows import them after
#: this is set): no "Writing model shards" / download bars, only transformers' errors.
QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}

#: Third-party packages whose warnings a benchmark reader cannot act on (a warning is attributed
#: to the module that raised it); this project's own packages (``cl_*``) still warn.
LIBRARY_MODULES = (
    r"(lightning|lightning_fabric|pytorch_lightning|torch|torchvision|torchaudio|transformers"
    r"|sentence_transformers|huggingface_hub|torch_geometric|sklearn|scipy)(\.|$)"
)

#: torch deprecates ``isinstance(spec, LeafSpec)``, which Lightning 2.6's pytree helper calls on
#: every batch.
LEAFSPEC_MESSAGE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


@contextmanager
def quiet_output(verbose: bool) -> Iterator[None]:
    """Within the block, hide library warnings, Lightning's info lines and Hugging Face progress
    bars, unless ``verbose``; on exit restore the warning filters, logger levels and environment
    variables it changed (an environment variable the user set is left as it is)."""
    if verbose:
        yield
        return
    loggers = {name: logging.getLogger(name) for name in LIGHTNING_INFO_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    added = [name for name in QUIET_ENVIRONMENT if name not in os.environ]
    try:
        for logger in loggers.values():
            logger.setLevel(logging.WARNING)
        for name in added:
            os.environ[name] = QUIET_ENVIRONMENT[name]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=LEAFSPEC_MESSAGE, category=FutureWarning)
            warnings.filterwarnings("ignore", module=LIBRARY_MODULES)
            yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])
        for name in added:
            os.environ.pop(name, None)
