"""COCONUT's two contrastive losses: NSPT on rehearsal samples and the audio-text (MM) loss.

Cappellazzo, Fini, Yang, Falavigna, Brutti, Raj, "Continual Contrastive Spoken Language
Understanding", Findings of ACL 2024, arXiv:2310.02699. The model is trained with
``L = L_seq2seq-CE + lambda_1 L_NSPT + lambda_2 L_MM``.

Both losses are thin wrappers over :func:`cl_core.losses.masked_logits_loss` (SupCon's L_out form
with a chosen candidate set). Embeddings are L2-normalised; logits are cosine / temperature.

What the paper leaves open (our reading, see ``shared/methods.md``): the temperature, the pooling
(mean over audio frames here), and whether the teacher embedding of the anchor's own sample is
one of its positives (yes by default, ``include_own_teacher=True``).

Data-parallel training (``gather=True``): as the kernel's in-batch losses
(:mod:`cl_core.distributed`), each process scores its local anchors against the candidates
gathered from every process, so W processes contrast one global batch; with ``reduction="sum"``
divided by the global anchor count (times W) the averaged gradients equal those of one process.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from cl_core.distributed import gather_no_grad, gather_with_grad, rank_offset
from cl_core.losses import masked_logits_loss
from cl_core.validation import check_reduction


def _check_embeddings(value: object, name: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != 2 or value.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, D) with N >= 1, got {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
    return value


def _check_labels(labels: object, length: int) -> Tensor:
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.shape != (length,) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise ValueError(
            f"labels must be an integer tensor of shape ({length},), got "
            f"{labels.dtype} of shape {tuple(labels.shape)}"
        )
    return labels


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def nspt_loss(
    student: Tensor,
    teacher: Tensor,
    labels: Tensor,
    temperature: float = 0.1,
    *,
    include_own_teacher: bool = True,
    reduction: str = "mean",
    gather: bool = False,
) -> Tensor:
    r"""Negative-Student Positive-Teacher (NSPT) loss on a batch of rehearsal samples.

    A supervised contrastive loss whose anchors are the current model's (student) embeddings
    :math:`s_i`, whose positives are the frozen previous model's (teacher) embeddings
    :math:`t_p` of the samples with the anchor's class, and whose negatives are the student
    embeddings :math:`s_n` of the samples of other classes:

    .. math::

        \mathcal{L}_{NSPT} = \frac{1}{N} \sum_i \frac{-1}{|P(i)|} \sum_{p \in P(i)} \log
            \frac{e^{s_i^\top t_p / \tau}}
                 {\sum_{p' \in P(i)} e^{s_i^\top t_{p'} / \tau}
                  + \sum_{n: y_n \neq y_i} e^{s_i^\top s_n / \tau}}

    with :math:`P(i) = \{p : y_p = y_i\}` (without :math:`p = i` when
    ``include_own_teacher=False``). Pulling the student towards the teacher's class clusters keeps
    old-class structure; pushing student embeddings of other classes apart keeps them separable.
    The teacher is constant: gradients flow into ``student`` only (``teacher`` is detached).

    Args:
        student: Current-model embeddings of the rehearsal samples, shape (N, D).
        teacher: Previous-model embeddings of the same samples, shape (N, D).
        labels: (N,) integer class (intent) labels.
        temperature: :math:`\tau > 0`.
        include_own_teacher: Count :math:`t_i` among the positives of anchor :math:`i`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (N,) per-anchor losses).
        gather: Data-parallel training: the local anchors against the teacher and student
            embeddings and labels gathered from every process (a no-op on one process).

    Returns:
        Scalar loss (``"none"``: per anchor).

    Raises:
        ValueError: Mismatched shapes, bad labels, ``temperature <= 0``, or (with
            ``include_own_teacher=False``) a sample whose class occurs only once.
        TypeError: Non-tensor or non-float inputs.

    Example:
        >>> import torch
        >>> student, teacher = torch.randn(6, 16), torch.randn(6, 16)
        >>> nspt_loss(student, teacher, torch.tensor([0, 0, 1, 1, 2, 2])).shape
        torch.Size([])
    """
    student = _check_embeddings(student, "student")
    teacher = _check_embeddings(teacher, "teacher")
    if teacher.shape != student.shape:
        raise ValueError(
            f"teacher must have the shape of student {tuple(student.shape)}, "
            f"got {tuple(teacher.shape)}"
        )
    labels = _check_labels(labels, student.shape[0])
    _check_temperature(temperature)
    check_reduction(reduction)
    anchors = F.normalize(student, dim=-1)
    teachers, students, candidate_labels = F.normalize(teacher.detach(), dim=-1), anchors, labels
    if gather:
        teachers, students = gather_no_grad(teachers), gather_with_grad(anchors)
        candidate_labels = gather_no_grad(labels)
    candidates = torch.cat((teachers, students))
    same_class = labels[:, None] == candidate_labels[None, :]
    positives = same_class.clone()
    if not include_own_teacher:
        rows = torch.arange(len(labels), device=labels.device)
        offset = rank_offset(len(labels)) if gather else 0
        positives[rows, rows + offset] = False
        if not positives.any(dim=1).all():
            raise ValueError("include_own_teacher=False needs every class in labels at least twice")
    no_columns = torch.zeros_like(same_class)
    return masked_logits_loss(
        anchors,
        candidates,
        temperature=temperature,
        positive_mask=torch.cat((positives, no_columns), dim=1),
        negative_mask=torch.cat((no_columns, ~same_class), dim=1),
        positives_in_denominator="all",
        reduction=reduction,
    )


def audio_text_contrastive_loss(
    audio: Tensor,
    text: Tensor,
    labels: Tensor,
    temperature: float = 0.1,
    *,
    reduction: str = "mean",
    gather: bool = False,
) -> Tensor:
    r"""Supervised, symmetric audio-text contrastive loss (COCONUT's multimodal MM loss).

    With L2-normalised pooled audio embeddings :math:`a_i`, text (transcript) embeddings
    :math:`u_j` and positives :math:`P(i) = \{j : y_j = y_i\}` (same intent, the pair itself
    included):

    .. math::

        \mathcal{L}_{MM} = \frac{1}{2N} \sum_i \Big[
            \frac{-1}{|P(i)|} \sum_{p \in P(i)} \log
                \frac{e^{a_i^\top u_p / \tau}}{\sum_j e^{a_i^\top u_j / \tau}}
            + \frac{-1}{|P(i)|} \sum_{p \in P(i)} \log
                \frac{e^{u_i^\top a_p / \tau}}{\sum_j e^{u_i^\top a_j / \tau}} \Big]

    With all labels distinct it is the CLIP loss at logit scale :math:`1/\tau`.

    Args:
        audio: Pooled audio-encoder embeddings, shape (N, D).
        text: Text embeddings of the transcripts of the same samples, shape (N, D).
        labels: (N,) integer class (intent) labels.
        temperature: :math:`\tau > 0`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (the (N,) per-sample mean of the two
            directions).
        gather: Data-parallel training: the local audio (text) anchors against the text (audio)
            embeddings and labels gathered from every process (a no-op on one process).

    Returns:
        Scalar loss (``"none"``: per sample).

    Raises:
        ValueError: Mismatched shapes, bad labels or ``temperature <= 0``.
        TypeError: Non-tensor or non-float inputs.

    Example:
        >>> import torch
        >>> audio, text = torch.randn(4, 8), torch.randn(4, 8)
        >>> audio_text_contrastive_loss(audio, text, torch.tensor([0, 0, 1, 2])).shape
        torch.Size([])
    """
    audio = _check_embeddings(audio, "audio")
    text = _check_embeddings(text, "text")
    if text.shape != audio.shape:
        raise ValueError(
            f"text must have the shape of audio {tuple(audio.shape)}, got {tuple(text.shape)}"
        )
    labels = _check_labels(labels, audio.shape[0])
    _check_temperature(temperature)
    check_reduction(reduction)
    audio, text = F.normalize(audio, dim=-1), F.normalize(text, dim=-1)
    all_audio, all_text, all_labels = audio, text, labels
    if gather:
        all_audio, all_text = gather_with_grad(audio), gather_with_grad(text)
        all_labels = gather_no_grad(labels)
    options = {"temperature": temperature, "anchor_labels": labels, "reduction": reduction}
    audio_to_text = masked_logits_loss(audio, all_text, candidate_labels=all_labels, **options)
    text_to_audio = masked_logits_loss(text, all_audio, candidate_labels=all_labels, **options)
    return 0.5 * (audio_to_text + text_to_audio)


class NSPTLoss(nn.Module):
    """Module form of :func:`nspt_loss` holding its hyper-parameters.

    Example:
        >>> import torch
        >>> loss = NSPTLoss(temperature=0.2)
        >>> loss(torch.randn(4, 8), torch.randn(4, 8), torch.tensor([0, 1, 0, 1])).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1, *, include_own_teacher: bool = True) -> None:
        super().__init__()
        _check_temperature(temperature)
        self.temperature = temperature
        self.include_own_teacher = include_own_teacher

    def forward(self, student: Tensor, teacher: Tensor, labels: Tensor) -> Tensor:
        """See :func:`nspt_loss`."""
        return nspt_loss(
            student,
            teacher,
            labels,
            self.temperature,
            include_own_teacher=self.include_own_teacher,
        )


class AudioTextContrastiveLoss(nn.Module):
    """Module form of :func:`audio_text_contrastive_loss`.

    Example:
        >>> import torch
        >>> loss = AudioTextContrastiveLoss(temperature=0.1)
        >>> loss(torch.randn(4, 8), torch.randn(4, 8), torch.tensor([0, 1, 0, 1])).shape
        torch.Size([])
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        _check_temperature(temperature)
        self.temperature = temperature

    def forward(self, audio: Tensor, text: Tensor, labels: Tensor) -> Tensor:
        """See :func:`audio_text_contrastive_loss`."""
        return audio_text_contrastive_loss(audio, text, labels, self.temperature)
