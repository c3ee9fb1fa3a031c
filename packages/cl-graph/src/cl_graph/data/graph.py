"""The graph container every trainer in this package takes: a ``HeteroData`` plus meta-paths.

A meta-path (Sun et al., "PathSim: Meta Path-Based Top-K Similarity Search in Heterogeneous
Information Networks", VLDB 2011) is a sequence of node types ``t_0 -> t_1 -> ... -> t_L`` joined by
relations; MEOW and HeCo use symmetric meta-paths that start and end at the target type
(paper-author-paper, ...). Two target nodes are meta-path neighbours when such a path joins them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData


@dataclass(frozen=True)
class MetaPath:
    """A meta-path by its node types, e.g. ``MetaPath("PAP", ("paper", "author", "paper"))``.

    Attributes:
        name: short label used in logs and results (``"PAP"``).
        node_types: the node types along the path; first and last must be the target type and
            each consecutive pair must be joined by an edge type of the graph (either direction).
    """

    name: str
    node_types: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.node_types) < 3:
            raise ValueError(
                f"meta-path {self.name!r} needs at least 3 node types (target, context, target), "
                f"got {self.node_types}"
            )
        if self.node_types[0] != self.node_types[-1]:
            raise ValueError(
                f"meta-path {self.name!r} must start and end at the same node type, got "
                f"{self.node_types}"
            )


@dataclass
class HeteroGraph:
    """A heterogeneous graph ready for meta-path contrastive learning.

    Attributes:
        data: the typed graph; ``data[target].y`` holds integer labels (-1 for unlabelled), node
            types without ``x`` get learned one-hot (embedding) features.
        target: the node type being embedded.
        metapaths: the meta-paths, target to target.
        metapath_adjacency: optional precomputed (N, N) binary adjacency per meta-path name; the
            trainer derives missing ones from ``data``'s edges.
        positives: optional (N, N) binary matrix of HeCo-style positives (``pos.npz``); the
            baseline derives them from meta-path counts when absent.
        splits: labelled-nodes-per-class -> (train, val, test) index arrays (HeCo's 20/40/60).
        name: data-set name used in results.
        card: data card: what the data is and whether it is real or synthesized.
    """

    data: HeteroData
    target: str
    metapaths: tuple[MetaPath, ...]
    metapath_adjacency: dict[str, sp.csr_matrix] = field(default_factory=dict)
    positives: sp.csr_matrix | None = None
    splits: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    name: str = "graph"
    card: str = ""

    def __post_init__(self) -> None:
        if self.target not in self.data.node_types:
            raise ValueError(
                f"target must be a node type of data {self.data.node_types}, got {self.target!r}"
            )
        if not self.metapaths:
            raise ValueError("metapaths must name at least one meta-path, got none")
        for path in self.metapaths:
            if path.node_types[0] != self.target:
                raise ValueError(
                    f"meta-path {path.name!r} must start at the target type {self.target!r}, "
                    f"got {path.node_types}"
                )
            unknown = [t for t in path.node_types if t not in self.data.node_types]
            if unknown:
                raise ValueError(
                    f"meta-path {path.name!r} uses node types {unknown} that data does not have "
                    f"(has {self.data.node_types})"
                )
        size = self.num_targets
        for name, adjacency in self.metapath_adjacency.items():
            if adjacency.shape != (size, size):
                raise ValueError(
                    f"metapath_adjacency[{name!r}] must have shape {(size, size)}, got "
                    f"{adjacency.shape}"
                )
        if self.positives is not None and self.positives.shape != (size, size):
            raise ValueError(
                f"positives must have shape {(size, size)}, got {self.positives.shape}"
            )

    @property
    def num_targets(self) -> int:
        """Number of target nodes N."""
        return int(self.data[self.target].num_nodes)

    @property
    def labels(self) -> np.ndarray:
        """Integer labels of the target nodes, shape (N,)."""
        return self.data[self.target].y.cpu().numpy()
