"""SimCSE's MLM auxiliary and training-only MLP: masking statistics, the loss, the saved model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from cl_text.mlm import (
    IGNORE_INDEX,
    MaskedLMAuxiliary,
    MaskedLMHead,
    mask_tokens,
    maskable_positions,
    masked_lm_loss,
)
from cl_text.pooler_mlp import PoolerMLP
from cl_text.training import TextContrastiveModule, TextTrainConfig, train_sentence_encoder

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:The 'train_dataloader' does not have many workers:UserWarning"
    ),
    pytest.mark.filterwarnings(
        r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning"
    ),
]

MASK, VOCAB = 3, 1000


def masked_sample(shape=(400, 250), seed=0):
    ids = torch.randint(10, VOCAB, shape, generator=torch.Generator().manual_seed(seed + 1))
    maskable = torch.ones(shape, dtype=torch.bool)
    maskable[:, 0] = False  # e.g. [CLS]
    maskable[:, -20:] = False  # e.g. padding
    out = mask_tokens(
        ids,
        maskable,
        mask_token_id=MASK,
        vocab_size=VOCAB,
        generator=torch.Generator().manual_seed(seed),
    )
    return ids, maskable, out


def test_masking_follows_the_15_percent_80_10_10_rule() -> None:
    ids, maskable, out = masked_sample()
    selected = out.labels != IGNORE_INDEX
    n_maskable, n_selected = int(maskable.sum()), int(selected.sum())
    # 92,000 maskable tokens: the binomial standard deviation of the rate is ~0.0012.
    assert n_selected / n_maskable == pytest.approx(0.15, abs=0.006)
    assert not bool((selected & ~maskable).any())
    assert torch.equal(out.labels[selected], ids[selected])
    assert torch.equal(out.input_ids[~selected], ids[~selected])
    became_mask = (out.input_ids == MASK) & selected
    kept = (out.input_ids == ids) & selected
    replaced = selected & ~became_mask & ~kept
    assert int(became_mask.sum()) / n_selected == pytest.approx(0.8, abs=0.015)
    # a random replacement equals the original token 1 time in 1000: "kept" is ~10.1%
    assert int(kept.sum()) / n_selected == pytest.approx(0.1, abs=0.012)
    assert int(replaced.sum()) / n_selected == pytest.approx(0.1, abs=0.012)
    assert bool(((out.input_ids[replaced] >= 0) & (out.input_ids[replaced] < VOCAB)).all())


def test_masking_is_reproducible_with_a_seeded_generator() -> None:
    first, second = masked_sample()[2], masked_sample()[2]
    other = masked_sample(seed=5)[2]
    assert torch.equal(first.input_ids, second.input_ids)
    assert not torch.equal(first.labels, other.labels)


def test_maskable_positions_skip_padding_and_special_tokens() -> None:
    ids = torch.tensor([[101, 7, 8, 102, 0], [101, 9, 102, 0, 0]])
    attention = (ids != 0).long()
    expected = torch.tensor([[0, 1, 1, 0, 0], [0, 1, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(maskable_positions(ids, attention, [0, 101, 102, 103]), expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probability": 0.0}, "probability must be in"),
        ({"probability": 1.5}, "probability must be in"),
        ({"mask_token_id": VOCAB}, "mask_token_id must be in"),
        ({"maskable": torch.ones(2, 3, dtype=torch.bool)}, "maskable must be"),
        ({"input_ids": torch.zeros(4, 5)}, "input_ids must be an integer"),
    ],
)
def test_mask_tokens_rejects_bad_inputs(kwargs: dict, message: str) -> None:
    args = {
        "input_ids": torch.zeros(4, 5, dtype=torch.long),
        "maskable": torch.ones(4, 5, dtype=torch.bool),
        "mask_token_id": MASK,
        "vocab_size": VOCAB,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        mask_tokens(args.pop("input_ids"), args.pop("maskable"), **args)


def mlm_reference(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """-1/|M| sum_{t in M} log softmax(logits_t)[x_t], written as a loop."""
    terms = []
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1]):
            if labels[b, t] != IGNORE_INDEX:
                row = logits[b, t]
                terms.append(torch.logsumexp(row, 0) - row[labels[b, t]])
    return torch.stack(terms).mean()


def test_masked_lm_loss_matches_the_loop_reference_in_value_and_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[1, IGNORE_INDEX, 5, 0], [IGNORE_INDEX, 2, IGNORE_INDEX, 3]])
    assert masked_lm_loss(logits, labels).item() == pytest.approx(
        mlm_reference(logits, labels).item(), rel=1e-6
    )
    (ours,) = torch.autograd.grad(masked_lm_loss(logits, labels), logits)
    (reference,) = torch.autograd.grad(mlm_reference(logits, labels), logits)
    assert torch.allclose(ours, reference)
    assert torch.autograd.gradcheck(lambda x: masked_lm_loss(x, labels), (logits,))


def test_masked_lm_loss_of_uniform_logits_is_log_vocabulary_and_zero_without_targets() -> None:
    labels = torch.tensor([[1, 2, IGNORE_INDEX]])
    assert masked_lm_loss(torch.zeros(1, 3, 7), labels).item() == pytest.approx(math.log(7))
    logits = torch.randn(1, 3, 7, requires_grad=True)
    empty = masked_lm_loss(logits, torch.full((1, 3), IGNORE_INDEX))
    assert empty.item() == 0.0 and empty.requires_grad
    with pytest.raises(ValueError, match=r"logits must be \(B, L, V\)"):
        masked_lm_loss(torch.zeros(3, 7), labels)


def test_lm_head_decoder_is_tied_to_the_input_embeddings() -> None:
    embeddings = nn.Embedding(50, 8)
    head = MaskedLMHead(embeddings)
    assert head.word_embeddings.weight is embeddings.weight
    head(torch.randn(2, 3, 8)).sum().backward()
    assert embeddings.weight.grad is not None and embeddings.weight.grad.abs().sum() > 0
    with pytest.raises(TypeError, match="word_embeddings must be an nn\\.Embedding"):
        MaskedLMHead(nn.Linear(8, 50))


def test_pooler_mlp_is_tanh_of_a_linear_map() -> None:
    mlp = PoolerMLP(4)
    x = torch.randn(3, 4)
    assert torch.allclose(mlp(x), torch.tanh(x @ mlp.dense.weight.T + mlp.dense.bias))
    with pytest.raises(ValueError, match=r"pooled must be \(N, 4\)"):
        mlp(torch.randn(3, 5))
    with pytest.raises(ValueError, match="dim must be a positive int"):
        PoolerMLP(0)


def test_config_rejects_negative_mlm_weight() -> None:
    with pytest.raises(ValueError, match="mlm_weight must be >= 0"):
        TextTrainConfig(mlm_weight=-0.1)


def test_mlm_auxiliary_loss_decreases_on_a_tiny_run(minilm_path: Path) -> None:
    from cl_text.encoder import load_sentence_encoder

    model = load_sentence_encoder(minilm_path, max_seq_len=16)
    module = TextContrastiveModule(model, "simcse", mlm_weight=0.1)
    assert isinstance(module.mlm, MaskedLMAuxiliary)
    # the fresh head shares the encoder's embedding matrix instead of copying it
    assert (
        module.mlm.head.word_embeddings.weight is model[0].auto_model.get_input_embeddings().weight
    )
    sentences = ["A man is playing a guitar.", "Two dogs run on the grass.", "A woman cooks."] * 2
    features = model.preprocess(sentences)
    optimizer = torch.optim.AdamW(module.parameters(), lr=2e-3)
    module.train()
    losses = []
    for step in range(12):
        loss = module.mlm(model[0], features, torch.Generator().manual_seed(step % 3))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > math.log(100)  # a fresh head is close to uniform over 30,522 tokens
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3


def test_training_only_head_and_mlm_head_are_absent_from_the_saved_model(
    minilm_path: Path, tmp_path: Path
) -> None:
    from safetensors import safe_open
    from sentence_transformers import SentenceTransformer

    from cl_text.encoder import load_sentence_encoder

    model = load_sentence_encoder(minilm_path, max_seq_len=16)
    sentences = [(f"Sentence number {i} is about topic {i % 3}.",) for i in range(8)]
    config = TextTrainConfig(
        method="simcse",
        batch_size=4,
        max_steps=2,
        mlm_weight=0.1,
        mlp_train_only=True,
        trainer_options={"tensorboard": False},
    )
    results = train_sentence_encoder(model, sentences, config, tmp_path, progress_bar=False)
    assert results["steps"] == 2
    logged = (tmp_path / "logs" / "metrics.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "train/mlm_loss" in logged and "train/contrastive_loss" in logged
    # the Lightning checkpoint keeps both heads (needed to resume) ...
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    assert any(k.startswith("head.dense") for k in state)
    assert any(k.startswith("mlm.head.dense") for k in state)
    # ... the saved sentence-transformers model holds neither
    saved = tmp_path / "model"
    modules = json.loads((saved / "modules.json").read_text(encoding="utf-8"))
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == [type(m).__name__ for m in model]
    with safe_open(str(saved / "model.safetensors"), framework="pt") as weights:
        keys = set(weights.keys())
    assert keys == set(model[0].auto_model.state_dict())
    reloaded = SentenceTransformer(str(saved), device="cpu")
    text = ["A man plays a guitar."]
    assert torch.allclose(
        torch.as_tensor(reloaded.encode(text)), torch.as_tensor(model.encode(text)), atol=1e-5
    )
