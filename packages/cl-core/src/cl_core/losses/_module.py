"""The options every in-batch InfoNCE-family module holds, validated and stored once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import nn

from cl_core.losses._reduction import Reduction
from cl_core.validation import check_chunk_size, check_reduction, check_temperature

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup


class BatchLossModule(nn.Module):
    """Base of the thin ``nn.Module`` wrappers of ``nt_xent``, ``info_nce``, ``supcon`` and ``dcl``.

    It checks and keeps the temperature and the options those functions share; a subclass adds its
    own hyper-parameters and passes :meth:`loss_options` on to its function.
    """

    def __init__(
        self,
        temperature: float,
        *,
        normalize: bool,
        reduction: Reduction,
        chunk_size: int | None,
        gather: bool,
        group: ProcessGroup | None,
    ) -> None:
        super().__init__()
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
