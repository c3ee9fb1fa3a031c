"""ContrastiveModule + make_trainer in process: optimisation, schedule, temperature, callbacks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from cl_core.losses import nt_xent
from cl_core.training import (
    ContrastiveModule,
    EmbeddingDiagnostics,
    SpectrumAndProjectionPlot,
    default_views,
    make_trainer,
    resumable_loader,
    warmup_cosine_factor,
)
from cl_core.training.module import fused_adamw_supported

pytestmark = pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
)


def noisy_views(batch: list[torch.Tensor], generator: torch.Generator) -> list[torch.Tensor]:
    (x,) = batch
    return [x + 0.05 * torch.randn(x.shape, generator=generator) for _ in range(2)]


def tiny_module(**kwargs) -> ContrastiveModule:
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8))
    options = {"views_fn": noisy_views, "temperature": 0.5, "lr": 0.02, **kwargs}
    return ContrastiveModule(encoder, nt_xent, head=nn.Linear(8, 4), **options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Six epochs of 4 steps on 32 clustered points, with both callbacks."""
    out = tmp_path_factory.mktemp("fit")
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 6, generator=generator) * 3
    labels = torch.arange(32) % 4
    x = centres[labels] + 0.3 * torch.randn(32, 6, generator=generator)
    module = tiny_module(learnable_temperature=True, warmup_fraction=0.25)
    initial_temperature = float(module.temperature().detach())
    diagnostics = EmbeddingDiagnostics(every_n_steps=2)
    plot = SpectrumAndProjectionPlot(x, labels=labels)
    trainer = make_trainer(
        out,
        max_epochs=6,
        progress_bar=False,
        tensorboard=False,
        callbacks=[diagnostics, plot],
        enable_model_summary=False,
        log_every_n_steps=1,
    )
    loader = resumable_loader(TensorDataset(x), batch_size=8, seed=0)
    trainer.fit(module, loader)
    with (out / "logs" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    return {
        "out": out,
        "module": module,
        "trainer": trainer,
        "rows": rows,
        "plot": plot,
        "diagnostics": diagnostics,
        "initial_temperature": initial_temperature,
    }


def test_training_lowers_the_loss(trained: dict) -> None:
    losses = [float(r["train/loss"]) for r in trained["rows"] if r.get("train/loss")]
    assert len(losses) == 24
    assert sum(losses[-4:]) < sum(losses[:4])


def test_learning_rate_follows_the_per_step_schedule(trained: dict) -> None:
    optimizer = trained["trainer"].optimizers[0]
    total, warmup = 24, 6
    expected = 0.02 * warmup_cosine_factor(total, warmup, total, 0.0)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-9)


def test_learnable_temperature_is_trained_and_logged(trained: dict) -> None:
    final = float(trained["module"].temperature().detach())
    assert final != pytest.approx(trained["initial_temperature"])
    logged = [r["train/temperature"] for r in trained["rows"] if r.get("train/temperature")]
    assert len(logged) == 24


def test_diagnostics_are_logged_every_n_steps(trained: dict) -> None:
    computed = {
        r["diagnostics/alignment"] for r in trained["rows"] if r.get("diagnostics/alignment")
    }
    assert len(computed) == 24 // 2
    last = trained["diagnostics"].last
    assert 0.0 <= last["alignment"] <= 4.0
    assert last["uniformity"] <= 0.0
    assert 1.0 <= last["effective_rank"] <= 4.0


def test_plot_callback_writes_a_png(trained: dict) -> None:
    path = trained["plot"].written
    assert path == trained["out"] / "spectrum_projection.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_checkpoints_are_written_once_with_last_as_a_link(trained: dict) -> None:
    folder = trained["out"] / "checkpoints"
    last = folder / "last.ckpt"
    assert last.is_symlink() and last.is_file()
    assert last.resolve() == (folder / "step=24.ckpt").resolve()
    assert sorted(p.name for p in folder.iterdir()) == ["last.ckpt", "step=24.ckpt"]


def test_cpu_training_uses_the_fused_adamw_kernel(trained: dict) -> None:
    (optimizer,) = trained["trainer"].optimizers
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.defaults["fused"] is True


def test_fused_adamw_needs_floating_point_parameters_on_cpu_or_cuda() -> None:
    real = nn.Parameter(torch.zeros(2))
    assert fused_adamw_supported([{"params": [real]}])
    assert not fused_adamw_supported([{"params": []}])
    assert not fused_adamw_supported([{"params": [real]}, {"params": [torch.zeros(2).long()]}])
    assert not fused_adamw_supported([{"params": [nn.Parameter(torch.zeros(2, device="meta"))]}])


def test_step_generator_depends_only_on_seed_and_step() -> None:
    first = tiny_module(seed=3).step_generator()
    second = tiny_module(seed=3).step_generator()
    other = tiny_module(seed=4).step_generator()
    a, b, c = (torch.rand(3, generator=g) for g in (first, second, other))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_default_views_accept_tuples_and_dicts_of_tensors() -> None:
    x, y = torch.zeros(2, 3), torch.ones(2, 3)
    assert [v.sum().item() for v in default_views((x, y))] == [0.0, 6.0]
    assert [v.sum().item() for v in default_views({"a": y, "b": x})] == [6.0, 0.0]
    with pytest.raises(ValueError, match="at least two view tensors"):
        default_views((x,))
    with pytest.raises(TypeError, match="tuple/list or dict"):
        default_views(x)


def test_loss_kwargs_are_passed_to_the_loss() -> None:
    seen = {}

    def loss(z1: torch.Tensor, z2: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        seen["labels"] = labels
        return (z1 - z2).pow(2).mean()

    module = ContrastiveModule(
        nn.Linear(3, 2), loss, loss_kwargs=lambda batch: {"labels": batch[2]}
    )
    batch = (torch.randn(4, 3), torch.randn(4, 3), torch.arange(4))
    embeddings = [module.embed(v) for v in module.make_views(batch[:2], torch.Generator())]
    module.compute_loss(embeddings, batch)
    assert seen["labels"].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"total_steps": 0}, "total_steps"),
        ({"temperature": None, "learnable_temperature": True}, "learnable_temperature"),
        ({"temperature": -0.1}, "temperature"),
    ],
)
def test_module_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ContrastiveModule(nn.Linear(2, 2), nt_xent, **kwargs)


def test_module_rejects_a_non_module_encoder_and_non_callable_loss() -> None:
    with pytest.raises(TypeError, match="encoder"):
        ContrastiveModule(lambda x: x, nt_xent)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="loss_fn"):
        ContrastiveModule(nn.Linear(2, 2), "nt_xent")  # type: ignore[arg-type]


def test_plot_rejects_bad_holdout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holdout"):
        SpectrumAndProjectionPlot(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="every_n_steps"):
        EmbeddingDiagnostics(every_n_steps=0)
