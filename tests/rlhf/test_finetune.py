"""Fine-tuned backbone: joint encoder + head training, frozen layers, save/load, resume, CLI."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from cl_core.registry import BenchContext
from cl_rlhf import bench, bench_run, cli
from cl_rlhf.encoding import default_encoder_path
from cl_rlhf.finetune import (
    FINETUNE_ENGINE,
    FinetuneConfig,
    build_reward_model,
    finetune_reward_model,
    freeze_encoder,
    load_reward_model,
    transformer_blocks,
)
from cl_rlhf.losses import bradley_terry_loss
from cl_rlhf.methods import strength_adjustments
from cl_rlhf.strength import preference_strength
from cl_rlhf.training import HeadTrainConfig

GOOD = ["great helpful answer", "kind and clear reply", "thank you, happy to help", "nice work"]
BAD = ["awful rude insult", "go away idiot", "terrible hateful words", "shut up loser"]
TINY = FinetuneConfig(encoder_lr=1e-3, finetune_layers=1, max_length=16)
HEAD = HeadTrainConfig(epochs=25, batch_size=4, learning_rate=1e-2, hidden_dim=16, dropout=0.0)
LAST_CHECKPOINT = ("checkpoints", "last.ckpt")


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """A random 2-block BERT (hidden 32) with the packaged MiniLM tokenizer, saved to a folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-encoder")
    tokenizer = AutoTokenizer.from_pretrained(str(default_encoder_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _bt_loss(model):
    model.eval()
    with torch.no_grad():
        return float(bradley_terry_loss(model(GOOD), model(BAD)))


def test_finetuning_lowers_the_loss_on_a_separable_toy(tiny_encoder, tmp_path):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        initial = build_reward_model(tiny_encoder, finetune=TINY, head=HEAD)
    model = finetune_reward_model(
        GOOD, BAD, tmp_path, model_path=tiny_encoder, finetune=TINY, head=HEAD, progress=False
    )
    assert _bt_loss(model) < 0.5 * _bt_loss(initial)
    assert bool((model.rewards(GOOD) > model.rewards(BAD)).all())
    assert tmp_path.joinpath(*LAST_CHECKPOINT).is_file()


def test_only_the_last_blocks_train(tiny_encoder, tmp_path):
    from transformers import AutoModel

    before = AutoModel.from_pretrained(tiny_encoder).state_dict()
    model = finetune_reward_model(
        GOOD, BAD, tmp_path, model_path=tiny_encoder, finetune=TINY, head=HEAD, progress=False
    )
    after = model.encoder.state_dict()
    changed = {name for name, value in after.items() if not torch.equal(value, before[name])}
    assert changed, "the trainable block did not move"
    assert all(name.startswith("encoder.layer.1.") for name in changed), changed
    trainable = {name for name, p in model.encoder.named_parameters() if p.requires_grad}
    assert trainable == {
        name for name, _ in model.encoder.named_parameters() if ".layer.1." in name
    }


def test_freeze_encoder_all_and_out_of_range(tiny_encoder):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(tiny_encoder)
    assert len(transformer_blocks(encoder)) == 2
    freeze_encoder(encoder, None)
    assert all(p.requires_grad for p in encoder.parameters())
    with pytest.raises(ValueError, match=r"finetune_layers must be in \[1, 2\]"):
        freeze_encoder(encoder, 3)


def test_save_load_round_trip_gives_the_same_rewards(tiny_encoder, tmp_path):
    head = HeadTrainConfig(epochs=1, batch_size=4, hidden_dim=16)
    model = finetune_reward_model(
        GOOD,
        BAD,
        tmp_path / "run",
        model_path=tiny_encoder,
        finetune=TINY,
        head=head,
        progress=False,
    )
    model.save(tmp_path / "model")
    loaded = load_reward_model(tmp_path / "model")
    texts = GOOD + BAD
    torch.testing.assert_close(loaded.rewards(texts), model.rewards(texts))
    assert loaded.max_length == TINY.max_length
    with pytest.raises(ValueError, match="not a saved reward model"):
        load_reward_model(tmp_path / "run")


# Lightning warns that a resumed run writes into the existing logs and checkpoints folders.
@pytest.mark.filterwarnings("ignore:Experiment logs directory", "ignore:Checkpoint directory")
def test_resume_continues_after_the_last_finished_epoch(tiny_encoder, tmp_path):
    # The model has dropout (head and encoder): the resumed run must draw the same masks.
    resume = FINETUNE_ENGINE.with_changes(resume="last")

    def run(folder, epochs, engine=FINETUNE_ENGINE):
        head = HeadTrainConfig(epochs=epochs, batch_size=3, learning_rate=1e-2, hidden_dim=16)
        return finetune_reward_model(
            GOOD,
            BAD,
            folder,
            model_path=tiny_encoder,
            finetune=TINY,
            head=head,
            engine=engine,
            progress=False,
        )

    straight = run(tmp_path / "straight", 2)
    run(tmp_path / "resumed", 1)
    resumed = run(tmp_path / "resumed", 2, resume)
    torch.testing.assert_close(resumed.rewards(GOOD + BAD), straight.rewards(GOOD + BAD))
    other = HeadTrainConfig(epochs=3, batch_size=4, hidden_dim=16)
    with pytest.raises(ValueError, match="other settings"):
        finetune_reward_model(
            GOOD,
            BAD,
            tmp_path / "resumed",
            model_path=tiny_encoder,
            finetune=TINY,
            head=other,
            engine=resume,
            progress=False,
        )


def test_finetune_rejects_bad_inputs(tiny_encoder, tmp_path):
    with pytest.raises(ValueError, match="same, non-zero number"):
        finetune_reward_model(GOOD, BAD[:2], tmp_path, model_path=tiny_encoder)
    with pytest.raises(ValueError, match=r"margin must have shape \(4,\)"):
        finetune_reward_model(GOOD, BAD, tmp_path, model_path=tiny_encoder, margin=torch.ones(3))
    for field, value in (("encoder_lr", 0.0), ("finetune_layers", 0), ("max_length", 1)):
        with pytest.raises(ValueError, match=field):
            FinetuneConfig(**{field: value})


def test_strength_adjustments_follow_the_recipes():
    strength = preference_strength(torch.tensor([[2.0, -1.0, 0.5], [4.0, -3.0, 1.5]]))
    assert strength_adjustments("flip", strength).suspects.tolist() == [False, True, False]
    soft = strength_adjustments("smooth", strength).label_smoothing
    torch.testing.assert_close(
        soft, torch.tensor([0.0, float(torch.sigmoid(torch.tensor(2.0))), 0.0])
    )
    torch.testing.assert_close(strength_adjustments("margin", strength).margin, strength.mean)
    weakest = strength_adjustments("flip", strength, weakest_fraction=2 / 3).suspects
    assert weakest.tolist() == [False, True, True]
    with pytest.raises(ValueError, match="method must be one of"):
        strength_adjustments("bt", strength)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="cl-train")
    cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture
def toy_pairs_file(tmp_path):
    file = tmp_path / "pairs.jsonl"
    rows = [
        (f"Human: hi {i}\n\nAssistant: {g}", f"Human: hi {i}\n\nAssistant: {b}")
        for i, (g, b) in enumerate(zip(GOOD * 3, BAD * 3, strict=True))
    ]
    file.write_text("".join(json.dumps({"chosen": c, "rejected": r}) + "\n" for c, r in rows))
    return file


@pytest.mark.parametrize("method", ["bt", "margin", "contrastive"])
def test_cl_train_rlhf_finetune_writes_a_loadable_model(
    method, tiny_encoder, toy_pairs_file, tmp_path, capsys
):
    out = tmp_path / "run"
    argv = ["rlhf", "--backbone", "finetune", "--method", method, "--pairs", str(toy_pairs_file)]
    argv += ["--out", str(out), "--encoder", str(tiny_encoder), "--finetune-layers", "1"]
    argv += ["--max-length", "16", "--epochs", "1", "--batch-size", "4", "--ensemble-size", "2"]
    args = _parse(argv)
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backbone"] == "finetune" and metrics["method"] == method
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert load_reward_model(out / "model").max_length == 16
    assert out.joinpath(*LAST_CHECKPOINT).is_file()
    assert not (out / "reward_head.pt").exists()


def test_cl_train_rlhf_bad_finetune_flags_fail_in_one_line(
    tiny_encoder, toy_pairs_file, tmp_path, capsys
):
    base = ["rlhf", "--pairs", str(toy_pairs_file), "--out", str(tmp_path / "run")]
    for bad in (["--finetune-layers", "0"], ["--finetune-layers", "two"], ["--backbone", "lora"]):
        with pytest.raises(SystemExit) as exit_info:
            _parse(base + bad)
        assert exit_info.value.code == 2
    capsys.readouterr()
    finetune = ["--backbone", "finetune", "--encoder", str(tiny_encoder), "--finetune-layers", "5"]
    args = _parse([*base, *finetune, "--max-length", "16", "--epochs", "1"])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    message = f"--finetune-layers 5 exceeds the 2 transformer blocks of {tiny_encoder}"
    assert error == f"cl-train rlhf: error: {message}\n"
    assert _parse([*base, "--finetune-layers", "all"]).finetune_layers is None


@pytest.mark.slow
def test_finetune_bench_row_compares_with_the_frozen_head(data_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(
        bench_run._FINETUNE_PROFILES,
        "smoke",
        {"max_pairs": 12, "epochs": 1, "finetune_layers": 1, "max_length": 16},
    )
    recipe = next(r for r in bench.RECIPES if r.method == "rm-bt-finetune")
    assert recipe.profiles == ("full",)
    row = recipe.load()(BenchContext("hh-harmless-flip30", "smoke", 0, data_dir, tmp_path))
    assert row.data_kind == "real" and row.notes.startswith("Real:")
    assert 0.0 <= row.metrics["test_accuracy"] <= 1.0
    assert set(row.baselines) == {"bt-frozen"}
    assert "last 1 block(s) fine-tuned" in row.encoder


@pytest.mark.parametrize("backbone", ["frozen", "finetune"])
def test_cl_train_rlhf_runs_in_bf16_mixed_precision_on_the_cpu(
    backbone, tiny_encoder, toy_pairs_file, tmp_path
):
    out = tmp_path / "run"
    argv = ["rlhf", "--backbone", backbone, "--method", "contrastive", "--pairs"]
    argv += [str(toy_pairs_file), "--out", str(out), "--encoder", str(tiny_encoder)]
    argv += ["--finetune-layers", "1", "--max-length", "16", "--epochs", "1", "--batch-size", "4"]
    args = _parse([*argv, "--accelerator", "cpu", "--precision", "bf16-mixed"])
    assert args.func(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--devices", "2"], "--devices 2 is not supported here: --backbone frozen"),
        (["--strategy", "ddp"], "--strategy ddp is not supported here: --backbone frozen"),
        (["--resume"], "--resume last is not supported here: --backbone frozen"),
        (["--checkpoint-every", "5"], "--checkpoint-every 5 is not supported here"),
        (["--accelerator", "gpu"], "--accelerator gpu: no CUDA GPU is visible"),
        (["--precision", "16-mixed", "--accelerator", "cpu"], "--precision 16-mixed needs a CUDA"),
    ],
)
def test_cl_train_rlhf_refuses_engine_options_it_cannot_honour_in_one_line(
    flags, message, toy_pairs_file, tmp_path, capsys
):
    if "gpu" in flags and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible")
    args = _parse(["rlhf", "--pairs", str(toy_pairs_file), "--out", str(tmp_path / "run"), *flags])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("cl-train rlhf: error: ")
    assert message in error
    assert not (tmp_path / "run").exists()


def test_cl_train_rlhf_help_lists_the_shared_engine_options(capsys):
    with pytest.raises(SystemExit):
        _parse(["rlhf", "--help"])
    text = capsys.readouterr().out
    for flag in ("--accelerator", "--devices", "--num-nodes", "--strategy", "--precision"):
        assert flag in text
    for flag in ("--local-negatives", "--resume", "--checkpoint-every", "--out", "--seed"):
        assert flag in text
