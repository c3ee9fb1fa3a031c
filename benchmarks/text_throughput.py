"""Training throughput of ``cl-train text`` vs sentence-transformers' own trainer.

Both train the packaged all-MiniLM-L6-v2 on the same real SICK 2014 sentences, with the same batch
size, sequence length and number of optimizer steps, then save the trained model:

* ``--method simcse-sup``: SICK NLI triplets (premise, entailment, contradiction); ours is
  supervised SimCSE (``cl_core.losses.info_nce``, the contradiction as hard negative), theirs
  ``MultipleNegativesRankingLoss`` on (anchor, positive, negative) columns - the same objective.
* ``--method simcse``: unsupervised SimCSE on the SICK premises; theirs is
  ``MultipleNegativesRankingLoss`` on (sentence, same sentence) pairs, the recipe the
  sentence-transformers documentation gives for SimCSE.

Both trainers see the same batches in the same order (theirs through a batch sampler that
reproduces ours), so the comparison is of trainers, not of data orders.

Ours runs through the Lightning engine (:func:`cl_text.training.train_sentence_encoder`: a resumable
checkpoint at every epoch end and at the last step, written on a background thread, ``fit``
waiting for the last one; model saved in sentence-transformers format); theirs through
``SentenceTransformerTrainer`` followed by ``model.save``, twice: with its default settings (no
checkpoint in so short a run: it checkpoints every 500 steps) and like-for-like, writing a
resumable checkpoint (weights, optimizer, scheduler, RNG) at the last step as ours does. Both clocks
start once the model is loaded and the examples are in memory, so trainer and dataset construction
count on both sides. Two figures per run: samples/s of the whole job (set-up, steps, saving) =
steps x batch / seconds, and the steady-state step time (median time between consecutive step ends
after two warm-up steps, data loading included). Runs alternate between the trainers (order
rotated every repeat); medians over repeats are reported.

Usage:
    uv run --no-sync python benchmarks/text_throughput.py --data-dir /work/shared/data \
        [--method simcse-sup|simcse] [--steps 10 --batch-size 32 --repeats 3] [--out-dir DIR]

Writes ``text_throughput_<method>.json`` and ``.md`` to ``--out-dir`` (default
``benchmarks/results``; point it elsewhere for a smoke run so the recorded results stay).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


class StepClock:
    """Wall-clock time at the end of every optimizer step (data loading included)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def tick(self) -> None:
        self.ends.append(time.perf_counter())

    def median_step_s(self) -> float:
        """Median time between consecutive step ends, after the first two (warm-up) steps."""
        gaps = [b - a for a, b in zip(self.ends[2:], self.ends[3:], strict=False)]
        return statistics.median(gaps) if gaps else float("nan")


Example = tuple[str, ...]
OURS = "cl-train text"
THEIRS = "ST trainer + MNRL"
THEIRS_CHECKPOINTED = "ST trainer + MNRL, checkpoint at end"


