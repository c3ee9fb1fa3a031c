"""``cl-train text --method simcse`` on a tiny dropout-free BERT, on 1 process or as 2-process DDP.

Usage: python text_ddp_run.py SENTENCES.txt OUT_DIR --devices {1,2} --batch-size B
[--local-negatives]

The encoder is a randomly initialised 2-layer BERT (seed 0) with dropout 0, saved with
``save_pretrained`` next to OUT_DIR with the tokenizer files of the packaged all-MiniLM-L6-v2: the
two SimCSE views of a sentence are then equal, so a run does not depend on the per-(seed, step,
rank) generators and the 2-process run at batch B/2 sees the global batches of the 1-process run
at batch B. Lightning re-launches this script for rank 1 after rank 0 has built the folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import torch

TOKENIZER_FILES = (
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def build_tiny_bert(folder: Path) -> None:
    from transformers import BertConfig, BertModel

    from cl_text.encoder import default_base_model

    config = BertConfig(
        vocab_size=30522,
        hidden_size=24,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(default_base_model() / name, folder / name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sentences")
    parser.add_argument("out")
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--local-negatives", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = Path(f"{args.out}-tiny-bert")
    if os.environ.get("LOCAL_RANK", "0") == "0":
        build_tiny_bert(model)
    from cl_train.main import main as cl_train

    argv = [
        "text",
        "--method",
        "simcse",
        "--train",
        args.sentences,
        "--base-model",
        str(model),
        "--max-seq-len",
        "16",
        "--temperature",
        "0.1",
        "--epochs",
        "2",
        "--batch-size",
        str(args.batch_size),
        "--lr",
        "0.001",
        "--accelerator",
        "cpu",
        "--devices",
        str(args.devices),
        "--strategy",
        "ddp" if args.devices > 1 else "auto",
        "--out",
        args.out,
    ]
    if args.local_negatives:
        argv.append("--local-negatives")
    return cl_train(argv)


if __name__ == "__main__":
    sys.exit(main())
