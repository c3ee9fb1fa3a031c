"""N gloo processes give the same loss and gradients as one process holding the whole batch.

One spawn of world size 2 (equal local batches, ``reduction="mean"``) and one of world size 3
(unequal local batches, ``reduction="sum"``) each check every loss that gathers. Every rank
builds the same global batch from a shared seed, computes the single-process reference itself,
then the distributed loss on its own slice, and asserts:

* mean: the per-rank losses average to the global loss and each rank's input gradient is
  ``world_size`` times its slice of the single-process gradient (DDP's averaging removes the
  factor, see ``cl_core.distributed``);
* sum: the per-rank losses sum to the global loss and the gradients equal the slices exactly.

The spawns check both the helpers composed by hand and the public losses called with
``gather=True``. Single-process tests below check that ``gather=True`` is a no-op without a
process group and that CLIP's fused tiled path matches its dense path.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cl_core.distributed import (
    all_reduce_with_grad,
    gather_no_grad,
    gather_with_grad,
    gathered_multiview,
    gathered_pair,
    gathered_sizes,
    gathered_views,
    rank_offset,
)
from cl_core.losses import clip_loss, dcl, info_nce, masked_logits_loss, nt_xent, supcon
from cl_core.losses._reduction import reduce_losses
from cl_core.losses.clip import CLIPLoss
from cl_core.losses.decoupled import DCLLoss, DCLWLoss
from cl_core.losses.info_nce import InfoNCELoss
from cl_core.losses.nt_xent import NTXentLoss
from cl_core.losses.supcon import SupConLoss

TEMPERATURE = 0.3
DIM = 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_processes_with_equal_batches_match_one_process():
    port = free_port()
    mp.spawn(check_every_loss, args=(2, port, [3, 3], "mean"), nprocs=2, join=True)


def test_three_processes_with_unequal_batches_match_one_process():
    port = free_port()
    mp.spawn(check_every_loss, args=(3, port, [2, 4, 3], "sum"), nprocs=3, join=True)


def check_every_loss(rank: int, world: int, port: int, sizes: list[int], reduction: str) -> None:
    """Worker: initialise gloo, run every check, tear down."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        check_helpers(rank, sizes)
        for check in (
            check_nt_xent,
            check_info_nce,
            check_clip,
            check_supcon,
            check_dcl,
            check_nt_xent_gather_flag,
            check_info_nce_gather_flag,
            check_clip_gather_flag,
            check_supcon_gather_flag,
            check_dcl_gather_flag,
            check_dclw_gather_flag,
        ):
            check(rank, world, sizes, reduction)
    finally:
        dist.destroy_process_group()


def local_slice(tensor: torch.Tensor, rank: int, sizes: list[int]) -> torch.Tensor:
    start = sum(sizes[:rank])
    return tensor[start : start + sizes[rank]]


