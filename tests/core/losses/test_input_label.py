"""Input-label contrast (arXiv:2102.12982) against a loop over the class descriptions."""

from __future__ import annotations

import pytest
import torch

from cl_core.losses import InputLabelContrastLoss, input_label_contrast


def unit(v):
    return v / torch.sqrt(torch.sum(v * v, dim=-1, keepdim=True))


def loop_input_label(inputs, classes, labels, temperature):
    """-log exp(x_i.e_{y_i}/t) / sum_c exp(x_i.e_c/t) with normalised rows."""
    x, e = unit(inputs), unit(classes)
    losses = []
    for i in range(len(x)):
        denominator = sum(torch.exp(torch.dot(x[i], e[c]) / temperature) for c in range(len(e)))
        numerator = torch.exp(torch.dot(x[i], e[int(labels[i])]) / temperature)
        losses.append(-torch.log(numerator / denominator))
    return torch.stack(losses)


@pytest.mark.parametrize("temperature", [0.05, 0.1, 1.0])
@pytest.mark.parametrize("num_classes", [2, 5])
def test_matches_loop(temperature, num_classes) -> None:
    generator = torch.Generator().manual_seed(num_classes)
    inputs = torch.randn(7, 4, generator=generator, dtype=torch.float64)
    classes = torch.randn(num_classes, 4, generator=generator, dtype=torch.float64)
    labels = torch.randint(num_classes, (7,), generator=generator)
    expected = loop_input_label(inputs, classes, labels, temperature)
    got = input_label_contrast(inputs, classes, labels, temperature, reduction="none")
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        input_label_contrast(inputs, classes, labels, temperature), expected.mean()
    )
    torch.testing.assert_close(
        input_label_contrast(inputs, classes, labels, temperature, reduction="sum"),
        expected.sum(),
    )


def test_a_further_class_description_adds_a_negative() -> None:
    """Adding a class no input belongs to can only add denominator mass: the loss grows."""
    generator = torch.Generator().manual_seed(0)
    inputs, classes = torch.randn(6, 3, generator=generator), torch.randn(3, 3, generator=generator)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    extended = torch.cat((classes, torch.randn(1, 3, generator=generator)))
    base = input_label_contrast(inputs, classes, labels, 1.0, reduction="none")
    more = input_label_contrast(inputs, extended, labels, 1.0, reduction="none")
    assert bool((more > base).all())


def test_gradients_match_finite_differences() -> None:
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(4, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    classes = torch.randn(3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([2, 0, 1, 0])
    assert torch.autograd.gradcheck(
        lambda x, e: input_label_contrast(x, e, labels, 0.2), (inputs, classes)
    )


def test_module_matches_function() -> None:
    inputs, classes, labels = torch.randn(5, 4), torch.randn(3, 4), torch.tensor([0, 1, 2, 2, 1])
    torch.testing.assert_close(
        InputLabelContrastLoss(0.3)(inputs, classes, labels),
        input_label_contrast(inputs, classes, labels, 0.3),
    )


@pytest.mark.parametrize(
    ("classes", "labels", "error", "pattern"),
    [
        (torch.randn(3, 4), torch.tensor([0, 1, 3]), ValueError, r"labels entries must lie in"),
        (torch.randn(3, 4), torch.tensor([0, -1, 2]), ValueError, r"labels entries must lie in"),
        (torch.randn(3, 4), torch.tensor([0, 1]), ValueError, "labels must have length 3"),
        (torch.randn(3, 4), torch.tensor([0.0, 1.0, 2.0]), TypeError, "labels must be an integer"),
        (torch.randn(3, 5), torch.tensor([0, 1, 2]), ValueError, "label_embs must have the same"),
        (torch.randn(0, 4), torch.tensor([0, 1, 2]), ValueError, "label_embs must be non-empty"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(classes, labels, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        input_label_contrast(torch.randn(3, 4), classes, labels)
