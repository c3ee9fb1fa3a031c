r"""SepCLR: separating common and salient factors by contrastive analysis.

Reference:
    Louiset, Duchesnay, Grigis, Dufumier, Gori. "SepCLR: Separating common from salient patterns
    with Contrastive Representation Learning", ICLR 2024, arXiv:2402.11928. Author code:
    ``neurospin-projects/2024_rlouiset_sep_clr`` (``losses.py``, ``*/sep_clr_k-jem.py``).

Contrastive analysis: *background* samples (``is_target = False``) hold only the common factors;
*target* samples also hold salient ones. An encoder has a common head :math:`c` (L2-normalised,
:math:`\hat c`) and a salient head :math:`s` (Euclidean). With the Gaussian-kernel primitives at
temperature :math:`\tau` (0.5):

.. math::

    \mathrm{align}(x, y) &= \tfrac{1}{N}\textstyle\sum_i \|x_i - y_i\|^2 / (2\tau) \\
    \mathrm{unif}(x) &= \log \operatorname{mean}_{i<j} \exp(-\|x_i - x_j\|^2 / (2\tau)) \\
    \mathrm{kJEM}(c, s) &= \operatorname{mean}_i \log \operatorname{mean}_j
        \exp(-\|s_i - s_j\|^2 / (2\tau)) \exp(-\|c_i - c_j\|^2 / (2\tau))

and :math:`s'` = :math:`s` with background rows set to the information-less vector 0, the loss of
two views is

.. math::

    L = &\ \mathrm{align}(\hat c_1, \hat c_2) + \mathrm{unif}\,\hat c_1 + \mathrm{unif}\,\hat c_2 \\
        &+ \beta_s [\mathrm{align}(s_1^{t}, s_2^{t}) + \mathrm{unif}\,s'_1 + \mathrm{unif}\,s'_2] \\
        &+ \beta_{reg} \tfrac12 [\mathrm{align}(0, s_1^{b}) + \mathrm{align}(0, s_2^{b})] \\
        &+ \lambda_{jem} \tfrac12 [\mathrm{kJEM}(\hat c_1, s'_1) + \mathrm{kJEM}(\hat c_2, s'_2)]

(:math:`t`: target rows, :math:`b`: background rows). Minimising kJEM maximises a kernel estimate of
the joint entropy :math:`H(c, s')`, which pushes the mutual information between the spaces to 0;
uniformity on :math:`s'` also pushes target salient codes away from 0. Defaults are the authors'
(cifar_mnist): :math:`\tau = 0.5`, :math:`\beta_s = \beta_{reg} = 1000`, :math:`\lambda_{jem} = 10`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core.metrics import alignment, uniformity
from cl_core.validation import check_embeddings, check_positive_float, check_same_shape

__all__ = [
    "SepCLRLoss",
    "gaussian_alignment",
    "gaussian_uniformity",
    "kernel_joint_entropy",
    "sepclr",
]


def _squared_distances(x: Tensor) -> Tensor:
    # All pairs including i = j (k-JEM's mean runs over every j). Explicit differences, not cdist:
    # exact zeros on the diagonal and a defined gradient there.
    return (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(dim=-1)


def _check_weights(beta_salient: float, beta_reg: float, lambda_jem: float) -> None:
    for name, value in (
        ("beta_salient", beta_salient),
        ("beta_reg", beta_reg),
        ("lambda_jem", lambda_jem),
    ):
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


def gaussian_alignment(x: Tensor, y: Tensor, temperature: float = 0.5) -> Tensor:
    r"""``mean_i ||x_i - y_i||^2 / (2 tau)`` (SepCLR's ``align``): :func:`cl_core.metrics.alignment`
    with alpha 2, divided by 2 tau.

    Args:
        x: (N, D) embeddings.
        y: (N, D) embeddings paired row by row with ``x``.
        temperature: kernel temperature tau > 0.

    Returns:
        Scalar.

    Example:
        >>> gaussian_alignment(torch.zeros(2, 3), torch.ones(2, 3), temperature=0.5)
        tensor(3.)
    """
    check_embeddings(x, "x")
    check_embeddings(y, "y")
    check_same_shape(x, y, "x", "y")
    check_positive_float(temperature, "temperature")
    return alignment(x, y, alpha=2.0) / (2 * temperature)


def gaussian_uniformity(x: Tensor, temperature: float = 0.5) -> Tensor:
    r"""``log mean_{i<j} exp(-||x_i - x_j||^2 / (2 tau))`` (SepCLR's ``unif``): Wang & Isola's
    uniformity, :func:`cl_core.metrics.uniformity` with ``t = 1 / (2 tau)``.

    Args:
        x: (N, D) embeddings, N >= 2.
        temperature: kernel temperature tau > 0.

    Returns:
        Scalar (<= 0; lower is more uniform).
    """
    check_embeddings(x, "x")
    check_positive_float(temperature, "temperature")
    if x.shape[0] < 2:
        raise ValueError(f"x needs at least 2 rows for pairwise uniformity, got {x.shape[0]}")
    return uniformity(x, t=1 / (2 * temperature))


def kernel_joint_entropy(common: Tensor, salient: Tensor, temperature: float = 0.5) -> Tensor:
    r"""SepCLR's k-JEM: ``mean_i log mean_j K(s_i, s_j) K(c_i, c_j)``, Gaussian kernels.

    The negative of a kernel density estimate of the joint entropy :math:`H(c, s)` (the mean over
    j includes j = i); minimising it drives the mutual information between the spaces to 0.

    Args:
        common: (N, Dc) common embeddings.
        salient: (N, Ds) salient embeddings of the same samples.
        temperature: kernel temperature tau > 0.

    Returns:
        Scalar (<= 0).
    """
    check_embeddings(common, "common")
    check_embeddings(salient, "salient")
    if common.shape[0] != salient.shape[0]:
        raise ValueError(
            f"common and salient must have the same number of rows, got {common.shape[0]} and "
            f"{salient.shape[0]}"
        )
    check_positive_float(temperature, "temperature")
    exponents = -(_squared_distances(common) + _squared_distances(salient)) / (2 * temperature)
    return (torch.logsumexp(exponents, dim=1) - math.log(common.shape[0])).mean()


def sepclr(
    common1: Tensor,
    common2: Tensor,
    salient1: Tensor,
    salient2: Tensor,
    is_target: Tensor,
    *,
    temperature: float = 0.5,
    beta_salient: float = 1000.0,
    beta_reg: float = 1000.0,
    lambda_jem: float = 10.0,
) -> Tensor:
    r"""The SepCLR loss of two views (module docstring has the formula).

    Args:
        common1: (N, Dc) common-head outputs of view 1 (normalised here).
        common2: (N, Dc) common-head outputs of view 2.
        salient1: (N, Ds) salient-head outputs of view 1 (not normalised).
        salient2: (N, Ds) salient-head outputs of view 2.
        is_target: (N,) bool, True for target samples (which hold the salient factors). The batch
            needs at least one target and one background sample, and 2 of each kind of row for the
            uniformity terms.
        temperature: kernel temperature tau.
        beta_salient: weight of the salient alignment + uniformity term.
        beta_reg: weight of the term pulling background salient codes to 0.
        lambda_jem: weight of the k-JEM (mutual-information) term.

    Returns:
        Scalar loss.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> c1, c2, s1, s2 = (torch.randn(6, 4, generator=g) for _ in range(4))
        >>> target = torch.tensor([True, True, True, False, False, False])
        >>> bool(torch.isfinite(sepclr(c1, c2, s1, s2, target)))
        True
    """
    for name, tensor in (("common1", common1), ("common2", common2)):
        check_embeddings(tensor, name, "(N, Dc)")
    for name, tensor in (("salient1", salient1), ("salient2", salient2)):
        check_embeddings(tensor, name, "(N, Ds)")
    check_same_shape(common1, common2, "common1", "common2")
    check_same_shape(salient1, salient2, "salient1", "salient2")
    if salient1.shape[0] != common1.shape[0]:
        raise ValueError(
            f"common and salient views must have the same number of rows, got "
            f"{common1.shape[0]} and {salient1.shape[0]}"
        )
    if not isinstance(is_target, Tensor) or is_target.dtype != torch.bool:
        raise TypeError(f"is_target must be a bool tensor, got {type(is_target).__name__}")
    if is_target.shape != (common1.shape[0],):
        raise ValueError(
            f"is_target must have shape ({common1.shape[0]},), got {tuple(is_target.shape)}"
        )
    targets = int(is_target.sum())
    if targets == 0 or targets == is_target.numel():
        raise ValueError(
            f"the batch needs both target and background samples, got {targets} targets of "
            f"{is_target.numel()}"
        )
    check_positive_float(temperature, "temperature")
    _check_weights(beta_salient, beta_reg, lambda_jem)
    c1, c2 = F.normalize(common1, dim=1), F.normalize(common2, dim=1)
    keep = is_target.unsqueeze(1).to(salient1.dtype)
    null1, null2 = salient1 * keep, salient2 * keep
    background = ~is_target
    common_term = (
        gaussian_alignment(c1, c2, temperature)
        + gaussian_uniformity(c1, temperature)
        + gaussian_uniformity(c2, temperature)
    )
    salient_term = (
        gaussian_alignment(salient1[is_target], salient2[is_target], temperature)
        + gaussian_uniformity(null1, temperature)
        + gaussian_uniformity(null2, temperature)
    )
    zeros = torch.zeros_like(salient1[background])
    reg_term = 0.5 * (
        gaussian_alignment(zeros, salient1[background], temperature)
        + gaussian_alignment(zeros, salient2[background], temperature)
    )
    jem_term = 0.5 * (
        kernel_joint_entropy(c1, null1, temperature) + kernel_joint_entropy(c2, null2, temperature)
    )
    return common_term + beta_salient * salient_term + beta_reg * reg_term + lambda_jem * jem_term


class SepCLRLoss(nn.Module):
    """Module form of :func:`sepclr`: ``SepCLRLoss()(c1, c2, s1, s2, is_target)``.

    Args:
        temperature: kernel temperature tau (authors: 0.5).
        beta_salient: salient term weight (authors: 1000).
        beta_reg: background-to-zero term weight (authors: 1000).
        lambda_jem: k-JEM weight (authors: 10).
    """

    def __init__(
        self,
        temperature: float = 0.5,
        beta_salient: float = 1000.0,
        beta_reg: float = 1000.0,
        lambda_jem: float = 10.0,
    ) -> None:
        super().__init__()
        check_positive_float(temperature, "temperature")
        _check_weights(beta_salient, beta_reg, lambda_jem)
        self.temperature = temperature
        self.beta_salient = beta_salient
        self.beta_reg = beta_reg
        self.lambda_jem = lambda_jem

    def forward(
        self,
        common1: Tensor,
        common2: Tensor,
        salient1: Tensor,
        salient2: Tensor,
        is_target: Tensor,
    ) -> Tensor:
        return sepclr(
            common1,
            common2,
            salient1,
            salient2,
            is_target,
            temperature=self.temperature,
            beta_salient=self.beta_salient,
            beta_reg=self.beta_reg,
            lambda_jem=self.lambda_jem,
        )
