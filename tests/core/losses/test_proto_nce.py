"""ProtoNCE (PCL, arXiv:2005.04966) and its prototypes against loop references from the paper."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cl_core.losses import ClusterPrototypes, ProtoNCELoss, cluster_prototypes, proto_nce


def reference_proto_nce(z, centroids, phis, assignments):
    """-1/(MN) sum_m sum_i log softmax_k(v_i . c_k / phi_k)[s_m(i)], one term at a time."""
    v = F.normalize(z, dim=1)
    total = 0.0
    for mu, phi, assign in zip(centroids, phis, assignments, strict=True):
        c = F.normalize(mu, dim=1)
        for i in range(v.shape[0]):
            numerator = torch.exp(v[i] @ c[assign[i]] / phi[assign[i]])
            denominator = sum(torch.exp(v[i] @ c[k] / phi[k]) for k in range(c.shape[0]))
            total = total - torch.log(numerator / denominator)
    return total / (len(centroids) * v.shape[0])


def reference_concentrations(z, labels, temperature, alpha):
    """phi_k = sum ||z - mu_k|| / (|Z_k| log(|Z_k| + alpha)); singletons get the max; clip to the
    10-90th percentile; scale to mean temperature."""
    count = int(labels.max()) + 1
    phi = []
    for k in range(count):
        members = z[labels == k]
        if members.shape[0] > 1:
            mu = members.mean(dim=0)
            distances = [torch.linalg.norm(m - mu) for m in members]
            phi.append(sum(distances) / (members.shape[0] * math.log(members.shape[0] + alpha)))
        else:
            phi.append(None)
    largest = max(p for p in phi if p is not None)
    phi = torch.tensor([largest if p is None else float(p) for p in phi], dtype=torch.float64)
    low, high = torch.quantile(phi, 0.1), torch.quantile(phi, 0.9)
    phi = phi.clamp(low, high)
    return temperature * phi / phi.mean()


def _inputs(dtype=torch.float32):
    generator = torch.Generator().manual_seed(4)
    centroids = [
        torch.randn(2, 4, generator=generator, dtype=dtype),
        torch.randn(3, 4, generator=generator, dtype=dtype),
    ]
    phis = [torch.tensor([0.3, 0.5], dtype=dtype), torch.tensor([0.2, 0.4, 0.6], dtype=dtype)]
    assignments = torch.tensor([[0, 1, 0, 1, 1], [2, 0, 1, 1, 0]])
    z = torch.randn(5, 4, generator=generator, dtype=dtype)
    return z, centroids, phis, assignments


def test_proto_nce_matches_loop_reference():
    z, centroids, phis, assignments = _inputs()
    torch.testing.assert_close(
        proto_nce(z, centroids, phis, assignments),
        reference_proto_nce(z, centroids, phis, assignments),
    )


def test_proto_nce_gradcheck_float64():
    z, centroids, phis, assignments = _inputs(torch.float64)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: proto_nce(x, centroids, phis, assignments), (z,))


def test_proto_nce_without_normalize_uses_raw_embeddings():
    z, centroids, phis, assignments = _inputs()
    unit = F.normalize(z, dim=1)
    torch.testing.assert_close(
        proto_nce(unit * 3.0, centroids, phis, assignments),
        proto_nce(unit, centroids, phis, assignments),
    )
    assert not torch.allclose(
        proto_nce(unit * 3.0, centroids, phis, assignments, normalize=False),
        proto_nce(unit, centroids, phis, assignments, normalize=False),
    )


def test_proto_nce_is_lower_at_the_own_prototype():
    """Paper property: the loss pulls each embedding towards its prototype."""
    _, centroids, phis, assignments = _inputs()
    at_prototype = F.normalize(centroids[0], dim=1)[assignments[0]]
    close = proto_nce(at_prototype, centroids[:1], phis[:1], assignments[:1])
    far = proto_nce(-at_prototype, centroids[:1], phis[:1], assignments[:1])
    assert close < far


def test_tighter_concentration_sharpens_the_softmax():
    """Paper property: a smaller phi (denser cluster) gives a sharper distribution, so a sample at
    its prototype has a lower loss when all phi shrink."""
    centroids = [torch.eye(3)]
    assignments = torch.tensor([[0, 1, 2]])
    loose = proto_nce(torch.eye(3), centroids, [torch.full((3,), 1.0)], assignments)
    tight = proto_nce(torch.eye(3), centroids, [torch.full((3,), 0.1)], assignments)
    assert tight < loose


def test_module_matches_function():
    z, _, _, _ = _inputs()
    assignments = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 2, 2, 0]])
    prototypes = [cluster_prototypes(z, row, temperature=0.4) for row in assignments]
    assert all(isinstance(p, ClusterPrototypes) for p in prototypes)
    torch.testing.assert_close(
        ProtoNCELoss()(z, prototypes, assignments),
        proto_nce(
            z,
            [p.centroids for p in prototypes],
            [p.concentrations for p in prototypes],
            assignments,
        ),
    )


def test_cluster_prototypes_match_loop_reference():
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(40, 3, generator=generator, dtype=torch.float64)
    labels = torch.arange(40) % 7
    labels[5] = 7  # a single-member cluster takes the largest concentration
    result = cluster_prototypes(z, labels, temperature=0.4, alpha=10.0)
    expected_means = torch.stack([z[labels == k].mean(dim=0) for k in range(8)])
    torch.testing.assert_close(result.centroids, F.normalize(expected_means, dim=1))
    torch.testing.assert_close(
        result.concentrations, reference_concentrations(z, labels, 0.4, 10.0)
    )
    assert result.concentrations.mean().item() == pytest.approx(0.4)


def test_cluster_prototypes_are_not_differentiable():
    z = torch.randn(6, 2, requires_grad=True)
    result = cluster_prototypes(z, torch.tensor([0, 0, 0, 1, 1, 1]), temperature=0.5)
    assert not result.centroids.requires_grad and not result.concentrations.requires_grad


def test_cluster_prototypes_rejects_bad_inputs():
    z = torch.randn(4, 2)
    with pytest.raises(ValueError, match="empty clusters"):
        cluster_prototypes(z, torch.tensor([0, 0, 2, 2]), temperature=0.5)
    with pytest.raises(TypeError, match="integer cluster ids"):
        cluster_prototypes(z, torch.zeros(4), temperature=0.5)
    with pytest.raises(ValueError, match="length 4"):
        cluster_prototypes(z, torch.tensor([0, 1]), temperature=0.5)
    with pytest.raises(ValueError, match="temperature"):
        cluster_prototypes(z, torch.tensor([0, 0, 1, 1]), temperature=0.0)
    with pytest.raises(ValueError, match=">= 0"):
        cluster_prototypes(z, torch.tensor([0, -1, 1, 1]), temperature=0.5)


def test_proto_nce_rejects_bad_inputs():
    z, centroids, phis, assignments = _inputs()
    with pytest.raises(ValueError, match="concentrations\\[1\\] must be finite, positive"):
        proto_nce(z, centroids, [phis[0], -phis[1]], assignments)
    with pytest.raises(ValueError, match="same number of runs"):
        proto_nce(z, centroids[:1], phis, assignments)
    with pytest.raises(ValueError, match=r"assignments\[0\] must hold ids >= 0, < 2"):
        proto_nce(z, centroids, phis, torch.tensor([[0, 2, 0, 1, 1], [2, 0, 1, 1, 0]]))
    with pytest.raises(ValueError, match="width D=4"):
        proto_nce(z, [torch.randn(2, 3), centroids[1]], phis, assignments)
    with pytest.raises(ValueError, match="at least one clustering run"):
        proto_nce(z, [], [], torch.zeros(0, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(M, N\)"):
        proto_nce(z, centroids, phis, assignments[0])


def test_docstring_examples_run():
    import doctest
    import importlib

    module = importlib.import_module("cl_core.losses.proto_nce")
    result = doctest.testmod(module, verbose=False)
    assert result.attempted > 0 and result.failed == 0
