"""The generic engine: fit_objective equals a hand-written loop; options are checked in one line."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.cli import (
    UserFacingError,
    add_common_args,
    engine_options,
    refuse_engine_options,
    trainer_options,
)
from cl_core.engine_options import DEFAULT_ENGINE, EngineOptions
from cl_core.training import (
    ContrastiveModule,
    check_engine,
    fit_objective,
    gather_negatives,
    index_loader,
    resumable_loader,
)

CPU = EngineOptions(accelerator="cpu", devices=1)


def regression_data() -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(24, 4, generator=generator)
    return TensorDataset(x, x @ torch.randn(4, 1, generator=generator))


def squared_error(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def test_fit_objective_takes_the_same_steps_as_a_hand_written_adamw_loop() -> None:
    data = regression_data()
    torch.manual_seed(1)
    reference = nn.Linear(4, 1)
    model = nn.Linear(4, 1)
    model.load_state_dict(reference.state_dict())
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.05, weight_decay=0.01)
    losses = []
    for _ in range(3):
        epoch = []
        for start in range(0, 24, 6):
            loss = squared_error(reference, data[start : start + 6])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch.append(loss.item())
        losses.append(sum(epoch) / len(epoch))

    result = fit_objective(
        model,
        squared_error,
        resumable_loader(data, 6, shuffle=False),
        epochs=3,
        lr=0.05,
        weight_decay=0.01,
        engine=CPU,
    )
    assert result.steps == 12
    torch.testing.assert_close(model.weight, reference.weight, rtol=0, atol=1e-6)
    torch.testing.assert_close(model.bias, reference.bias, rtol=0, atol=1e-6)
    assert result.epoch_losses == pytest.approx(losses, abs=1e-6)
    assert not model.training


def test_fit_objective_clips_gradients_and_follows_the_cosine_schedule() -> None:
    data = regression_data()
    torch.manual_seed(2)
    reference = nn.Linear(4, 1)
    model = nn.Linear(4, 1)
    model.load_state_dict(reference.state_dict())
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    total = 4
    for step in range(total):
        for group in optimizer.param_groups:
            group["lr"] = 0.1 * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * step / total)).item())
        loss = squared_error(reference, data[step * 6 : (step + 1) * 6])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        optimizer.step()
    fit_objective(
        model,
        squared_error,
        resumable_loader(data, 6, shuffle=False),
        epochs=1,
        lr=0.1,
        optimizer=lambda groups: torch.optim.SGD(groups, lr=0.1),
        schedule="cosine",
        gradient_clip_val=0.5,
        engine=CPU,
    )
    torch.testing.assert_close(model.weight, reference.weight, rtol=0, atol=1e-6)


def test_fit_objective_runs_in_bf16_mixed_precision_on_the_cpu() -> None:
    model = nn.Linear(4, 1)
    before = model.weight.detach().clone()
    result = fit_objective(
        model,
        squared_error,
        resumable_loader(regression_data(), 8),
        epochs=1,
        engine=CPU.with_changes(precision="bf16-mixed"),
    )
    assert result.steps == 3
    assert model.weight.dtype == torch.float32
    assert not torch.equal(model.weight, before)


def test_fit_objective_rejects_an_objective_that_is_not_a_scalar() -> None:
    with pytest.raises(TypeError, match="scalar"):
        fit_objective(
            nn.Linear(4, 1),
            lambda model, batch: model(batch[0]),
            resumable_loader(regression_data(), 8),
            epochs=1,
            engine=CPU,
        )


def test_fit_objective_needs_epochs_or_max_steps() -> None:
    with pytest.raises(ValueError, match="epochs or max_steps"):
        fit_objective(nn.Linear(4, 1), squared_error, [], engine=CPU)


def test_index_loader_yields_every_row_once_per_epoch_in_full_batches() -> None:
    batches = list(index_loader(10, 3, seed=4))
    assert all(len(b) == 3 for b in batches) and len(batches) == 3
    assert len(torch.cat(batches).unique()) == 9
    assert [len(b) for b in index_loader(2, 5)] == [2]
    with pytest.raises(ValueError, match="num_samples"):
        index_loader(0, 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the GPU-less error")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (EngineOptions(accelerator="gpu"), "--accelerator gpu: no CUDA GPU is visible"),
        (EngineOptions(accelerator="cpu", precision="16-mixed"), "needs a CUDA GPU"),
    ],
)
def test_check_engine_refuses_what_this_machine_cannot_run_in_one_line(
    options: EngineOptions, message: str
) -> None:
    with pytest.raises(UserFacingError, match=message) as error:
        check_engine(options)
    assert "\n" not in str(error.value)


def test_engine_options_reject_unknown_precision_and_bad_counts() -> None:
    with pytest.raises(ValueError, match="precision"):
        EngineOptions(precision="fp8")
    with pytest.raises(ValueError, match="num_nodes"):
        EngineOptions(num_nodes=0)
    assert EngineOptions(devices=4, num_nodes=2).world_size_hint() == 8


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_common_args(parser, epochs=3, batch_size=None, lr=None)
    return parser.parse_args(list(argv))


def test_the_engine_options_parse_into_engine_options_and_trainer_arguments() -> None:
    args = parsed("--precision", "bf16-mixed", "--local-negatives", "--devices", "2")
    options = engine_options(args)
    assert options.precision == "bf16-mixed" and options.local_negatives and options.devices == 2
    assert trainer_options(args)["precision"] == "bf16-mixed"
    assert trainer_options(args)["local_negatives"] is True
    assert not hasattr(args, "batch_size") and not hasattr(args, "lr")
    assert engine_options(parsed()) == DEFAULT_ENGINE


def test_refuse_engine_options_names_the_option_and_the_reason_in_one_line() -> None:
    refuse_engine_options(parsed("--devices", "1"), "one process", "devices")
    with pytest.raises(UserFacingError, match=r"^--devices 2 is not supported here: one graph$"):
        refuse_engine_options(parsed("--devices", "2"), "one graph", "devices", "strategy")
    with pytest.raises(UserFacingError, match=r"^--local-negatives is not supported here: x$"):
        refuse_engine_options(parsed("--local-negatives"), "x", "local_negatives")


def test_gather_is_off_in_one_process_and_passed_only_to_losses_that_take_it() -> None:
    assert gather_negatives() is False and gather_negatives(True) is False
    seen: dict[str, object] = {}

    def loss_with_gather(a, b, temperature, gather=False):
        seen["gather"] = gather
        return (a - b).pow(2).mean()

    def loss_without(a, b, temperature):
        return (a - b).pow(2).mean()

    views = [torch.randn(3, 4), torch.randn(3, 4)]
    ContrastiveModule(nn.Linear(4, 2), loss_with_gather, temperature=0.5).compute_loss(views, None)
    assert seen["gather"] is False
    ContrastiveModule(nn.Linear(4, 2), loss_without, temperature=0.5).compute_loss(views, None)
