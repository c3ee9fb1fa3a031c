"""Training throughput of ``cl-train text`` vs sentence-transformers' own trainer.

Both train the packaged all-MiniLM-L6-v2 on the same SICK 2014 NLI triplets (real data), with the
same batch size, sequence length and number of optimizer steps: ours with supervised SimCSE
(``cl_core.losses.info_nce`` with the contradiction as hard negative) through the Lightning engine
(:func:`cl_text.training.train_sentence_encoder`), theirs with ``MultipleNegativesRankingLoss``
through ``SentenceTransformerTrainer``. Each repeat times the whole training call (setup, steps,
our end-of-run checkpoint) and reports samples/s = steps x batch / seconds; runs alternate between
the two trainers and the median over repeats is reported.

Usage:
    uv run --no-sync python benchmarks/text_throughput.py --data-dir /work/shared/data \
        [--steps 10 --batch-size 32 --repeats 3] [--out-dir DIR]

Writes ``text_throughput.json`` and ``.md`` to ``--out-dir`` (default ``benchmarks/results``; point
it elsewhere for a smoke run so the recorded results stay).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def ours(triplets, steps: int, batch_size: int, seq_len: int, work: Path) -> float:
    from cl_text.encoder import load_sentence_encoder
    from cl_text.training import TextTrainConfig, train_sentence_encoder

    model = load_sentence_encoder(max_seq_len=seq_len)
    config = TextTrainConfig(
        method="simcse-sup",
        batch_size=batch_size,
        max_seq_len=seq_len,
        max_steps=steps,
        trainer_options={"tensorboard": False},
    )
    started = time.perf_counter()
    results = train_sentence_encoder(model, triplets, config, work, progress_bar=False)
    elapsed = time.perf_counter() - started
    return results["steps"] * batch_size / elapsed


def theirs(triplets, steps: int, batch_size: int, seq_len: int, work: Path) -> float:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from cl_text.encoder import load_sentence_encoder

    model = load_sentence_encoder(max_seq_len=seq_len)
    data = Dataset.from_dict(
        {
            "anchor": [t[0] for t in triplets],
            "positive": [t[1] for t in triplets],
            "negative": [t[2] for t in triplets],
        }
    )
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=batch_size,
        max_steps=steps,
        learning_rate=3e-5,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_drop_last=True,
    )
    loss = MultipleNegativesRankingLoss(model, scale=20.0)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss)
    started = time.perf_counter()
    output = trainer.train()
    elapsed = time.perf_counter() - started
    return output.global_step * batch_size / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-len", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from cl_text.data import read_triplets

    sick = args.data_dir / "sts" / "sick2014" / "SICK_train.txt"
    triplets = [(t.anchor, t.positive, t.negative) for t in read_triplets(sick)]
    samples: dict[str, list[float]] = {"cl-train text (simcse-sup)": [], "ST trainer + MNRL": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, fn in (("cl-train text (simcse-sup)", ours), ("ST trainer + MNRL", theirs)):
                work = Path(tmp) / f"{repeat}-{name[:2]}"
                rate = fn(triplets, args.steps, args.batch_size, args.max_seq_len, work)
                samples[name].append(rate)
                print(f"repeat {repeat}: {name}: {rate:.1f} samples/s", flush=True)
    medians = {name: statistics.median(rates) for name, rates in samples.items()}
    ratio = medians["cl-train text (simcse-sup)"] / medians["ST trainer + MNRL"]
    report = {
        "data": "SICK 2014 train NLI triplets (real)",
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
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "text_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "| trainer | median samples/s | runs |",
        "|---|---:|---|",
        *(
            f"| {name} | {medians[name]:.1f} | {', '.join(f'{r:.1f}' for r in rates)} |"
            for name, rates in samples.items()
        ),
        "",
        f"ours / theirs = {ratio:.2f}x ({args.steps} steps, batch {args.batch_size}, "
        f"max_seq_len {args.max_seq_len}, {args.repeats} alternating repeats; "
        f"1-min load average at end {report['load_average_1min_at_end']:.1f}).",
    ]
    (args.out_dir / "text_throughput.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
