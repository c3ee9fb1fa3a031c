"""Input-label contrast: each input against the embeddings of every class description.

Rethmeier and Augenstein, "A Primer on Contrastive Pretraining in Language Processing: Methods,
Lessons Learned and Perspectives", ACM Computing Surveys 2023, arXiv:2102.12982 (input-label
contrastive learning, Sec. 3).
"""

from __future__ import annotations

from torch import Tensor, nn

from cl_core.losses._embeddings import prepared_embeddings
from cl_core.losses._reduction import Reduction
from cl_core.losses.masked_logits import masked_logits_loss
from cl_core.validation import (
    check_chunk_size,
    check_index,
    check_reduction,
    check_same_width,
    check_temperature,
)


def input_label_contrast(
    text_emb: Tensor,
    label_embs: Tensor,
    labels: Tensor,
    temperature: float | Tensor = 0.1,
    *,
    normalize: bool = True,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> Tensor:
    r"""InfoNCE of each input embedding over the embeddings of all C class descriptions.

    .. math::

        \ell_i = -\log \frac{\exp(x_i^\top e_{y_i} / \tau)}
                            {\sum_{c=1}^{C} \exp(x_i^\top e_c / \tau)}

    with :math:`x_i` the (normalised) input, :math:`e_c` the (normalised) embedding of the text
    describing class :math:`c` and :math:`y_i` the gold class. Every other class description is a
    negative, so unseen classes can be added at test time by embedding their descriptions.

    Args:
        text_emb: Input embeddings, shape (B, D).
        label_embs: Class-description embeddings, shape (C, D).
        labels: (B,) integer gold classes in ``[0, C)``.
        temperature: :math:`\tau > 0`.
        normalize: L2-normalise inputs and label embeddings first.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (B,) per-input losses).
        chunk_size: Stream over candidate blocks (see ``masked_logits_loss``).

    Returns:
        A scalar, or the (B,) per-input losses for ``"none"``.

    Example:
        >>> import torch
        >>> x, classes = torch.randn(6, 8), torch.randn(3, 8)
        >>> input_label_contrast(x, classes, torch.tensor([0, 1, 2, 0, 1, 2])).shape
        torch.Size([])
    """
    inputs = prepared_embeddings(text_emb, "text_emb", normalize=normalize, shape="(B, D)")
    classes = prepared_embeddings(label_embs, "label_embs", normalize=normalize, shape="(C, D)")
    check_same_width(inputs, classes, "text_emb", "label_embs")
    check_index(labels, inputs.shape[0], classes.shape[0], "labels")
    check_temperature(temperature)
    check_reduction(reduction)
    return masked_logits_loss(
        inputs,
        classes,
        temperature=temperature,
        positive_index=labels.to(inputs.device),
        reduction=reduction,
        chunk_size=chunk_size,
    )


class InputLabelContrastLoss(nn.Module):
    """Module form of :func:`input_label_contrast` (arXiv:2102.12982).

    Example:
        >>> import torch
        >>> criterion = InputLabelContrastLoss(temperature=0.1)
        >>> loss = criterion(torch.randn(6, 8), torch.randn(3, 8), torch.tensor([0, 1, 2, 0, 1, 2]))
    """

    def __init__(
        self,
        temperature: float = 0.1,
        *,
        normalize: bool = True,
        reduction: Reduction = "mean",
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_temperature(temperature)
        check_reduction(reduction)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.normalize = normalize
        self.reduction = reduction
        self.chunk_size = chunk_size

    def forward(self, text_emb: Tensor, label_embs: Tensor, labels: Tensor) -> Tensor:
        """Return :func:`input_label_contrast` of (B, D) inputs, (C, D) classes, (B,) labels."""
        return input_label_contrast(
            text_emb,
            label_embs,
            labels,
            self.temperature,
            normalize=self.normalize,
            reduction=self.reduction,
            chunk_size=self.chunk_size,
        )
