"""BatchNorm statistics over every process for CPU (gloo) data parallelism.

``torch.nn.SyncBatchNorm`` (what ``Trainer(sync_batchnorm=True)`` converts BatchNorm layers into)
works on GPUs only: on the CPU, DDP refuses it ("SyncBatchNorm layers only work with GPU
modules"). :func:`convert_cpu_sync_batchnorm` replaces every BatchNorm layer by
:class:`CpuSyncBatchNorm`, which in training mode under ``torch.distributed`` normalises with the
mean and variance of the global batch, all-reduced with autograd
(:func:`cl_core.distributed.all_reduce_with_grad`), so W processes at batch b train as one process
at batch W * b. Lightning's own conversion then finds no BatchNorm layer left. Parameters and
buffers keep their names, so state dicts load into the original model.

Forward (training): with :math:`S_1 = \\sum x`, :math:`n` the global count per channel,
:math:`\\mu = S_1 / n`, :math:`\\sigma^2 = \\sum (x - \\mu)^2 / n` (both sums over all processes),
:math:`y = \\gamma (x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon} + \\beta`; the running variance takes
the unbiased :math:`\\sigma^2 n / (n - 1)`, as in ``torch.nn.BatchNorm``. Outside training, or with
one process, it is ``torch.nn.functional.batch_norm``.

Ioffe & Szegedy, "Batch Normalization", ICML 2015, arXiv:1502.03167.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from cl_core.distributed import all_reduce_with_grad, world_size


class CpuSyncBatchNorm(nn.Module):
    """A BatchNorm layer whose training statistics cover the batches of every process.

    Build it with :func:`convert_cpu_sync_batchnorm` (it takes over the layer's parameters and
    buffers).

    Args:
        layer: the ``torch.nn.BatchNorm1d/2d/3d`` layer to replace.
    """

    def __init__(self, layer: _BatchNorm) -> None:
        super().__init__()
        if not isinstance(layer, _BatchNorm):
            raise TypeError(f"layer must be a torch BatchNorm layer, got {type(layer).__name__}")
        self.num_features = layer.num_features
        self.eps = layer.eps
        self.momentum = layer.momentum
        self.affine = layer.affine
        self.track_running_stats = layer.track_running_stats
        self.weight = layer.weight
        self.bias = layer.bias
        self.register_buffer("running_mean", layer.running_mean)
        self.register_buffer("running_var", layer.running_var)
        self.register_buffer("num_batches_tracked", layer.num_batches_tracked)
        self.train(layer.training)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"x must have shape (N, {self.num_features}, ...), got {tuple(x.shape)}"
            )
        use_batch = self.training or self.running_mean is None
        if not use_batch or world_size() == 1:
            return self._local(x)
        # Statistics in float64, as torch's CPU BatchNorm accumulates them: a large mean and a
        # small variance would otherwise lose digits.
        wide = x.double()
        dims = [0, *range(2, x.ndim)]
        local_count = torch.tensor(float(x.numel() // x.shape[1]), device=x.device)
        count = all_reduce_with_grad(local_count.double())
        mean = all_reduce_with_grad(wide.sum(dims)) / count
        shape = [1, -1] + [1] * (x.ndim - 2)
        centered = wide - mean.view(shape)
        var = all_reduce_with_grad((centered * centered).sum(dims)) / count
        if self.training and self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else self.momentum
                )
                unbiased = var * count / (count - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        out = (centered * torch.rsqrt(var + self.eps).view(shape)).to(x.dtype)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    def _local(self, x: Tensor) -> Tensor:
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(
            x,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight,
            self.bias,
            self.training or self.running_mean is None,
            momentum,
            self.eps,
        )


def convert_cpu_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace, in place, every BatchNorm layer of ``module`` by :class:`CpuSyncBatchNorm`.

    Returns:
        ``module`` (or the replacement, when ``module`` itself is a BatchNorm layer).

    Example:
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        >>> type(convert_cpu_sync_batchnorm(model)[1]).__name__
        'CpuSyncBatchNorm'
    """
    if isinstance(module, _BatchNorm):
        return CpuSyncBatchNorm(module)
    for name, child in module.named_children():
        converted = convert_cpu_sync_batchnorm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module
