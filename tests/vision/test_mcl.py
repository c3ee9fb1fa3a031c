"""MCL: cluster-conditioned batches, multistage training, concatenated stage features."""

from __future__ import annotations

import pytest
import torch

from cl_core.registry import BenchContext
from cl_vision.data import load_image_split
from cl_vision.mcl import StageConcatEncoder, cluster_conditioned_loader, train_mcl
from cl_vision.training import TrainConfig
from cl_vision.views import default_augmentation

pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
    pytest.mark.filterwarnings(r"ignore:The number of training batches .* is smaller"),
    # The resume test continues in the folders of the run it resumes, as intended.
    pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty"),
    pytest.mark.filterwarnings("ignore:Experiment logs directory .* exists and is not empty"),
]


@pytest.fixture(scope="module")
def tiny_digits():
    return load_image_split("digits", train_limit=80, test_limit=40)


def test_every_batch_comes_from_one_cluster(tiny_digits) -> None:
    pseudo = torch.arange(80) % 4
    loader = cluster_conditioned_loader(tiny_digits, pseudo, 16, seed=0)
    sizes = []
    for images, _ in loader:
        sizes.append(len(images))
        # Match the images back to their rows to recover their pseudo-labels.
        rows = [int((tiny_digits.train_x == img).flatten(1).all(1).nonzero()[0]) for img in images]
        assert len({int(pseudo[r]) for r in rows}) == 1
    assert set(sizes) == {16} and sum(sizes) == 64


def test_batch_size_is_capped_by_the_smallest_cluster(tiny_digits) -> None:
    pseudo = torch.zeros(80, dtype=torch.long)
    pseudo[:5] = 1
    loader = cluster_conditioned_loader(tiny_digits, pseudo, 32)
    assert loader.batch_sampler.batch_size == 5


def test_two_stages_continue_training_and_concatenate_features(tiny_digits, tmp_path) -> None:
    config = TrainConfig(method="simclr", epochs=1, batch_size=16)
    run = train_mcl(
        config,
        tiny_digits,
        tmp_path,
        default_augmentation("digits"),
        num_stages=2,
        num_clusters=3,
        progress_bar=False,
        max_steps=2,
    )
    assert len(run.stages) == 2 and len(run.pseudo_labels) == 1
    assert int(run.pseudo_labels[0].max()) < 3
    first, second = (m.encoder.stem[0].weight for m in run.stages)
    assert not torch.allclose(first, second)
    features = run.encoder(tiny_digits.test_x)
    width = run.stages[0].encoder.feature_dim
    assert features.shape == (40, 2 * width)
    torch.testing.assert_close(features[:, :width], run.stages[0].encode(tiny_digits.test_x))


def test_resume_reloads_finished_stages_without_training_more(tiny_digits, tmp_path) -> None:
    config = TrainConfig(method="simclr", epochs=1, batch_size=16)
    options = {"num_stages": 2, "num_clusters": 3, "progress_bar": False}
    augmentation = default_augmentation("digits")
    first = train_mcl(config, tiny_digits, tmp_path, augmentation, **options)
    again = train_mcl(config, tiny_digits, tmp_path, augmentation, resume="last", **options)
    torch.testing.assert_close(again.pseudo_labels[0], first.pseudo_labels[0])
    for before, after in zip(first.stages, again.stages, strict=True):
        torch.testing.assert_close(after.encoder.stem[0].weight, before.encoder.stem[0].weight)
    with pytest.raises(ValueError, match="resume must be None or 'last'"):
        train_mcl(config, tiny_digits, tmp_path, augmentation, resume="stage0.ckpt", **options)


def test_bad_mcl_settings_raise(tiny_digits, tmp_path) -> None:
    augmentation = default_augmentation("digits")
    with pytest.raises(ValueError, match="num_stages"):
        train_mcl(TrainConfig(), tiny_digits, tmp_path, augmentation, num_stages=0)
    with pytest.raises(ValueError, match="num_clusters"):
        train_mcl(TrainConfig(), tiny_digits, tmp_path, augmentation, num_clusters=1)
    with pytest.raises(ValueError, match="at least one"):
        StageConcatEncoder([])


def test_mcl_bench_smoke_row(tmp_path) -> None:
    from cl_vision.bench_run import run_mcl

    result = run_mcl(BenchContext("digits", "smoke", 0, None, tmp_path))
    assert {"linear_acc", "linear_acc_stage0", "linear_acc_stage1"} <= set(result.metrics)
    assert set(result.baselines) == {"raw pixels", "random-init encoder"}