def global_tensor(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def compare(
    rank: int,
    world: int,
    sizes: list[int],
    reduction: str,
    global_inputs: list[torch.Tensor],
    single_process: Callable[..., torch.Tensor],
    distributed: Callable[..., torch.Tensor],
) -> None:
    """Assert loss and per-rank gradients of ``distributed`` against ``single_process``."""
    full = [tensor.clone().requires_grad_() for tensor in global_inputs]
    expected = single_process(*full)
    expected_grads = torch.autograd.grad(expected, full)

    local = [local_slice(tensor, rank, sizes).clone().requires_grad_() for tensor in global_inputs]
    loss = distributed(*local)
    grads = torch.autograd.grad(loss, local)

    combined = loss.detach().clone()
    dist.all_reduce(combined)
    if reduction == "mean":
        combined /= world
    torch.testing.assert_close(combined, expected.detach())
    factor = world if reduction == "mean" else 1
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(grad, factor * local_slice(expected_grad, rank, sizes))


def check_helpers(rank: int, sizes: list[int]) -> None:
    assert gathered_sizes(sizes[rank]) == sizes
    assert rank_offset(sizes[rank]) == sum(sizes[:rank])
    full = global_tensor(0, sum(sizes), DIM)
    torch.testing.assert_close(gather_no_grad(local_slice(full, rank, sizes)), full)
    local = local_slice(full, rank, sizes).clone().requires_grad_()
    gathered = gather_with_grad(local)
    weights = global_tensor(1, sum(sizes), DIM)
    # Every rank's loss is <weights, gathered> * (rank + 1): the summed objective's gradient
    # for this rank's rows is weights * sum_r (r + 1).
    ((gathered * weights).sum() * (rank + 1)).backward()
    world = len(sizes)
    torch.testing.assert_close(
        local.grad, local_slice(weights, rank, sizes) * (world * (world + 1) / 2)
    )
    statistic = torch.full((2,), float(rank + 1), dtype=torch.float64, requires_grad=True)
    summed = all_reduce_with_grad(statistic)
    expected_sum = torch.full((2,), world * (world + 1) / 2.0, dtype=torch.float64)
    torch.testing.assert_close(summed.detach(), expected_sum)
    (summed.sum() * 2.0).backward()
    torch.testing.assert_close(statistic.grad, torch.full((2,), 2.0 * world, dtype=torch.float64))


def check_nt_xent(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        return nt_xent(z1, z2, TEMPERATURE, normalize=False, reduction=reduction)

    def distributed(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        anchors, candidates, positive, exclude = gathered_views(z1, z2)
        return masked_logits_loss(
            anchors,
            candidates,
            temperature=TEMPERATURE,
            positive_index=positive,
            exclude_index=exclude,
            reduction=reduction,
            chunk_size=4,
        )

    total = sum(sizes)
    inputs = [global_tensor(10, total, DIM), global_tensor(11, total, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_info_nce(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(query, positive, negatives, hard):
        shared = info_nce(
            query, positive, negatives, TEMPERATURE, normalize=False, reduction="none"
        )
        per_query = info_nce(query, positive, hard, TEMPERATURE, normalize=False, reduction="none")
        return reduce_losses(shared + per_query, reduction)

    def distributed(query, positive, negatives, hard):
        candidates, index = gathered_pair(query, positive)
        explicit = (gather_with_grad(negatives), gather_with_grad(hard).flatten(0, 1))
        losses = [
            masked_logits_loss(
                query,
                torch.cat((candidates, extra)),
                temperature=TEMPERATURE,
                positive_index=index,
                reduction="none",
            )
            for extra in explicit
        ]
        return reduce_losses(losses[0] + losses[1], reduction)

    total = sum(sizes)
    inputs = [
        global_tensor(20, total, DIM),
        global_tensor(21, total, DIM),
        global_tensor(22, total, DIM),
        global_tensor(23, total, 2, DIM),
    ]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_clip(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(image, text):
        return clip_loss(image, text, 1 / TEMPERATURE, normalize=False, reduction=reduction)

    def distributed(image, text):
        directions = []
        for anchors, candidates in ((image, text), (text, image)):
            all_candidates, index = gathered_pair(anchors, candidates)
            directions.append(
                masked_logits_loss(
                    anchors,
                    all_candidates,
                    temperature=TEMPERATURE,
                    positive_index=index,
                    reduction="none",
                    chunk_size=3,
                )
            )
        return reduce_losses(0.5 * (directions[0] + directions[1]), reduction)

    total = sum(sizes)
    inputs = [global_tensor(30, total, DIM), global_tensor(31, total, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_supcon(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    total = sum(sizes)
    labels = torch.arange(total) % 3

    def single_process(features):
        return supcon(features, labels, TEMPERATURE, normalize=False, reduction=reduction)

    def distributed(features):
        anchors, candidates, anchor_labels, candidate_labels, exclude = gathered_multiview(
            features, local_slice(labels, rank, sizes)
        )
        return masked_logits_loss(
            anchors,
            candidates,
            temperature=TEMPERATURE,
            anchor_labels=anchor_labels,
            candidate_labels=candidate_labels,
            exclude_index=exclude,
            reduction=reduction,
        )

    inputs = [global_tensor(40, total, 3, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_dcl(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(z1, z2):
        return dcl(z1, z2, TEMPERATURE, normalize=False, reduction=reduction)

    def distributed(z1, z2):
        anchors, candidates, positive, exclude = gathered_views(z1, z2)
        per_row = masked_logits_loss(
            anchors,
            candidates,
            temperature=TEMPERATURE,
            positive_index=positive,
            exclude_index=exclude,
            positives_in_denominator="none",
            reduction="none",
        )
        local = z1.shape[0]
        return reduce_losses(per_row[:local] + per_row[local:], reduction)

    total = sum(sizes)
    inputs = [global_tensor(50, total, DIM), global_tensor(51, total, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_nt_xent_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    total = sum(sizes)
    inputs = [global_tensor(60, total, DIM), global_tensor(61, total, DIM)]
    for chunk_size in (None, 4):

        def single_process(z1, z2):
            return nt_xent(z1, z2, TEMPERATURE, reduction=reduction)

        def distributed(z1, z2, chunk_size=chunk_size):
            return nt_xent(
                z1, z2, TEMPERATURE, reduction=reduction, chunk_size=chunk_size, gather=True
            )

        compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_info_nce_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(query, positive, negatives, hard):
        plain = info_nce(query, positive, None, TEMPERATURE, reduction="none")
        shared = info_nce(query, positive, negatives, TEMPERATURE, reduction="none")
        per_query = info_nce(query, positive, hard, TEMPERATURE, reduction="none")
        return reduce_losses(plain + shared + per_query, reduction)

    def distributed(query, positive, negatives, hard):
        criterion = InfoNCELoss(TEMPERATURE, reduction="none", gather=True)
        losses = [criterion(query, positive, extra) for extra in (None, negatives, hard)]
        return reduce_losses(losses[0] + losses[1] + losses[2], reduction)

    total = sum(sizes)
    inputs = [
        global_tensor(70, total, DIM),
        global_tensor(71, total, DIM),
        global_tensor(72, total, DIM),
        global_tensor(73, total, 2, DIM),
    ]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_clip_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    total = sum(sizes)
    inputs = [global_tensor(80, total, DIM), global_tensor(81, total, DIM)]
    for label_smoothing, chunk_size in ((0.0, None), (0.0, 2), (0.1, None)):

        def single_process(image, text, label_smoothing=label_smoothing):
            return clip_loss(
                image, text, 1 / TEMPERATURE, label_smoothing=label_smoothing, reduction=reduction
            )

        def distributed(image, text, label_smoothing=label_smoothing, chunk_size=chunk_size):
            return clip_loss(
                image,
                text,
                1 / TEMPERATURE,
                label_smoothing=label_smoothing,
                reduction=reduction,
                chunk_size=chunk_size,
                gather=True,
            )

        compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_supcon_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    total = sum(sizes)
    labels = torch.arange(total) % 2
    inputs = [global_tensor(90, total, 3, DIM)]
    for global_labels in (labels, None):
        local_labels = None if global_labels is None else local_slice(global_labels, rank, sizes)

        def single_process(features, global_labels=global_labels):
            return supcon(
                features, global_labels, TEMPERATURE, normalize=False, reduction=reduction
            )

        def distributed(features, local_labels=local_labels):
            criterion = SupConLoss(TEMPERATURE, normalize=False, reduction=reduction, gather=True)
            return criterion(features, local_labels)

        compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_dcl_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(z1, z2):
        return dcl(z1, z2, TEMPERATURE, reduction=reduction)

    def distributed(z1, z2):
        return DCLLoss(TEMPERATURE, reduction=reduction, gather=True)(z1, z2)

    total = sum(sizes)
    inputs = [global_tensor(100, total, DIM), global_tensor(101, total, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


def check_dclw_gather_flag(rank: int, world: int, sizes: list[int], reduction: str) -> None:
    def single_process(z1, z2):
        return dcl(z1, z2, TEMPERATURE, weighted=True, sigma=0.5, reduction=reduction)

    def distributed(z1, z2):
        return DCLWLoss(TEMPERATURE, sigma=0.5, reduction=reduction, gather=True)(z1, z2)

    total = sum(sizes)
    inputs = [global_tensor(110, total, DIM), global_tensor(111, total, DIM)]
    compare(rank, world, sizes, reduction, inputs, single_process, distributed)


GATHER_FLAG_CASES = {
    "nt_xent": (lambda a, b, **kw: NTXentLoss(TEMPERATURE, **kw)(a, b), 2),
    "info_nce": (lambda a, b, **kw: InfoNCELoss(TEMPERATURE, **kw)(a, b), 2),
    "clip_loss": (lambda a, b, **kw: CLIPLoss(**kw)(a, b), 2),
    "supcon": (lambda f, **kw: SupConLoss(TEMPERATURE, **kw)(f), 1),
    "dcl": (lambda a, b, **kw: DCLLoss(TEMPERATURE, **kw)(a, b), 2),
    "dclw": (lambda a, b, **kw: DCLWLoss(TEMPERATURE, **kw)(a, b), 2),
}


@pytest.mark.parametrize("name", sorted(GATHER_FLAG_CASES))
def test_gather_without_process_group_equals_local_loss(name):
    loss_fn, num_inputs = GATHER_FLAG_CASES[name]
    if name == "supcon":
        inputs = [global_tensor(120, 5, 3, DIM)]
    else:
        inputs = [global_tensor(120 + i, 5, DIM) for i in range(num_inputs)]
    results = []
    for gather in (False, True):
        leaves = [tensor.clone().requires_grad_() for tensor in inputs]
        loss = loss_fn(*leaves, gather=gather)
        results.append((loss, torch.autograd.grad(loss, leaves)))
    (local_loss, local_grads), (gathered_loss, gathered_grads) = results
    torch.testing.assert_close(gathered_loss, local_loss)
    for gathered_grad, local_grad in zip(gathered_grads, local_grads, strict=True):
        torch.testing.assert_close(gathered_grad, local_grad)


def test_info_nce_rejects_hard_negative_weight_with_gather():
    query, positive = global_tensor(130, 4, DIM), global_tensor(131, 4, DIM)
    hard = global_tensor(132, 4, 2, DIM)
    with pytest.raises(ValueError, match="hard_negative_weight"):
        info_nce(query, positive, hard, hard_negative_weight=0.5, gather=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("chunk_size", [1, 3, 7])
def test_clip_loss_with_chunk_size_equals_dense_clip_loss(chunk_size, reduction):
    image, text = global_tensor(140, 7, DIM), global_tensor(141, 7, DIM)
    results = []
    for chunk in (None, chunk_size):
        leaves = [image.clone().requires_grad_(), text.clone().requires_grad_()]
        log_scale = torch.tensor(1.2, dtype=torch.float64, requires_grad=True)
        loss = clip_loss(*leaves, log_scale.exp(), reduction=reduction, chunk_size=chunk)
        results.append((loss, torch.autograd.grad(loss.sum(), [*leaves, log_scale])))
    (dense_loss, dense_grads), (tiled_loss, tiled_grads) = results
    torch.testing.assert_close(tiled_loss, dense_loss)
    for tiled_grad, dense_grad in zip(tiled_grads, dense_grads, strict=True):
        torch.testing.assert_close(tiled_grad, dense_grad)
