"""cl-core's own method recipes: SimCLR, DCL and SupCon on real 8x8 digits (and ``.npy`` features).

Used by ``cl-bench`` (``cl_core.bench_recipes``) and ``cl-train core``. Importing this package is
cheap; the submodules that train import torch and Lightning.
"""
