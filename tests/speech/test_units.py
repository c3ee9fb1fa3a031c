"""Vocabulary, replay buffer, continual metrics, task split and the model."""

from __future__ import annotations

import functools
import random

import pytest
import torch

from cl_speech.continual_metrics import average_accuracy, forgetting, word_error_rate
from cl_speech.dataset import split_into_tasks
from cl_speech.model import AudioEncoder, SpokenLanguageModel
from cl_speech.replay import ClassBalancedBuffer
from cl_speech.vocabulary import EOS, UNK, Vocabulary


def edit_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """The recursive definition of the Levenshtein distance (slow, obviously correct)."""

    @functools.cache
    def distance(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        return min(
            distance(i - 1, j) + 1,
            distance(i, j - 1) + 1,
            distance(i - 1, j - 1) + (a[i - 1] != b[j - 1]),
        )

    return distance(len(a), len(b))


def test_word_error_rate_matches_edit_distance_reference():
    rng = random.Random(0)
    words = ["turn", "on", "the", "lights", "off", "music"]
    references = [" ".join(rng.choices(words, k=rng.randint(1, 6))) for _ in range(20)]
    predictions = [" ".join(rng.choices(words, k=rng.randint(0, 6))) for _ in range(20)]
    expected = sum(
        edit_distance(tuple(p.split()), tuple(r.split()))
        for p, r in zip(predictions, references, strict=True)
    ) / sum(len(r.split()) for r in references)
    assert word_error_rate(predictions, references) == pytest.approx(expected, rel=1e-6)
    assert word_error_rate(references, references) == 0.0
    assert word_error_rate(["lights on please"], ["lights on"]) == 0.5  # one insertion
    assert word_error_rate([""], ["turn on the lights"]) == 1.0  # four deletions
    with pytest.raises(ValueError, match="same length"):
        word_error_rate(["a"], [])
    with pytest.raises(ValueError, match="at least one word"):
        word_error_rate([""], [""])


def test_forgetting_and_average_accuracy_follow_their_definitions():
    rng = random.Random(1)
    matrix = [[rng.random() for _ in range(step + 1)] for step in range(4)]
    expected = sum(max(matrix[t][j] for t in range(j, 3)) - matrix[3][j] for j in range(3)) / 3
    assert forgetting(matrix) == pytest.approx(expected)
    assert forgetting([[0.7]]) == 0.0
    assert forgetting([[0.9], [0.9, 0.8]]) == pytest.approx(0.0)
    assert average_accuracy([0.9, 0.6, 0.3]) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="row 1 must have 2 entries"):
        forgetting([[0.9], [0.9]])
    with pytest.raises(ValueError, match="at least one step"):
        average_accuracy([])


def test_buffer_stays_class_balanced_and_within_capacity():
    buffer = ClassBalancedBuffer(capacity=10, seed=0)
    seen: set[int] = set()
    for task in range(4):
        labels = [task * 3 + c for c in range(3) for _ in range(20)]
        indices = list(range(task * 1000, task * 1000 + len(labels)))
        buffer.add(indices, labels)
        seen.update(indices)
        counts = buffer.class_counts()
        assert len(buffer) == 10 == sum(counts.values())
        assert max(counts.values()) - min(counts.values()) <= 1
        assert set(buffer.indices()) <= seen
    small = ClassBalancedBuffer(capacity=100)
    small.add([1, 2, 3], [0, 0, 1])
    assert small.class_counts() == {0: 2, 1: 1}
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        ClassBalancedBuffer(0)
    with pytest.raises(ValueError, match="same length"):
        small.add([1], [0, 1])


def test_tasks_partition_the_intents():
    tasks = split_into_tasks([f"i{k}" for k in range(10)], 3, seed=0)
    assert sorted(label for task in tasks for label in task) == list(range(10))
    assert sorted(len(task) for task in tasks) == [3, 3, 4]
    assert tasks == split_into_tasks([f"i{k}" for k in range(10)], 3, seed=0)
    with pytest.raises(ValueError, match="num_tasks must be in \\[1, 10\\]"):
        split_into_tasks([f"i{k}" for k in range(10)], 11)


def test_vocabulary_round_trip_and_unknown_words():
    vocab = Vocabulary.build(["turn on the lights", "lights off"], ["b_x_y", "a_x_y"])
    assert vocab.num_intents == 2 and vocab.intent_id("a_x_y") < vocab.intent_id("b_x_y")
    target = vocab.encode_target("turn on the lights", "b_x_y")
    assert target[-2:] == [vocab.intent_id("b_x_y"), EOS]
    assert vocab.decode(target) == ("turn on the lights", vocab.intent_id("b_x_y"))
    assert vocab.decode([*target[:2], EOS, vocab.intent_id("a_x_y")]) == ("turn on", None)
    assert vocab.encode_target("turn up", "a_x_y")[:2] == [vocab.tokens.index("turn"), UNK]
    with pytest.raises(KeyError):
        vocab.intent_id("missing")


def test_encoder_padding_mask_matches_lengths_and_padding_is_ignored():
    torch.manual_seed(0)
    encoder = AudioEncoder(8, 16, 2, 1, 0.0).eval()
    features = torch.randn(2, 40, 8)
    states, padding = encoder(features, torch.tensor([40, 17]))
    assert states.shape == (2, 5, 16)
    assert padding.tolist() == [[False] * 5, [False] * 3 + [True] * 2]
    alone, _ = encoder(features[1:, :24], torch.tensor([17]))
    torch.testing.assert_close(states[1, :3], alone[0, :3], rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="conv_layers must be >= 1"):
        AudioEncoder(8, 16, 2, 1, 0.0, conv_layers=0)


def test_model_shapes_and_greedy_decoding_stops_at_eos():
    torch.manual_seed(0)
    model = SpokenLanguageModel(vocab_size=12, n_mels=8, dim=16, heads=2, layers=1).eval()
    features, lengths = torch.randn(3, 30, 8), torch.tensor([30, 20, 10])
    assert model(features, lengths, torch.randint(1, 12, (3, 5))).shape == (3, 5, 12)
    memory, padding = model.encode(features, lengths)
    assert model.audio_embedding(memory, padding).shape == (3, 64)
    assert model.text_embedding(torch.tensor([[5, 6, 0], [7, 0, 0], [8, 9, 10]])).shape == (3, 64)
    with torch.no_grad():
        model.decoder.output.bias.fill_(-100.0)
        model.decoder.output.bias[EOS] = 100.0
    decoded = model.greedy_decode(features, lengths)
    assert decoded.shape == (3, 1) and (decoded == EOS).all()
    with pytest.raises(ValueError, match="dim must be even and divisible by heads=3"):
        SpokenLanguageModel(12, dim=16, heads=3)
