"""Graph containers and loaders (torch_geometric is imported only when a graph is loaded)."""

from cl_graph.data.graph import HeteroGraph, MetaPath
from cl_graph.data.heco import HECO_DATASETS, HecoFormatError, load_heco, resolve_dataset_dir

__all__ = [
    "HECO_DATASETS",
    "HecoFormatError",
    "HeteroGraph",
    "MetaPath",
    "load_heco",
    "resolve_dataset_dir",
]
