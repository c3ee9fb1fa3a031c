"""NSPT and the audio-text (MM) loss against loop references written from the formulas."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from cl_core.losses import clip_loss
from cl_speech.losses import (
    AudioTextContrastiveLoss,
    NSPTLoss,
    audio_text_contrastive_loss,
    nspt_loss,
)


def nspt_reference(student, teacher, labels, temperature, include_own_teacher=True):
    """mean_i -1/|P(i)| sum_p log e^{s_i.t_p/tau} / (sum_p' e^{s_i.t_p'/tau}+sum_n e^{s_i.s_n/tau}).

    P(i): same-class teacher rows; n: student rows of other classes.
    """
    s = F.normalize(student, dim=-1)
    t = F.normalize(teacher, dim=-1)
    n = len(labels)
    total = 0.0
    for i in range(n):
        positives = [
            p for p in range(n) if labels[p] == labels[i] and (include_own_teacher or p != i)
        ]
        negatives = [k for k in range(n) if labels[k] != labels[i]]
        denominator = sum(torch.exp(s[i] @ t[p] / temperature) for p in positives)
        denominator = denominator + sum(torch.exp(s[i] @ s[k] / temperature) for k in negatives)
        row = 0.0
        for p in positives:
            row = row - torch.log(torch.exp(s[i] @ t[p] / temperature) / denominator)
        total = total + row / len(positives)
    return total / n


def mm_reference(audio, text, labels, temperature):
    """1/(2N) sum_i [a->t term + t->a term], every column in the denominator."""
    a = F.normalize(audio, dim=-1)
    u = F.normalize(text, dim=-1)
    n = len(labels)

    def one_direction(x, y):
        total = 0.0
        for i in range(n):
            positives = [p for p in range(n) if labels[p] == labels[i]]
            denominator = sum(torch.exp(x[i] @ y[j] / temperature) for j in range(n))
            row = sum(
                -torch.log(torch.exp(x[i] @ y[p] / temperature) / denominator) for p in positives
            )
            total = total + row / len(positives)
        return total / n

    return 0.5 * (one_direction(a, u) + one_direction(u, a))


LABELS = torch.tensor([0, 1, 0, 2, 1, 0])


@pytest.mark.parametrize("include_own_teacher", [True, False])
@pytest.mark.parametrize("temperature", [0.1, 0.7])
def test_nspt_matches_loop_reference(include_own_teacher, temperature):
    generator = torch.Generator().manual_seed(0)
    labels = torch.tensor([0, 1, 0, 2, 1, 2])
    student = torch.randn(6, 5, generator=generator)
    teacher = torch.randn(6, 5, generator=generator)
    ours = nspt_loss(student, teacher, labels, temperature, include_own_teacher=include_own_teacher)
    expected = nspt_reference(student, teacher, labels, temperature, include_own_teacher)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


def test_nspt_gradcheck_float64():
    generator = torch.Generator().manual_seed(1)
    student = torch.randn(5, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    teacher = torch.randn(5, 4, dtype=torch.float64, generator=generator)
    labels = torch.tensor([0, 1, 0, 1, 2])
    assert torch.autograd.gradcheck(lambda s: nspt_loss(s, teacher, labels, 0.5), (student,))
    ours = torch.autograd.grad(nspt_loss(student, teacher, labels, 0.5), student)[0]
    expected = torch.autograd.grad(nspt_reference(student, teacher, labels, 0.5), student)[0]
    torch.testing.assert_close(ours, expected)


def test_nspt_never_updates_the_teacher():
    student = torch.randn(4, 3, requires_grad=True)
    teacher = torch.randn(4, 3, requires_grad=True)
    nspt_loss(student, teacher, torch.tensor([0, 0, 1, 1])).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_nspt_reaches_log_positive_count_when_classes_are_separated():
    # Paper property (SupCon optimum): student = teacher = one orthogonal direction per class,
    # so as tau -> 0 each anchor's loss tends to log |P(i)|.
    directions = torch.eye(3)
    student = directions[LABELS]
    expected = torch.tensor([math.log(int((label == LABELS).sum())) for label in LABELS]).mean()
    loss = nspt_loss(student, student.clone(), LABELS, temperature=0.01)
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-4)
    # Teachers of another class: every logit is 0, so the loss is log(|P| + |N|) = log N.
    scrambled = nspt_loss(student, directions[(LABELS + 1) % 3], LABELS, temperature=0.01)
    torch.testing.assert_close(scrambled, torch.tensor(math.log(len(LABELS))))


def test_nspt_is_invariant_to_batch_order():
    generator = torch.Generator().manual_seed(2)
    student, teacher = torch.randn(2, 6, 4, generator=generator)
    order = torch.randperm(6, generator=generator)
    torch.testing.assert_close(
        nspt_loss(student, teacher, LABELS),
        nspt_loss(student[order], teacher[order], LABELS[order]),
    )


def test_nspt_bad_inputs():
    student = torch.randn(4, 3)
    labels = torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match="teacher must have the shape"):
        nspt_loss(student, torch.randn(4, 2), labels)
    with pytest.raises(ValueError, match="labels must be an integer tensor of shape \\(4,\\)"):
        nspt_loss(student, student, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nspt_loss(student, student, labels, temperature=0.0)
    with pytest.raises(TypeError, match=r"student must be a torch\.Tensor"):
        nspt_loss([[1.0]], student, labels)
    with pytest.raises(ValueError, match="student must have shape \\(N, D\\)"):
        nspt_loss(torch.randn(4), student, labels)
    with pytest.raises(ValueError, match="every class in labels at least twice"):
        nspt_loss(student, student, torch.tensor([0, 1, 2, 2]), include_own_teacher=False)


@pytest.mark.parametrize("temperature", [0.1, 1.0])
def test_mm_matches_loop_reference(temperature):
    generator = torch.Generator().manual_seed(3)
    audio = torch.randn(6, 5, generator=generator)
    text = torch.randn(6, 5, generator=generator)
    torch.testing.assert_close(
        audio_text_contrastive_loss(audio, text, LABELS, temperature),
        mm_reference(audio, text, LABELS, temperature),
        rtol=1e-5,
        atol=1e-6,
    )


def test_mm_gradcheck_float64():
    generator = torch.Generator().manual_seed(4)
    audio = torch.randn(5, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    text = torch.randn(5, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    labels = torch.tensor([0, 1, 0, 2, 2])
    assert torch.autograd.gradcheck(
        lambda a, t: audio_text_contrastive_loss(a, t, labels, 0.5), (audio, text)
    )


def test_mm_with_distinct_labels_is_clip():
    generator = torch.Generator().manual_seed(5)
    audio, text = torch.randn(2, 7, 8, generator=generator)
    torch.testing.assert_close(
        audio_text_contrastive_loss(audio, text, torch.arange(7), 0.2),
        clip_loss(audio, text, logit_scale=5.0),
    )


def test_mm_is_symmetric_in_the_modalities():
    generator = torch.Generator().manual_seed(6)
    audio, text = torch.randn(2, 6, 4, generator=generator)
    torch.testing.assert_close(
        audio_text_contrastive_loss(audio, text, LABELS),
        audio_text_contrastive_loss(text, audio, LABELS),
    )


def test_mm_bad_inputs():
    audio = torch.randn(4, 3)
    with pytest.raises(ValueError, match="text must have the shape of audio"):
        audio_text_contrastive_loss(audio, torch.randn(3, 3), torch.arange(4))
    with pytest.raises(ValueError, match="labels must be an integer tensor of shape \\(4,\\)"):
        audio_text_contrastive_loss(audio, audio, torch.arange(3))
    with pytest.raises(TypeError, match="audio must be a floating-point tensor"):
        audio_text_contrastive_loss(torch.ones(4, 3, dtype=torch.long), audio, torch.arange(4))


def test_modules_call_the_functions():
    generator = torch.Generator().manual_seed(7)
    student, teacher = torch.randn(2, 6, 4, generator=generator)
    torch.testing.assert_close(
        NSPTLoss(0.3)(student, teacher, LABELS), nspt_loss(student, teacher, LABELS, 0.3)
    )
    torch.testing.assert_close(
        AudioTextContrastiveLoss(0.3)(student, teacher, LABELS),
        audio_text_contrastive_loss(student, teacher, LABELS, 0.3),
    )
    with pytest.raises(ValueError, match="temperature must be > 0"):
        NSPTLoss(-1.0)
