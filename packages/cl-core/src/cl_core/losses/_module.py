"""The options every in-batch InfoNCE-family module holds, validated and stored once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from torch import nn

from cl_core.losses._reduction import Reduction
from cl_core.validation import check_chunk_size, check_reduction, check_temperature

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


class BatchLossModule(nn.Module):
    """Base of the thin ``nn.Module`` wrappers of ``nt_xent``, ``info_nce``, ``supcon`` and ``dcl``.

    It checks and keeps the temperature and the options those functions share; a subclass sets
    :attr:`default_temperature` (used when ``temperature`` is None), adds its own
    hyper-parameters and passes :meth:`loss_options` on to its function.

    Args:
        temperature: :math:`\tau > 0`; None means the class's ``default_temperature``.
        normalize: L2-normalise embeddings first (cosine similarity).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over anchors.
        chunk_size: score candidates in blocks of this many (the tiled engine), or None.
        gather: score local anchors against the candidates of every rank.
        group: process group of the gather (None: the default group).
    """

    default_temperature: ClassVar[float]

    def __init__(
        self,
        temperature: float | None = None,
        *,
        normalize: bool = True,
        reduction: Reduction = "mean",
        chunk_size: int | None = None,
        gather: bool = False,
        group: ProcessGroup | None = None,
    ) -> None:
        super().__init__()
        if temperature is None:
            temperature = self.default_temperature
        check_temperature(temperature)
        check_reduction(reduction)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.normalize = normalize
        self.reduction = reduction
        self.chunk_size = chunk_size
        self.gather = gather
        self.group = group

    def loss_options(self) -> dict[str, Any]:
        """The shared keyword options, to pass on to the loss function."""
        return {
            "normalize": self.normalize,
            "reduction": self.reduction,
            "chunk_size": self.chunk_size,
            "gather": self.gather,
            "group": self.group,
        }
