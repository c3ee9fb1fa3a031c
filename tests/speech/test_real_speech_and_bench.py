"""Real recordings (Asterisk prompts, FSDD) and the cl-bench recipes with the smoke profile."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cl_core.registry import BenchContext
from cl_speech.bench import RECIPES
from cl_speech.real_speech import (
    asterisk_duration_check,
    fsdd_digit_accuracy,
    load_asterisk_prompts,
)


@pytest.mark.requires_data("asterisk-prompts")
def test_asterisk_prompts_have_transcripts():
    prompts = load_asterisk_prompts()
    assert len(prompts) > 500
    by_name = {p.path.relative_to(p.path.parents[1]).as_posix(): p for p in prompts}
    assert by_name["digits/7.wav"].transcript == "seven"
    assert not any(p.transcript.startswith("[") for p in prompts)


@pytest.mark.requires_data("asterisk-prompts")
def test_log_mel_speech_time_tracks_transcript_length_on_real_prompts():
    scores = asterisk_duration_check(load_asterisk_prompts()[:25])
    assert scores["spearman"] > 0.8
    with pytest.raises(ValueError, match="at least 3 prompts"):
        asterisk_duration_check([])


def test_a_prompt_copy_in_the_data_dir_is_read_with_its_transcripts(tmp_path):
    import gzip

    import numpy as np
    import soundfile

    folder = tmp_path / "data" / "asterisk-prompts"
    folder.mkdir(parents=True)
    soundfile.write(folder / "hello-world.wav", np.zeros(800, dtype=np.float32), 8000)
    with gzip.open(folder / "core-sounds-en.txt.gz", "wt") as handle:
        handle.write("hello-world: Hello world.\nbeep: [a tone]\nmissing: No file here.\n")
    # The folder itself is used as given (the Debian copy would win over a data folder).
    prompts = load_asterisk_prompts(data_dir=folder)
    assert [(p.path.name, p.transcript) for p in prompts] == [("hello-world.wav", "Hello world.")]


def test_missing_asterisk_package_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="asterisk-core-sounds-en-wav"):
        load_asterisk_prompts(tmp_path / "absent")


def test_audio_encoder_learns_real_fsdd_digits():
    scores = fsdd_digit_accuracy(epochs=2, max_train=300)
    assert scores["baseline_accuracy"] > 0.6
    assert scores["encoder_accuracy"] > 0.3  # chance is 0.1
    assert scores["test_utterances"] == 600


def test_bench_and_cli_modules_are_import_light():
    code = (
        "import sys, cl_speech.bench, cl_speech.cli; "
        "print(sorted(m for m in ('torch', 'torchaudio') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: f"{r.method}-{r.datasets[0].name}")
def test_recipes_run_with_the_smoke_profile(
    recipe, tiny_corpus, tmp_path, monkeypatch, require_data
):
    monkeypatch.setenv("CL_SPEECH_CACHE", str(tiny_corpus.parent))
    dataset = recipe.datasets[0]
    require_data(*dataset.requires)
    ctx = BenchContext(dataset.name, "smoke", 0, None, tmp_path)
    row = recipe.load()(ctx)
    assert row.dataset == dataset.name and row.data_kind == dataset.kind
    assert row.metrics and row.baselines and row.train_time_s >= 0
    assert all(set(values) == set(row.metrics) for values in row.baselines.values())
    if dataset.name == "fsc-synth":
        assert set(row.baselines) == {"replay", "kd", "finetune"}
        assert row.data_kind == "synthesized" and "Synthesized" in row.notes
        summary = json.loads((tmp_path / "speech-fsc-synth" / "summary.json").read_text())
        assert set(summary) == {"seeds", "coconut", "replay", "kd", "finetune"}
        assert summary["seeds"] == [0] and row.metrics["forgetting_std"] == 0.0
        assert (tmp_path / "speech-fsc-synth" / "accuracy.png").exists()
    else:
        assert row.data_kind == "real"
