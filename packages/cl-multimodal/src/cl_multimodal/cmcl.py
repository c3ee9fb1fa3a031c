r"""CMCL's dual-sided null-space (DNS) gradient projection for continual multimodal contrastive
learning.

Liu et al., "Continual Multimodal Contrastive Learning", NeurIPS 2025 (author code
``Xiaohao-Liu/CMCL``, ``cmcl/dns.py``). Every modality m has a linear map :math:`W^m` on frozen
features; step t trains one modality pair (a, b) with logits
:math:`(W^a x_a)(W^b x_b)^\top / \tau`. Kept per modality:

- :math:`Z^m`: the running mean of :math:`x x^\top` over all past inputs of m;
- :math:`\tilde Z^m`: the running mean of :math:`y y^\top` of the partner embeddings
  :math:`y = W^{m'} x_{m'}` that m was contrasted with.

Before a step, :math:`P^m = U_k U_k^\top` over the singular vectors of :math:`Z^m` with singular
value above :math:`\lambda_{\min}` (0.1) and :math:`\tilde P^m` likewise from :math:`\tilde Z^m`
(above ``partner_threshold``, 0 in the paper; a tiny tolerance here against round-off). The
gradient is then projected as

.. math:: \nabla W^m \leftarrow \nabla W^m - \tilde P^m \, \nabla W^m \, P^m

so :math:`\tilde P^m \Delta W^m P^m = 0` and an old score :math:`y_{old}^\top W^m x_{old}` with
:math:`x_{old} \in \mathrm{span}(P^m)`, :math:`y_{old} \in \mathrm{span}(\tilde P^m)` is unchanged
by any update that is a sum of projected gradients (SGD, with or without momentum; an adaptive
optimiser such as AdamW rescales coordinates and keeps it only approximately).
"""

from __future__ import annotations

import torch
from torch import Tensor


def subspace_projector(second_moment: Tensor, threshold: float) -> Tensor:
    """:math:`U_k U_k^\\top` over the singular vectors of ``second_moment`` (a symmetric (d, d)
    matrix) whose singular value exceeds ``threshold``; the zero matrix when none does.

    Example:
        >>> projector = subspace_projector(torch.diag(torch.tensor([2.0, 0.01])), 0.1)
        >>> projector.tolist()
        [[1.0, 0.0], [0.0, 0.0]]
    """
    if second_moment.ndim != 2 or second_moment.shape[0] != second_moment.shape[1]:
        raise ValueError(f"second_moment must be a square matrix, got {tuple(second_moment.shape)}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    vectors, values, _ = torch.linalg.svd(second_moment)
    kept = vectors[:, values > threshold]
    return kept @ kept.T


def dual_null_space_gradient(
    gradient: Tensor, input_projector: Tensor, partner_projector: Tensor
) -> Tensor:
    """:math:`G - \\tilde P G P` for a weight gradient G of shape (d_out, d_in), the partner
    projector :math:`\\tilde P` (d_out, d_out) and the input projector P (d_in, d_in)."""
    if gradient.ndim != 2:
        raise ValueError(f"gradient must be (d_out, d_in), got {tuple(gradient.shape)}")
    if input_projector.shape != (gradient.shape[1],) * 2:
        raise ValueError(
            f"input_projector must be (d_in, d_in) = {(gradient.shape[1],) * 2}, "
            f"got {tuple(input_projector.shape)}"
        )
    if partner_projector.shape != (gradient.shape[0],) * 2:
        raise ValueError(
            f"partner_projector must be (d_out, d_out) = {(gradient.shape[0],) * 2}, "
            f"got {tuple(partner_projector.shape)}"
        )
    return gradient - partner_projector @ gradient @ input_projector


class ModalitySecondMoments:
    """Running means :math:`Z^m` (inputs) and :math:`\\tilde Z^m` (partner embeddings) per
    modality, and the projectors built from them.

    Args:
        input_dim: width of the frozen input features.
        output_dim: width of the embeddings :math:`W^m x`.
        input_threshold: :math:`\\lambda_{\\min}` for :math:`P^m` (paper: 0.1).
        partner_threshold: cut-off for :math:`\\tilde P^m` (paper: 0; default 1e-6 against
            round-off).
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        *,
        input_threshold: float = 0.1,
        partner_threshold: float = 1e-6,
    ) -> None:
        self.input_dim, self.output_dim = input_dim, output_dim
        self.input_threshold, self.partner_threshold = input_threshold, partner_threshold
        self._inputs: dict[int, tuple[Tensor, int]] = {}
        self._partners: dict[int, tuple[Tensor, int]] = {}

    @staticmethod
    def _accumulate(store: dict[int, tuple[Tensor, int]], key: int, rows: Tensor) -> None:
        total, count = store.get(
            key, (torch.zeros(rows.shape[1], rows.shape[1], dtype=rows.dtype), 0)
        )
        store[key] = (total + rows.T @ rows, count + rows.shape[0])

    @torch.no_grad()
    def update(self, modality: int, inputs: Tensor, partner_embeddings: Tensor) -> None:
        """Add a modality's inputs (N, input_dim) and the embeddings (N, output_dim) of the
        partner it was trained against."""
        if inputs.ndim != 2 or inputs.shape[1] != self.input_dim:
            raise ValueError(f"inputs must be (N, {self.input_dim}), got {tuple(inputs.shape)}")
        if partner_embeddings.shape != (inputs.shape[0], self.output_dim):
            raise ValueError(
                f"partner_embeddings must be ({inputs.shape[0]}, {self.output_dim}), "
                f"got {tuple(partner_embeddings.shape)}"
            )
        self._accumulate(self._inputs, modality, inputs.detach().double())
        self._accumulate(self._partners, modality, partner_embeddings.detach().double())

    def projectors(self, modality: int) -> tuple[Tensor, Tensor]:
        """(P, P̃) of ``modality``; zero matrices for a modality never seen."""
        if modality not in self._inputs:
            return torch.zeros(self.input_dim, self.input_dim), torch.zeros(
                self.output_dim, self.output_dim
            )
        inputs, n = self._inputs[modality]
        partners, m = self._partners[modality]
        return (
            subspace_projector(inputs / n, self.input_threshold).float(),
            subspace_projector(partners / m, self.partner_threshold).float(),
        )
