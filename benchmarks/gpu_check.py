"""GPU check: every ``cl-train`` sub-command a few steps on CUDA, plus loss timings (issue 20).

Runs, as it is, on a machine with no network and only the usual stack preinstalled (torch,
lightning, transformers, sentence-transformers, torchvision, torchaudio, torch-geometric and their
dependencies), with a copy of this repository's tracked files:

1. ``--install`` installs the workspace with ``pip install --no-deps -e packages/* apps/*``
   (``--no-build-isolation`` when ``hatchling`` is importable, since there is no index to fetch it
   from) unless it is importable already. Without ``--install``, or when pip fails, the
   subprocesses get the sources on ``PYTHONPATH`` plus generated ``.dist-info`` folders holding
   the ``cl_train.commands`` entry points, so nothing outside a temporary folder is written.
2. It builds tiny inputs for every sub-command in a temporary folder, without any download: digits
   (scikit-learn) for ``core`` and ``vision``; a randomly initialised two-layer BERT saved with
   ``save_pretrained`` plus a ``BertTokenizerFast`` built from a written ``vocab.txt`` for ``text``
   (sentences file and triplet CSV) and ``rlhf`` (preference JSONL); NAME.png + NAME.txt pairs for
   ``multimodal`` (bow text tower); a random graph in the HeCo ``acm`` layout for ``graph``; a
   manifest plus WAV files written with the standard library for ``speech`` (no espeak-ng); a CSV
   for ``regression``.
3. It runs each sub-command as ``python -m cl_train.main MODALITY ... --accelerator gpu
   --precision bf16-mixed`` (a second ``--devices 2 --strategy ddp`` run where two GPUs exist),
   each with a timeout, recording ok / failed (last error line) / skipped (a missing module, a
   refused option), wall seconds, steps/s (optimizer steps from the run's checkpoints or
   ``logs/metrics.csv``, over the ``train_time_s`` the run reports) and the peak GPU memory
   (``nvidia-smi --query-gpu=memory.used`` polled every 0.5 s, minus the reading before the run,
   max over GPUs).
4. ``benchmarks/loss_scaling.py`` has no device option, so this script times forward + backward of
   ``cl_core.losses.info_nce``, ``clip_loss``, the tiled two-direction path
   (``tiled_symmetric_info_nce``) and the textbook ``F.cross_entropy`` at B = 4096 and 16384,
   D = 256 on CUDA itself (peak memory from ``torch.cuda.max_memory_allocated``).
5. It prints one Markdown table and writes it, with JSON, to
   ``benchmarks/results/gpu_check.{md,json}`` (``gpu_check_cpu.*`` for ``--accelerator cpu``),
   naming the GPU, torch and lightning. It exits 0 even when rows fail; the table says so.

``--accelerator cpu`` is a dry run of the same commands on CPU (still ``bf16-mixed``; peak memory is
then the main process's resident high-water mark and the loss sizes are smaller).

Usage::

    python benchmarks/gpu_check.py --install            # on the GPU machine, < 8 minutes
    uv run --no-sync python benchmarks/gpu_check.py --accelerator cpu --only core,regression
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
MODALITIES = ("core", "graph", "multimodal", "regression", "rlhf", "speech", "text", "vision")
GPU_LOSS_SIZES = (4096, 16384)
CPU_LOSS_SIZES = (1024, 2048)
LOSS_DIM = 256
TEMPERATURE = 0.1
MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")


@dataclass
class Row:
    """One line of the table."""

    command: str
    status: str = "skipped"
    steps_per_s: float | None = None
    peak_mib: float | None = None
    wall_s: float | None = None
    note: str = ""
    argv: list[str] = field(default_factory=list)


@dataclass
class Job:
    """One ``cl-train`` run: its table label, arguments and why it cannot run (if so)."""

    label: str
    args: list[str]
    skip: str | None = None
    devices: int = 1


# ---------------------------------------------------------------------------------------------
# Installing (or shimming) the workspace


def _workspace_projects() -> list[Path]:
    return sorted(p for p in [*REPO.glob("packages/*"), *REPO.glob("apps/*")] if p.is_dir())


def _importable(python_path: str | None = None) -> bool:
    """Whether a fresh interpreter imports cl_core / cl_train and sees every sub-command."""
    code = (
        "import importlib.metadata as m, cl_core, cl_train;"
        "names={e.name for e in m.entry_points(group='cl_train.commands')};"
        f"raise SystemExit(0 if set({list(MODALITIES)!r}) <= names else 3)"
    )
    env = dict(os.environ)
    if python_path is not None:
        env["PYTHONPATH"] = python_path
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    return done.returncode == 0


def _install() -> str:
    """``pip install --no-deps -e packages/* apps/*`` unless already importable; a status line."""
    if _importable():
        return "workspace already importable; pip install skipped"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index"]
    hatchling = importlib.util.find_spec("hatchling") is not None
    if hatchling:
        command.append("--no-build-isolation")
    for project in _workspace_projects():
        command += ["-e", str(project)]
    print("+", " ".join(command), flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"pip install failed ({type(error).__name__})"
    if done.returncode != 0:
        why = "" if hatchling else " (hatchling, the build backend, is not installed)"
        return f"pip install failed{why}: {_last_error_line(done.stdout + done.stderr)}"
    return "pip install --no-deps -e packages/* apps/*: done"


def _write_shim(folder: Path) -> str:
    """A PYTHONPATH with every ``src`` folder and one ``.dist-info`` (entry points) per project."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [str(folder)]
    for project in _workspace_projects():
        meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
        name = meta["name"].replace("-", "_")
        info = folder / f"{name}-{meta.get('version', '0.0.0')}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta.get('version', '0')}\n"
        )
        lines = []
        for group, entries in meta.get("entry-points", {}).items():
            lines.append(f"[{group}]")
            lines += [f"{key} = {value}" for key, value in entries.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        if (project / "src").is_dir():
            paths.append(str(project / "src"))
    return os.pathsep.join(paths)


# ---------------------------------------------------------------------------------------------
# Tiny inputs


_WORD_TEXT = (
    "a the man woman child dog cat bird horse car bike boat plane train red blue green small big "
    "old young is are was plays runs eats reads sings walks rides jumps sits sleeps in on at near "
    "park street house garden river beach field kitchen room table ball guitar book song food "
    "water bread apple quickly slowly happily loudly quietly today yesterday morning evening and "
    "with without over under good bad helpful rude answer question please thanks sorry yes no"
)
WORDS = tuple(_WORD_TEXT.split())


def _sentences(count: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10))) for _ in range(count)]


def build_tiny_bert(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) and a word-level WordPiece tokenizer."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_text_data(folder: Path) -> tuple[Path, Path]:
    """A sentences file (SimCSE) and an anchor,positive,negative CSV (supervised SimCSE)."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = folder / "sentences.txt"
    sentences.write_text("\n".join(_sentences(256, 0)) + "\n")
    triplets = folder / "triplets.csv"
    with triplets.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["anchor", "positive", "negative"])
        for anchor, negative in zip(_sentences(128, 1), _sentences(128, 2), strict=True):
            writer.writerow([anchor, anchor + " today", negative])
    return sentences, triplets


def build_pairs(path: Path) -> Path:
    """Preference pairs in the HH-RLHF layout (one JSON object a line)."""
    prompts, good, bad = _sentences(96, 3), _sentences(96, 4), _sentences(96, 5)
    with path.open("w") as handle:
        for prompt, chosen, rejected in zip(prompts, good, bad, strict=True):
            head = f"\n\nHuman: {prompt} question\n\nAssistant: "
            record = {"chosen": head + "helpful " + chosen, "rejected": head + "rude " + rejected}
            handle.write(json.dumps(record) + "\n")
    return path


def build_caption_folder(folder: Path, count: int = 64) -> Path:
    """NAME.png + NAME.txt pairs: coloured shapes and their captions."""
    import random

    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    colours = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 60, 220)}
    rng = random.Random(0)
    for index in range(count):
        colour = rng.choice(sorted(colours))
        shape = rng.choice(("square", "circle"))
        size = rng.choice(("small", "big"))
        image = Image.new("RGB", (32, 32), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        half = 6 if size == "small" else 13
        x, y = rng.randint(half, 31 - half), rng.randint(half, 31 - half)
        box = (x - half, y - half, x + half, y + half)
        (draw.rectangle if shape == "square" else draw.ellipse)(box, fill=colours[colour])
        image.save(folder / f"item{index:03d}.png")
        (folder / f"item{index:03d}.txt").write_text(f"a {size} {colour} {shape}\n")
    return folder


def build_heco_acm(root: Path) -> Path:
    """A random graph with ACM's node counts in the HeCo layout (``root/heco/acm``)."""
    import numpy as np
    import scipy.sparse as sp

    folder = root / "heco" / "acm"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    papers, authors, subjects, classes = 4019, 7167, 60, 3
    labels = rng.integers(0, classes, papers)
    np.save(folder / "labels.npy", labels)
    author_of = rng.integers(0, authors, (papers, 3))
    subject_of = (labels * 20 + rng.integers(0, 20, papers)) % subjects
    (folder / "pa.txt").write_text(
        "".join(f"{p}\t{a}\n" for p in range(papers) for a in sorted(set(author_of[p])))
    )
    (folder / "ps.txt").write_text("".join(f"{p}\t{subject_of[p]}\n" for p in range(papers)))
    words = 64
    paper_features = (rng.random((papers, words)) < 0.05).astype(np.float32)
    paper_features[np.arange(papers), labels] = 1.0
    sp.save_npz(folder / "p_feat.npz", sp.csr_matrix(paper_features))
    sp.save_npz(folder / "a_feat.npz", sp.csr_matrix(rng.random((authors, words)) < 0.05))
    same_subject = [np.flatnonzero(subject_of == subject_of[p])[:5] for p in range(papers)]
    rows = np.concatenate([np.full(len(s), p) for p, s in enumerate(same_subject)])
    cols = np.concatenate(same_subject)
    positives = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(papers, papers))
    positives = (positives + sp.identity(papers)).tocsr()
    positives.data[:] = 1.0
    sp.save_npz(folder / "pos.npz", positives)
    order = rng.permutation(papers)
    test, val, rest = order[:1000], order[1000:2000], order[2000:]
    for size in (20, 40, 60):
        train = np.concatenate([rest[labels[rest] == c][:size] for c in range(classes)])
        np.save(folder / f"train_{size}.npy", train)
        np.save(folder / f"val_{size}.npy", val)
        np.save(folder / f"test_{size}.npy", test)
    return root


SPEECH_INTENTS = (
    ("activate", "lights", "kitchen", "turn on the lights in the kitchen"),
    ("deactivate", "lights", "kitchen", "turn off the lights in the kitchen"),
    ("increase", "volume", "none", "turn up the volume"),
    ("decrease", "volume", "none", "turn down the volume"),
)


def build_speech_corpus(folder: Path, speakers: int = 4, takes: int = 2) -> Path:
    """``manifest.csv`` + 16 kHz WAVs (intent-dependent tones in noise), no synthesizer needed."""
    import numpy as np

    (folder / "wavs").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for speaker in range(speakers):
        for intent_index, (action, obj, location, transcript) in enumerate(SPEECH_INTENTS):
            for take in range(takes):
                name = f"wavs/s{speaker}_i{intent_index}_t{take}.wav"
                t = np.arange(int(16000 * rng.uniform(0.4, 0.6))) / 16000
                pitch = 200 * (intent_index + 1) * (1 + 0.05 * speaker)
                signal = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.05 * rng.standard_normal(t.size)
                with wave.open(str(folder / name), "wb") as handle:
                    handle.setnchannels(1)
                    handle.setsampwidth(2)
                    handle.setframerate(16000)
                    handle.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
                intent = f"{action}_{obj}_{location}"
                rows.append([name, transcript, action, obj, location, intent, f"tone{speaker}"])
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        columns = ["path", "transcript", "action", "object", "location", "intent", "speaker"]
        writer.writerow([*columns, "synthesizer"])
        writer.writerows([*row, "numpy-tones"] for row in rows)
    return folder


def build_regression_csv(path: Path, rows: int = 400) -> Path:
    """Five numeric features and a smooth noisy target ``y``."""
    import numpy as np

    rng = np.random.default_rng(0)
    features = rng.standard_normal((rows, 5))
    target = features[:, 0] * 2 + np.sin(features[:, 1]) + 0.1 * rng.standard_normal(rows)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f"x{i}" for i in range(5)), "y"])
        writer.writerows([*map(float, f), float(y)] for f, y in zip(features, target, strict=True))
    return path


def build_jobs(work: Path, want: set[str]) -> list[Job]:
    """Build the inputs each wanted sub-command needs and return its runs (single device)."""
    jobs: list[Job] = []

    def attempt(build):
        try:
            return build(), None
        except ModuleNotFoundError as error:
            return None, f"module {error.name} missing"
        except Exception as error:
            return None, f"input not built: {type(error).__name__}: {error}"

    def add(label: str, args: str, paths: dict[str, object], skip: str | None = None) -> None:
        """``args`` is split on spaces; ``{name}`` words become the (unsplit) paths."""
        words = [str(paths.get(w[1:-1], "")) if w.startswith("{") else w for w in args.split()]
        jobs.append(Job(label, words, skip))

    if "core" in want:
        add(
            "core simclr (digits)",
            "core --method simclr --data digits --epochs 1 --batch-size 128",
            {},
        )
    bert, bert_skip = None, None
    if want & {"text", "rlhf"}:
        bert, bert_skip = attempt(lambda: build_tiny_bert(work / "tiny-bert"))
    if "text" in want:
        data, skip = attempt(lambda: build_text_data(work / "text"))
        paths = {"bert": bert, "sentences": data and data[0], "triplets": data and data[1]}
        common = "--base-model {bert} --epochs 1 --batch-size 32 --max-steps 4 --max-seq-len 16"
        add(
            "text simcse (tiny BERT)",
            "text --method simcse --train {sentences} " + common,
            paths,
            bert_skip or skip,
        )
        add(
            "text simcse-sup (tiny BERT)",
            "text --method simcse-sup --train {triplets} " + common,
            paths,
            bert_skip or skip,
        )
    if "vision" in want:
        add(
            "vision simclr (digits)",
            "vision --method simclr --data digits --train-limit 512 --epochs 1 --batch-size 128",
            {},
        )
    if "multimodal" in want:
        folder, skip = attempt(lambda: build_caption_folder(work / "captions"))
        add(
            "multimodal clip (bow + cnn)",
            "multimodal --data {folder} --text-tower bow "
            "--image-tower cnn --epochs 1 --batch-size 16",
            {"folder": folder},
            skip,
        )
    if "graph" in want:
        root, skip = attempt(lambda: build_heco_acm(work / "data"))
        add(
            "graph meow (random ACM-size graph)",
            "graph --method meow --dataset acm "
            "--data-dir {root} --epochs 2 --patience 2 --select-on loss",
            {"root": root},
            skip,
        )
    if "speech" in want:
        corpus, skip = attempt(lambda: build_speech_corpus(work / "speech"))
        add(
            "speech coconut (tone corpus)",
            "speech --method coconut --data {corpus} --tasks 2 "
            "--epochs 1 --batch-size 8 --buffer-size 8",
            {"corpus": corpus},
            skip,
        )
    if "regression" in want:
        table, skip = attempt(lambda: build_regression_csv(work / "table.csv"))
        add(
            "regression supremix (csv)",
            "regression --method supremix --csv {table} --target y --epochs 2 --batch-size 64",
            {"table": table},
            skip,
        )
    if "rlhf" in want:
        pairs, skip = attempt(lambda: build_pairs(work / "pairs.jsonl"))
        paths = {"pairs": pairs, "bert": bert}
        common = "--pairs {pairs} --encoder {bert} --batch-size 16 --max-length 32"
        add(
            "rlhf bt frozen (tiny BERT)",
            "rlhf --method bt --epochs 2 " + common,
            paths,
            bert_skip or skip,
        )
        add(
            "rlhf bt finetune (tiny BERT)",
            "rlhf --method bt --backbone finetune --finetune-layers 1 --epochs 1 " + common,
            paths,
            bert_skip or skip,
        )
    return jobs


def ddp_jobs(jobs: list[Job]) -> list[Job]:
    """The ``--devices 2 --strategy ddp`` variants (methods that refuse several devices swapped
    for one of the same sub-command that takes them, or skipped with the reason)."""
    variants = []
    for job in jobs:
        args = list(job.args)
        skip = job.skip
        label = job.label
        if args[0] == "graph":
            skip = skip or "graph refuses --devices > 1 (full-graph training, one process)"
        if args[0] == "regression":
            args[args.index("supremix")] = "supcon"
            label = label.replace("supremix", "supcon")
        if args[0] == "rlhf" and "finetune" not in args:
            skip = skip or "--backbone frozen refuses --devices (the finetune row runs DDP)"
        variants.append(
            Job(label + " ddp x2", [*args, "--devices", "2", "--strategy", "ddp"], skip, devices=2)
        )
    return variants


# ---------------------------------------------------------------------------------------------
# Running and measuring


class MemoryPoller:
    """Peak memory while a run lasts: GPU ``memory.used`` (nvidia-smi) or the child's VmHWM."""

    def __init__(self, gpu: bool, pid_getter) -> None:
        self.gpu = gpu and shutil.which("nvidia-smi") is not None
        self.pid_getter = pid_getter
        self.baseline = self._gpu_used() if self.gpu else None
        self.peak: list[float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    @staticmethod
    def _gpu_used() -> list[float] | None:
        try:
            done = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            return [float(v) for v in done.stdout.split()] or None
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None

    def _sample(self) -> list[float] | None:
        if self.gpu:
            return self._gpu_used()
        pid = self.pid_getter()
        if pid is None:
            return None
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        match = re.search(r"VmHWM:\s+(\d+)", status)
        return [int(match.group(1)) / 1024] if match else None

    def _poll(self) -> None:
        while not self._stop.is_set():
            sample = self._sample()
            if sample is not None:
                self.peak = (
                    sample
                    if self.peak is None
                    else [max(a, b) for a, b in zip(self.peak, sample, strict=False)]
                )
            self._stop.wait(0.5)

    def __enter__(self) -> MemoryPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def result(self) -> float | None:
        """MiB: max over GPUs of (peak - idle reading), or the child's resident high-water mark."""
        if self.peak is None:
            return None
        if self.gpu and self.baseline and len(self.baseline) == len(self.peak):
            return max(p - b for p, b in zip(self.peak, self.baseline, strict=True))
        return max(self.peak)


def _last_error_line(text: str) -> str:
    lines = [ln.split("\r")[-1].strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    for line in reversed(lines):
        if re.search(r"(Error|error:|Exception|Traceback|Killed)", line):
            return line[:300]
    return lines[-1][:300] if lines else "(no output)"


def _train_time(out: Path) -> float | None:
    """``train_time_s`` from the first JSON file of the run folder that reports it."""
    for path in sorted(out.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("train_time_s"), int | float):
            return float(data["train_time_s"]) or None
    return None


def _samples(out: Path) -> float | None:
    """``train_samples`` from the run's JSON files, if one reports it."""
    for path in sorted(out.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text())
            for key in ("train_samples",):
                if isinstance(data, dict) and isinstance(data.get(key), int | float):
                    return float(data[key])
    return None


def _steps(out: Path) -> int | None:
    """Optimizer steps: the newest ``step=N.ckpt`` of each checkpoint folder (summed), else the
    largest ``step`` of each ``metrics.csv`` (+1, summed)."""
    per_folder: dict[Path, int] = {}
    for path in out.rglob("step=*.ckpt"):
        match = re.match(r"step=(\d+)", path.name)
        if match:
            per_folder[path.parent] = max(per_folder.get(path.parent, 0), int(match.group(1)))
    if per_folder:
        return sum(per_folder.values())
    total = 0
    for path in out.rglob("metrics.csv"):
        with contextlib.suppress(OSError, ValueError, KeyError), path.open() as handle:
            steps = [int(float(r["step"])) for r in csv.DictReader(handle) if r.get("step")]
            total += max(steps) + 1 if steps else 0
    return total or None


def run_job(job: Job, work: Path, env: dict[str, str], accelerator: str, timeout: float) -> Row:
    """Run one ``cl-train`` command and measure it."""
    out = work / "runs" / re.sub(r"[^\w.-]+", "_", job.label)
    argv = [
        sys.executable,
        "-m",
        "cl_train.main",
        *job.args,
        "--accelerator",
        accelerator,
        "--precision",
        "bf16-mixed",
        "--seed",
        "0",
        "--out",
        str(out),
    ]
    if "--devices" not in job.args:
        # One device unless the job asks for more (Lightning's "auto" would take every GPU).
        argv += ["--devices", "1"]
    row = Row(job.label, argv=argv[2:])
    if job.skip:
        row.note = job.skip
        return row
    log = work / "logs" / f"{out.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    process: subprocess.Popen | None = None
    poller = MemoryPoller(accelerator == "gpu", lambda: None if process is None else process.pid)
    with log.open("w") as handle, poller as memory:
        process = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
            code = None
    row.wall_s = time.perf_counter() - started
    row.peak_mib = memory.result()
    text = log.read_text(errors="replace")
    if code is None:
        row.status, row.note = "failed", f"timed out after {timeout:.0f} s"
    elif code == 0:
        row.status = "ok"
        steps, seconds = _steps(out), _train_time(out)
        if steps:
            row.steps_per_s = steps / (seconds or row.wall_s)
            row.note = f"{steps} steps / " + (
                f"train_time_s {seconds:.1f}" if seconds else f"wall {row.wall_s:.1f} s"
            )
        else:
            row.note = "no step count in the outputs (no checkpoints / logs kept)"
            samples = _samples(out)
            if samples and seconds:
                row.note += f"; {samples / seconds:.0f} samples/s over train_time_s {seconds:.1f}"
    else:
        missing = MISSING_MODULE.findall(text)
        if missing and not missing[-1].startswith("cl_"):
            row.status, row.note = "skipped", f"module {missing[-1].split('.')[0]} missing"
        else:
            row.status, row.note = "failed", _last_error_line(text)
    return row


# ---------------------------------------------------------------------------------------------
# Loss timings (a subprocess, so that a crash or OOM there costs one row)


def loss_worker(device: str, sizes: list[int], repeats: int) -> None:
    """Print one JSON list: per (B, method) median seconds of forward + backward and peak MiB."""
    import torch
    import torch.nn.functional as F

    from cl_core.losses.masked_logits import AUTO_TILE_ELEMENTS

    cuda = device == "cuda"
    results = []
    for batch in sizes:
        generator = torch.Generator(device=device).manual_seed(0)
        q = torch.randn(batch, LOSS_DIM, device=device, generator=generator)
        k = torch.randn(batch, LOSS_DIM, device=device, generator=generator)
        q = F.normalize(q, dim=1).requires_grad_()
        k = F.normalize(k, dim=1).requires_grad_()
        index = torch.arange(batch, device=device)
        path = "auto-tiled" if batch * batch > AUTO_TILE_ELEMENTS else "dense"
        methods = _loss_methods(q, k, index, path)
        for name, loss in methods.items():
            try:
                times = []
                for attempt in range(repeats + 1):
                    if cuda:
                        torch.cuda.synchronize()
                        torch.cuda.reset_peak_memory_stats()
                        base = torch.cuda.memory_allocated()
                    start = time.perf_counter()
                    loss().backward()
                    if cuda:
                        torch.cuda.synchronize()
                    if attempt:
                        times.append(time.perf_counter() - start)
                    q.grad = k.grad = None
                peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if cuda else None
                results.append(
                    {
                        "B": batch,
                        "D": LOSS_DIM,
                        "method": name,
                        "status": "ok",
                        "seconds": statistics.median(times),
                        "peak_mib": peak,
                    }
                )
            except torch.cuda.OutOfMemoryError:
                results.append(
                    {
                        "B": batch,
                        "D": LOSS_DIM,
                        "method": name,
                        "status": "failed",
                        "error": "CUDA out of memory",
                    }
                )
                q.grad = k.grad = None
                torch.cuda.empty_cache()
    name = torch.cuda.get_device_name() if cuda else None
    print(json.dumps({"device_name": name, "cuda": torch.version.cuda, "rows": results}))


def _loss_methods(q, k, index, path: str) -> dict:
    """The timed losses, each a closure over the same (B, D) inputs."""
    import torch.nn.functional as F

    from cl_core.losses import clip_loss, info_nce
    from cl_core.losses.tiled import tiled_symmetric_info_nce

    return {
        "textbook": lambda: F.cross_entropy(q @ k.T / TEMPERATURE, index),
        f"info_nce ({path})": lambda: info_nce(q, k, temperature=TEMPERATURE),
        f"clip_loss ({path})": lambda: clip_loss(q, k, 1.0 / TEMPERATURE),
        "tiled_symmetric_info_nce": lambda: tiled_symmetric_info_nce(q, k, TEMPERATURE),
    }


def loss_rows(
    env: dict[str, str], accelerator: str, timeout: float, info: dict[str, object]
) -> list[Row]:
    """Run the loss worker; its rows, and the device name torch reports into ``info``."""
    device = "cuda" if accelerator == "gpu" else "cpu"
    sizes = GPU_LOSS_SIZES if device == "cuda" else CPU_LOSS_SIZES
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--loss-worker",
        device,
        "--loss-sizes",
        ",".join(map(str, sizes)),
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [Row("loss timings", "failed", wall_s=timeout, note="timed out")]
    wall = time.perf_counter() - started
    if done.returncode != 0:
        missing = MISSING_MODULE.findall(done.stderr)
        if missing and not missing[-1].startswith("cl_"):
            return [Row("loss timings", "skipped", note=f"module {missing[-1]} missing")]
        return [Row("loss timings", "failed", wall_s=wall, note=_last_error_line(done.stderr))]
    rows = []
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["device_name"]:
        info.update(gpu_name=report["device_name"], cuda=report["cuda"])
    for item in report["rows"]:
        label = f"loss {item['method']} B={item['B']} D={item['D']} fwd+bwd"
        if item["status"] != "ok":
            rows.append(Row(label, "failed", note=item["error"]))
            continue
        rows.append(
            Row(
                label,
                "ok",
                steps_per_s=1.0 / item["seconds"],
                peak_mib=item["peak_mib"],
                wall_s=item["seconds"],
                note="steps/s = fwd+bwd per s (median); memory: max_memory_allocated",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Report


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def probe(env: dict[str, str], gpu: bool) -> dict[str, object]:
    """torch / lightning versions and the GPUs, without a CUDA context in this process: the
    names from ``nvidia-smi``, else (GPU mode) ``torch.cuda.get_device_name`` in a subprocess.
    The loss worker reports ``torch.cuda.get_device_name()`` too and replaces the name."""
    info: dict[str, object] = {
        "torch": _version("torch"),
        "lightning": _version("lightning"),
        "cuda": None,
        "gpus": 0,
        "gpu_name": None,
    }
    names: list[str] = []
    if shutil.which("nvidia-smi"):
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            done = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            names = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if not names and gpu:
        code = (
            "import json, torch\n"
            "n = torch.cuda.device_count() if torch.cuda.is_available() else 0\n"
            "print(json.dumps([torch.cuda.get_device_name(i) for i in range(n)]))\n"
        )
        with contextlib.suppress(subprocess.TimeoutExpired, ValueError, IndexError):
            done = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
            )
            names = json.loads(done.stdout.strip().splitlines()[-1])
    info.update(gpus=len(names), gpu_name=names[0] if names else None)
    return info


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(rows: list[Row], info: dict[str, object]) -> str:
    memory = (
        "peak GPU MiB: nvidia-smi memory.used polled every 0.5 s minus the idle reading, max over "
        "GPUs (loss rows: torch.cuda.max_memory_allocated)"
        if info["accelerator"] == "gpu"
        else "peak MiB: resident high-water mark (VmHWM) of the main process (CPU dry run)"
    )
    lines = [
        f"GPU check, {info['date']}: {info['device']}; torch {info['torch']} (CUDA "
        f"{info['cuda']}), lightning {info['lightning']}; `--accelerator {info['accelerator']} "
        f"--precision bf16-mixed`; total {info['total_s']:.0f} s. {memory}. steps/s: optimizer "
        "steps (checkpoints / logs/metrics.csv) over the run's train_time_s (else wall time).",
        "",
        "| command | status | steps/s | peak MiB | wall s | note |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        note = row.note.replace("|", "/")
        lines.append(
            f"| {row.command} | {row.status} | {_fmt(row.steps_per_s, '.2f')} "
            f"| {_fmt(row.peak_mib, '.0f')} | {_fmt(row.wall_s, '.1f')} | {note} |"
        )
    counts = {s: sum(r.status == s for r in rows) for s in ("ok", "failed", "skipped")}
    lines += ["", ", ".join(f"{n} {s}" for s, n in counts.items())]
    return "\n".join(lines) + "\n"


def _device(info: dict[str, object], gpu: bool) -> str:
    if not gpu:
        return "CPU dry run"
    return f"{info['gpus']} x {info['gpu_name']}" if info["gpus"] else "no CUDA device found"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--install",
        action="store_true",
        help="pip install --no-deps -e packages/* apps/* first (unless importable)",
    )
    parser.add_argument(
        "--accelerator",
        choices=("gpu", "cpu"),
        default="gpu",
        help="gpu (default) or cpu: a dry run of the same commands",
    )
    parser.add_argument(
        "--ddp",
        choices=("auto", "on", "off"),
        default="auto",
        help="also run --devices 2 --strategy ddp: auto = when 2 GPUs exist",
    )
    parser.add_argument(
        "--only",
        default=",".join(MODALITIES),
        help="comma-separated sub-commands (default: all); 'none' for losses only",
    )
    parser.add_argument("--no-loss", action="store_true", help="skip the loss timings")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per run (default: 120 on gpu, 600 on cpu)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="start no run after this many seconds (default: 360 gpu, none cpu)",
    )
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--loss-worker", choices=("cuda", "cpu"), help=argparse.SUPPRESS)
    parser.add_argument("--loss-sizes", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loss_worker:
        loss_worker(args.loss_worker, [int(b) for b in args.loss_sizes.split(",")], repeats=3)
        return 0

    started = time.perf_counter()
    gpu = args.accelerator == "gpu"
    timeout = args.timeout or (120.0 if gpu else 600.0)
    budget = args.budget if args.budget is not None else (360.0 if gpu else float("inf"))
    want = {m for m in args.only.split(",") if m in MODALITIES}
    unknown = set(args.only.split(",")) - set(MODALITIES) - {"none", ""}
    if unknown:
        parser.error(f"--only: unknown sub-command(s) {sorted(unknown)}")
    install_note = _install() if args.install else ""
    if install_note:
        print(install_note, flush=True)
    work = Path(tempfile.mkdtemp(prefix="cl-gpu-check-"))
    env = {
        **os.environ,
        "CL_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
        "CL_CACHE_DIR": str(work / "cache"),
        "PYTHONWARNINGS": "ignore",
    }
    if not _importable():
        shim = _write_shim(work / "shim")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [shim, os.environ.get("PYTHONPATH")]))
        usable = _importable(env["PYTHONPATH"])
        install_note = (install_note + "; " if install_note else "") + (
            "workspace run from its sources (PYTHONPATH + generated entry points)"
            if usable
            else "workspace NOT importable (is torch installed?)"
        )
        print(install_note, flush=True)
    info: dict[str, object] = {**probe(env, gpu), "accelerator": args.accelerator}
    info["device"] = _device(info, gpu)
    print(f"{info['device']}; torch {info['torch']}, lightning {info['lightning']}", flush=True)
    jobs = build_jobs(work, want)
    run_ddp = args.ddp == "on" or (args.ddp == "auto" and gpu and int(info["gpus"] or 0) >= 2)
    if run_ddp:
        jobs += ddp_jobs(jobs)
    # The loss timings first (short, and the one part that needs no sub-command to work); the
    # table lists them last.
    losses: list[Row] = []
    if not args.no_loss:
        print("loss timings ...", flush=True)
        losses = loss_rows(env, args.accelerator, min(timeout, 180.0), info)
        for row in losses:
            print(f"  {row.command}: {row.status} {_fmt(row.steps_per_s, '.2f')}/s", flush=True)
    rows: list[Row] = []
    for job in jobs:
        if time.perf_counter() - started > budget:
            rows.append(Row(job.label, note=f"time budget of {budget:.0f} s spent"))
        else:
            print(f"running {job.label} ...", flush=True)
            rows.append(run_job(job, work, env, args.accelerator, timeout))
        row = rows[-1]
        print(f"  {row.status} ({_fmt(row.wall_s, '.1f')} s) {row.note}", flush=True)
    rows += losses
    info.update(
        device=_device(info, gpu),
        total_s=time.perf_counter() - started,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        install=install_note,
        python=sys.version.split()[0],
        nvidia_smi=shutil.which("nvidia-smi") is not None,
        espeak_ng=shutil.which("espeak-ng") is not None,
    )
    table = markdown(rows, info)
    print("\n" + table)
    stem = "gpu_check" if gpu else "gpu_check_cpu"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{stem}.md").write_text(table)
    report = {"info": info, "rows": [asdict(r) for r in rows]}
    (args.output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.output_dir / stem}.{{md,json}}")
    if args.keep:
        print(f"inputs and run folders kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
