"""Vision recipes: SimCLR family, DCL/NNCLR, multi-view, Hydra, AMCL, CACR, MCL, PixPro, SepCLR."""

__version__ = "0.1.0"
