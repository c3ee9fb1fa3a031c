"""Two epochs of the CLIP recipe (``train_two_tower``) on 1 process or as 2-process CPU DDP (gloo).

Usage: python ddp_clip.py DATA_DIR OUT_FILE --devices {1,2}

The global batch is 8 pairs either way: with 2 processes each takes 4 rows of every global batch
(the recipe's seeded order, broadcast from rank 0) and the CLIP loss gathers the other process's
embeddings. The towers have no BatchNorm (a linear image tower, bag-of-words text tower). Rank 0
saves the final weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from cl_core.engine_options import EngineOptions
from cl_multimodal.clip_training import ClipTrainConfig, train_two_tower
from cl_multimodal.data.folder import load_caption_folder
from cl_multimodal.towers.text_small import BagOfWordsTextTower
from cl_multimodal.towers.vocabulary import WordVocabulary
from cl_multimodal.two_tower import TwoTowerModel

GLOBAL_BATCH = 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    pairs = load_caption_folder(args.data)
    torch.manual_seed(0)
    pixels = pairs.float_images(np.arange(1)).numel()  # the loader resizes to its image size
    image_tower = nn.Sequential(nn.Flatten(), nn.Linear(pixels, 16))
    text_tower = BagOfWordsTextTower(WordVocabulary.build(pairs.captions), 16)
    model = TwoTowerModel(image_tower, text_tower)
    engine = EngineOptions(
        accelerator="cpu",
        devices=args.devices,
        strategy="ddp" if args.devices > 1 else "auto",
    )
    config = ClipTrainConfig(epochs=2, batch_size=GLOBAL_BATCH // args.devices, lr=0.01)
    train_two_tower(model, pairs, config, engine=engine)
    if rank_zero_only.rank == 0:
        torch.save(model.state_dict(), args.out)


if __name__ == "__main__":
    main()
