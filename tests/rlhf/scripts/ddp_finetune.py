"""A few fine-tuning steps of a tiny reward model, on 1 process or as 2-process CPU DDP (gloo).

Usage: python ddp_finetune.py OUT_FOLDER --devices {1,2} --auxiliary {simcse,swav}

The global batch is 4 pairs either way (2 per process with 2 processes), 8 pairs, 2 epochs:
4 optimizer steps through :func:`cl_rlhf.finetune.finetune_reward_model`, the function behind
``cl-train rlhf --backbone finetune``. The encoder (a random 2-block BERT) and the head have no
dropout, so both runs must end with the same weights; the contrastive auxiliary gathers across
processes. Rank 0 saves the weights to OUT_FOLDER/weights.pt.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cl_core.distributed import rank
from cl_core.engine_options import EngineOptions
from cl_rlhf.encoding import default_encoder_path
from cl_rlhf.finetune import FinetuneConfig, finetune_reward_model
from cl_rlhf.training import HeadTrainConfig

GOOD = ["great helpful answer", "kind and clear reply", "thank you, happy to help", "nice work"]
BAD = ["awful rude insult", "go away idiot", "terrible hateful words", "shut up loser"]
GLOBAL_BATCH = 4


def tiny_encoder(folder: Path) -> Path:
    """A random 2-block BERT without dropout, with the packaged MiniLM tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    if (folder / "config.json").is_file():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(str(default_encoder_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--auxiliary", choices=("simcse", "swav"), default="simcse")
    args = parser.parse_args()
    torch.set_num_threads(1)
    encoder = tiny_encoder(args.out / "encoder")
    head = HeadTrainConfig(
        epochs=2,
        batch_size=GLOBAL_BATCH // args.devices,
        learning_rate=1e-2,
        hidden_dim=16,
        dropout=0.0,
        contrastive_weight=0.5,
        contrastive_loss=args.auxiliary,
        num_prototypes=4,
    )
    model = finetune_reward_model(
        GOOD + GOOD[::-1],
        BAD + BAD[::-1],
        args.out / "run",
        model_path=encoder,
        finetune=FinetuneConfig(encoder_lr=1e-3, finetune_layers=1, max_length=16),
        head=head,
        margin=torch.linspace(0.0, 0.5, 8),
        seed=5,
        engine=EngineOptions(
            accelerator="cpu",
            devices=args.devices,
            strategy="ddp" if args.devices > 1 else "auto",
        ),
        progress=False,
    )
    if rank() == 0:
        torch.save(model.state_dict(), args.out / "weights.pt")


if __name__ == "__main__":
    main()
