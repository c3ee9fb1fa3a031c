"""End to end: class-incremental runs, the cl-train speech command, its errors."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from cl_speech import cli, continual
from cl_speech.continual import ContinualConfig, _step_loss, run_continual
from cl_speech.dataset import load_slu_data, validation_split
from cl_speech.model import SpokenLanguageModel

TINY = {"num_tasks": 2, "epochs": 1, "batch_size": 16, "buffer_size": 8, "dim": 32, "heads": 2}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cl-train")
    cli.register(parser.add_subparsers(dest="modality"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def tiny_data(tiny_corpus):
    return load_slu_data(tiny_corpus, progress=False)


def test_loaded_corpus_splits_voices_and_encodes_targets(tiny_data):
    pairs = list(zip(tiny_data.utterances, tiny_data.is_test, strict=True))
    test_speakers = {u.speaker for u, is_test in pairs if is_test}
    train_speakers = {u.speaker for u, is_test in pairs if not is_test}
    assert len(test_speakers) == 1 and len(train_speakers) == 2
    assert tiny_data.n_mels == 40 and len(tiny_data.intent_names) == 24
    first = tiny_data.utterances[0]
    words, intent = tiny_data.vocabulary.decode(tiny_data.targets[0])
    assert words == first.transcript
    assert intent == tiny_data.vocabulary.intent_id(first.intent)


def test_validation_split_holds_out_training_voices_and_drops_the_test_voices(tiny_data):
    speaker = [u.speaker for u in tiny_data.utterances]
    test_voices = {s for s, is_test in zip(speaker, tiny_data.is_test, strict=True) if is_test}
    tuning = validation_split(tiny_data, fraction=0.5, seed=3)
    voices = [u.speaker for u in tuning.utterances]
    held_out = {s for s, is_test in zip(voices, tuning.is_test, strict=True) if is_test}
    trained = {s for s, is_test in zip(voices, tuning.is_test, strict=True) if not is_test}
    assert not test_voices & set(voices)
    assert held_out and trained and not held_out & trained
    assert len(tuning.utterances) == tiny_data.is_test.count(False)
    first = tiny_data.is_test.index(False)
    assert tuning.features[0] is tiny_data.features[first]
    assert tuning.labels[0] == tiny_data.labels[first]
    assert tuning.targets[0] == tiny_data.targets[first]
    with pytest.raises(ValueError, match="fraction must be in"):
        validation_split(tiny_data, fraction=1.0)
    with pytest.raises(ValueError, match="at least 2 training voices"):
        validation_split(validation_split(tiny_data), fraction=0.5)


def test_two_task_coconut_run_writes_results_after_every_task(tiny_data, tmp_path, monkeypatch):
    written = []
    original = continual.write_result

    def spy(result, config, out_dir):
        written.append(len(result.seen_accuracy))
        return original(result, config, out_dir)

    monkeypatch.setattr(continual, "write_result", spy)
    result = run_continual(
        tiny_data, ContinualConfig("coconut", **TINY), out_dir=tmp_path, progress=False
    )
    assert written == [1, 2]
    assert [len(row) for row in result.accuracy_matrix] == [1, 2]
    summary = result.summary()
    assert 0.0 <= summary["final_accuracy"] <= 1.0 and summary["final_wer"] >= 0.0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["completed_tasks"] == 2 and saved["summary"] == pytest.approx(summary)
    assert result.train_samples > 0


def test_kd_needs_a_teacher_and_coconut_adds_mm_then_nspt(tiny_data):
    torch.manual_seed(0)
    model = SpokenLanguageModel(len(tiny_data.vocabulary), 40, 32, 2, 1, dropout=0.0)
    teacher = SpokenLanguageModel(len(tiny_data.vocabulary), 40, 32, 2, 1, dropout=0.0).eval()
    current, replayed = list(range(6)), list(range(30, 36))
    losses = {}
    for method in ("replay", "kd", "coconut"):
        config = ContinualConfig(method, **TINY)
        losses[method] = _step_loss(model, teacher, tiny_data, current, replayed, config)
        losses[f"{method}-first-task"] = _step_loss(
            model, None, tiny_data, current, replayed, config
        )
    # Replay and KD before a teacher exist are plain cross-entropy; MM is on from the first task.
    torch.testing.assert_close(losses["replay"], losses["replay-first-task"])
    torch.testing.assert_close(losses["kd-first-task"], losses["replay"])
    assert losses["kd"] > losses["replay"]
    assert losses["coconut-first-task"] > losses["replay"]
    assert losses["coconut"] > losses["coconut-first-task"]
    losses["coconut"].backward()
    assert all(p.grad is None for p in teacher.parameters())


def test_coconut_with_zero_loss_weights_is_exactly_replay(tiny_data):
    # Fairness of the comparison: same initialisation, task order, batches, buffer and replay
    # draws, so COCONUT differs from replay only by its two loss terms.
    runs = {
        method: run_continual(
            tiny_data,
            ContinualConfig(method, nspt_weight=0.0, mm_weight=0.0, **TINY),
            progress=False,
        )
        for method in ("replay", "coconut")
    }
    assert runs["coconut"].accuracy_matrix == runs["replay"].accuracy_matrix
    assert runs["coconut"].seen_wer == runs["replay"].seen_wer
    assert runs["coconut"].train_samples == runs["replay"].train_samples


def test_coconut_contrasts_rehearsal_with_the_previous_task_model_and_mm_on_current_data(
    tiny_data, monkeypatch
):
    # Audit against the paper (methods.md, COCONUT): NSPT sees rehearsal samples of earlier tasks
    # only and its teacher is the frozen model as it was after the previous task; MM sees
    # current-task samples only.
    after_task, teachers, nspt_labels, mm_labels = [], [], [], []
    evaluate, coconut_terms = continual._evaluate, continual._coconut_terms
    nspt, mm = continual.nspt_loss, continual.audio_text_contrastive_loss

    def snapshot_after_task(model, data, seen, result):
        after_task.append({k: v.clone() for k, v in model.state_dict().items()})
        return evaluate(model, data, seen, result)

    def spy_terms(model, teacher, batch, memory, padding, num_current, config, **options):
        if teacher is not None and len(teachers) < 3:
            teachers.append((len(after_task), teacher.state_dict(), teacher.training))
            assert not any(p.requires_grad for p in teacher.parameters())
        return coconut_terms(model, teacher, batch, memory, padding, num_current, config, **options)

    def spy_nspt(student, teacher, labels, temperature):
        nspt_labels.append((len(after_task), set(labels.tolist())))
        return nspt(student, teacher, labels, temperature)

    def spy_mm(audio, text, labels, temperature):
        mm_labels.append((len(after_task), set(labels.tolist())))
        return mm(audio, text, labels, temperature)

    monkeypatch.setattr(continual, "_evaluate", snapshot_after_task)
    monkeypatch.setattr(continual, "_coconut_terms", spy_terms)
    monkeypatch.setattr(continual, "nspt_loss", spy_nspt)
    monkeypatch.setattr(continual, "audio_text_contrastive_loss", spy_mm)
    result = run_continual(tiny_data, ContinualConfig("coconut", **TINY), progress=False)
    task_labels = [{tiny_data.intent_names.index(name) for name in task} for task in result.tasks]
    assert teachers and nspt_labels and mm_labels
    for finished, state, training in teachers:
        assert finished == 1 and not training
        for key, value in after_task[0].items():
            torch.testing.assert_close(state[key], value)
    assert all(step == 1 and labels <= task_labels[0] for step, labels in nspt_labels)
    assert all(labels <= task_labels[step] for step, labels in mm_labels)
    assert {step for step, _ in mm_labels} == {0, 1}


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="method must be one of"):
        ContinualConfig("ewc")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        ContinualConfig(epochs=0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ContinualConfig(temperature=0.0)
    with pytest.raises(ValueError, match="nspt_weight must be >= 0"):
        ContinualConfig(nspt_weight=-0.1)
    with pytest.raises(ValueError, match="mm_weight must be >= 0"):
        ContinualConfig(mm_weight=float("nan"))


def test_cl_train_speech_runs_end_to_end(tiny_corpus, tmp_path, capsys):
    args = parse(
        [
            "speech",
            "--method",
            "replay",
            "--data",
            str(tiny_corpus),
            "--out",
            str(tmp_path),
            "--tasks",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--buffer-size",
            "8",
        ]
    )
    assert args.func(args) == 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["method"] == "replay" and saved["completed_tasks"] == 2
    assert (tmp_path / "accuracy.png").stat().st_size > 0
    assert '"forgetting"' in capsys.readouterr().out


@pytest.mark.requires_data("espeak-ng", "flite")
def test_make_data_command_builds_a_corpus(tmp_path, capsys):
    args = parse(["speech", "make-data", "--out", str(tmp_path / "c"), "--n-speakers", "1"])
    assert args.func(args) == 0
    lines = (tmp_path / "c" / "manifest.csv").read_text().splitlines()
    assert len(lines) == 1 + 24
    assert "synthesized" in capsys.readouterr().out


def test_bad_manifest_gives_one_line_error_with_file_and_line(tmp_path, capsys):
    corpus = tmp_path / "bad"
    corpus.mkdir()
    (corpus / "manifest.csv").write_text(
        "path,transcript,action,object,location,intent,speaker,synthesizer\n"
        "wavs/a.wav,lights on,activate,lights,none,activate_lights_none,s,espeak-ng\n"
        "wavs/b.wav,lights on\n"
    )
    args = parse(["speech", "--data", str(corpus), "--out", str(tmp_path / "out")])
    assert args.func(args) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "manifest.csv, line 3" in error and error.startswith("cl-train speech: error:")


def test_missing_data_option_and_missing_wav_are_user_errors(tiny_corpus, tmp_path, capsys):
    args = parse(["speech", "--out", str(tmp_path)])
    assert args.func(args) == 2
    assert "--data CACHE is required" in capsys.readouterr().err
    corpus = tmp_path / "nowav"
    corpus.mkdir()
    (corpus / "manifest.csv").write_text((tiny_corpus / "manifest.csv").read_text())
    args = parse(["speech", "--data", str(corpus), "--out", str(tmp_path / "o")])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    assert "cannot read audio" in error and ".wav" in error


def test_cl_train_speech_validation_run_never_scores_test_voices(tiny_corpus, tmp_path, capsys):
    argv = ["speech", "--data", str(tiny_corpus), "--out", str(tmp_path), "--tasks", "2"]
    argv += ["--epochs", "1", "--buffer-size", "8", "--nspt-weight", "0.3", "--mm-weight", "0"]
    args = parse([*argv, "--validation"])
    assert args.func(args) == 0
    assert "validation" in capsys.readouterr().out
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["config"]["nspt_weight"] == 0.3 and saved["config"]["mm_weight"] == 0.0
    args = parse([*argv[:4], str(tmp_path / "bad"), "--nspt-weight", "-1"])
    assert args.func(args) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "nspt_weight must be >= 0" in error