def ours(
    method: str, examples: list[Example], steps: int, batch_size: int, seq_len: int, work: Path
) -> tuple[float, float]:
    from lightning.pytorch.callbacks import Callback

    from cl_text.encoder import load_sentence_encoder
    from cl_text.training import TextTrainConfig, train_sentence_encoder

    clock = StepClock()

    class Tick(Callback):
        def on_train_batch_end(self, *args, **kwargs) -> None:
            clock.tick()

    model = load_sentence_encoder(max_seq_len=seq_len)
    config = TextTrainConfig(
        method=method,
        batch_size=batch_size,
        max_seq_len=seq_len,
        # Enough passes for ``steps`` full batches: max_steps, not the epoch count, ends the run
        # (theirs also loops over the data until max_steps).
        epochs=math.ceil(steps / (len(examples) // batch_size)),
        max_steps=steps,
        trainer_options={"tensorboard": False, "callbacks": [Tick()]},
    )
    started = time.perf_counter()
    results = train_sentence_encoder(model, examples, config, work, progress_bar=False)
    elapsed = time.perf_counter() - started
    if results["steps"] != steps:
        raise RuntimeError(f"ours ran {results['steps']} steps instead of {steps}")
    return steps * batch_size / elapsed, clock.median_step_s()


def same_batches_as_ours(seed: int) -> type:
    """A sentence-transformers batch sampler that yields exactly the batches ours trains on.

    Ours draws epoch ``e``'s order as ``randperm(n, generator seed + e)`` and drops the last
    partial batch (:class:`cl_core.training.ResumableSampler`); with the same batches, step times
    compare the trainers, not the padded lengths of two different data orders. The class is built
    here (sentence-transformers is imported lazily) and published as a module global, because the
    trainer pickles its arguments, this class included, into every checkpoint.
    """
    import torch
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class SameBatchesAsOurs(DefaultBatchSampler):
        def __iter__(self):
            generator = torch.Generator().manual_seed(seed + self.epoch)
            order = torch.randperm(len(self.sampler), generator=generator).tolist()
            for start in range(0, len(self) * self.batch_size, self.batch_size):
                yield order[start : start + self.batch_size]

    SameBatchesAsOurs.__qualname__ = SameBatchesAsOurs.__name__
    globals()[SameBatchesAsOurs.__name__] = SameBatchesAsOurs
    return SameBatchesAsOurs


def theirs(
    method: str,
    examples: list[Example],
    steps: int,
    batch_size: int,
    seq_len: int,
    work: Path,
    checkpoint_at_end: bool = False,
) -> tuple[float, float]:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    clock = StepClock()

    class Tick(TrainerCallback):
        def on_step_end(self, *args, **kwargs) -> None:
            clock.tick()

    from cl_text.encoder import load_sentence_encoder
    from cl_text.training import TextTrainConfig

    model = load_sentence_encoder(max_seq_len=seq_len)
    started = time.perf_counter()
    columns = ("anchor", "positive", "negative") if method == "simcse-sup" else ("anchor",)
    data = {name: [example[i] for example in examples] for i, name in enumerate(columns)}
    if method == "simcse":
        data["positive"] = data["anchor"]
    dataset = Dataset.from_dict(data)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=batch_size,
        max_steps=steps,
        learning_rate=3e-5,
        report_to=[],
        save_strategy="steps" if checkpoint_at_end else "no",
        save_steps=steps,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_drop_last=True,
        batch_sampler=same_batches_as_ours(seed=TextTrainConfig().seed),
    )
    loss = MultipleNegativesRankingLoss(model, scale=20.0)
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=loss, callbacks=[Tick()]
    )
    output = trainer.train()
    model.save(str(work / "model"))
    elapsed = time.perf_counter() - started
    if output.global_step != steps:
        raise RuntimeError(f"theirs ran {output.global_step} steps instead of {steps}")
    return steps * batch_size / elapsed, clock.median_step_s()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--method", choices=("simcse-sup", "simcse"), default="simcse-sup")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-len", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from cl_text.data import read_triplets

    sick = args.data_dir / "sts" / "sick2014" / "SICK_train.txt"
    triplets = read_triplets(sick)
    if args.method == "simcse-sup":
        examples: list[Example] = [(t.anchor, t.positive, t.negative) for t in triplets]
        data = "SICK 2014 train NLI triplets (real)"
    else:
        examples = [(sentence,) for sentence in dict.fromkeys(t.anchor for t in triplets)]
        data = "SICK 2014 train premises (real), one sentence per example"
    trainers = {
        OURS: ours,
        THEIRS: theirs,
        THEIRS_CHECKPOINTED: functools.partial(theirs, checkpoint_at_end=True),
    }
    samples: dict[str, list[float]] = {name: [] for name in trainers}
    step_s: dict[str, list[float]] = {name: [] for name in trainers}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            # Rotate the order so that no trainer always pays the process's first-run warm-up.
            names = list(trainers)
            for index in range(len(names)):
                name = names[(index + repeat) % len(names)]
                fn = trainers[name]
                work = Path(tmp) / f"{repeat}-{index}"
                rate, step = fn(
                    args.method, examples, args.steps, args.batch_size, args.max_seq_len, work
                )
                samples[name].append(rate)
                step_s[name].append(step)
                print(f"repeat {repeat}: {name}: {rate:.1f} samples/s, {step:.3f} s/step")
    medians = {name: statistics.median(rates) for name, rates in samples.items()}
    step_medians = {name: statistics.median(steps) for name, steps in step_s.items()}
    ratio = medians[OURS] / medians[THEIRS]
    ratio_checkpointed = medians[OURS] / medians[THEIRS_CHECKPOINTED]
    step_ratio = step_medians[THEIRS] / step_medians[OURS]
    report = {
        "method": args.method,
        "data": data,
        "model": "all-MiniLM-L6-v2",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "max_seq_len": args.max_seq_len,
        "repeats": args.repeats,
        "cpu_threads": os.cpu_count(),
        "load_average_1min_at_end": os.getloadavg()[0],
        "samples_per_s": samples,
        "median_samples_per_s": medians,
        "ours_over_theirs": ratio,
        "ours_over_theirs_checkpointed": ratio_checkpointed,
        "steady_state_s_per_step": step_s,
        "median_steady_state_s_per_step": step_medians,
        "steady_state_ours_over_theirs": step_ratio,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"text_throughput_{args.method}"
    (args.out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"`{args.method}` on {data}",
        "",
        "| trainer | median samples/s (whole job) | runs | median s/step (steady state) |",
        "|---|---:|---|---:|",
        *(
            f"| {name} | {medians[name]:.1f} | {', '.join(f'{r:.1f}' for r in rates)} | "
            f"{step_medians[name]:.3f} |"
            for name, rates in samples.items()
        ),
        "",
        f"ours / theirs = {ratio:.2f}x whole job ({ratio_checkpointed:.2f}x against theirs with "
        f"a checkpoint at the end), {step_ratio:.2f}x steady-state steps "
        f"({args.steps} steps, batch {args.batch_size}, max_seq_len {args.max_seq_len}, "
        f"{args.repeats} alternating repeats; 1-min load average at end "
        f"{report['load_average_1min_at_end']:.1f}).",
    ]
    (args.out_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
