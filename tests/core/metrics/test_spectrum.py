"""Singular spectrum and effective rank (Roy & Vetterli 2007) against numpy references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cl_core.metrics import EffectiveRank, effective_rank, singular_spectrum


def numpy_effective_rank(matrix: np.ndarray) -> float:
    """exp(-sum p_k log p_k), p_k = sigma_k / sum sigma, skipping p_k = 0 (0 log 0 = 0)."""
    sigma = np.linalg.svd(matrix, compute_uv=False)
    p = sigma / sigma.sum()
    p = p[p > 0]
    return math.exp(-float(np.sum(p * np.log(p))))


def test_spectrum_matches_numpy_svd_and_centres_on_request() -> None:
    z = torch.randn(12, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = np.linalg.svd(z.numpy(), compute_uv=False)
    np.testing.assert_allclose(singular_spectrum(z).numpy(), expected)
    centred = z.numpy() - z.numpy().mean(axis=0)
    np.testing.assert_allclose(
        singular_spectrum(z, center=True).numpy(), np.linalg.svd(centred, compute_uv=False)
    )


@pytest.mark.parametrize("shape", [(20, 6), (4, 9)])
def test_effective_rank_matches_numpy(shape) -> None:
    z = torch.randn(*shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert float(effective_rank(z)) == pytest.approx(numpy_effective_rank(z.numpy()))


@pytest.mark.parametrize("d", [1, 3, 16])
def test_effective_rank_of_identity_is_its_size(d) -> None:
    assert float(effective_rank(torch.eye(d, dtype=torch.float64))) == pytest.approx(d)


def test_effective_rank_of_rank_one_matrix_is_one() -> None:
    generator = torch.Generator().manual_seed(2)
    u = torch.randn(30, 1, generator=generator, dtype=torch.float64)
    v = torch.randn(1, 8, generator=generator, dtype=torch.float64)
    assert float(effective_rank(u @ v)) == pytest.approx(1.0, abs=1e-6)


def test_collapsed_embeddings_have_lower_effective_rank() -> None:
    generator = torch.Generator().manual_seed(3)
    full = torch.randn(200, 16, generator=generator)
    collapsed = full[:, :2] @ torch.randn(2, 16, generator=generator)
    assert float(effective_rank(collapsed)) <= 2.0 + 1e-4
    assert float(effective_rank(full)) > 12.0


def test_centring_removes_a_shared_offset() -> None:
    """A constant offset adds a direction; the covariance spectrum ignores it."""
    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    z[:, 3] = 0.0
    shifted = z + torch.tensor([0.0, 0.0, 0.0, 10.0], dtype=torch.float64)
    assert float(effective_rank(shifted, center=True)) == pytest.approx(
        float(effective_rank(z, center=True))
    )
    assert float(effective_rank(shifted)) != pytest.approx(float(effective_rank(z)))


def test_stateful_effective_rank_equals_the_function() -> None:
    z = torch.randn(9, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    metric = EffectiveRank(center=True)
    metric.update(z[:4])
    metric.update(z[4:])
    torch.testing.assert_close(metric.compute(), effective_rank(z, center=True))


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="all-zero spectrum"):
        effective_rank(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="after centring"):
        effective_rank(torch.ones(3, 2), center=True)
    with pytest.raises(ValueError, match="z must be non-empty"):
        singular_spectrum(torch.zeros(0, 3))
    with pytest.raises(TypeError, match=r"z must be a torch\.Tensor"):
        effective_rank(np.eye(3))
