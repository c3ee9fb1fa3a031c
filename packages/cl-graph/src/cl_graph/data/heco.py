"""Loaders for the four heterogeneous graphs of HeCo and MEOW (ACM, DBLP, AMiner, Freebase).

The files follow the layout of HeCo (Wang et al., "Self-supervised Heterogeneous Graph Neural
Network with Co-contrastive Learning", KDD 2021, arXiv:2105.09111): ``<type>_feat.npz`` node
features, ``<ab>.txt`` edge lists (``a`` index, tab, ``b`` index), ``<path>.npz`` binary meta-path
adjacencies, ``pos.npz`` positive pairs, ``labels.npy`` and ``{train,val,test}_{20,40,60}.npy``.
Sparse bag-of-words features are row-normalised (HeCo's preprocessing). Node types without a
feature file get learned one-hot features, as in HeCo. A meta-path file that is
absent (DBLP's ``aptpa.npz`` is not shipped) is rebuilt from the edge lists. The folders come from
the source chain (:mod:`cl_core.datasets.sources`, requirements ``heco-acm``, ``heco-dblp``,
``heco-aminer``, ``heco-freebase``): a ``--data-dir`` / ``$CL_DATA_DIR`` folder holding
``heco/<name>/``, the cache, or the HeCo release files on GitHub (sha256-verified).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from cl_core.datasets.sources import resolve_dataset
from cl_graph.data.graph import HeteroGraph, MetaPath
from cl_graph.metapath import metapath_adjacency

SPLIT_SIZES = (20, 40, 60)


@dataclass(frozen=True)
class HecoSpec:
    """How one HeCo data set is laid out: node types, their sizes, edge files and meta-paths."""

    target: str
    node_counts: dict[str, int]
    type_letters: dict[str, str]
    metapaths: tuple[MetaPath, ...]
    card: str


HECO_DATASETS: dict[str, HecoSpec] = {
    "acm": HecoSpec(
        target="paper",
        node_counts={"paper": 4019, "author": 7167, "subject": 60},
        type_letters={"paper": "p", "author": "a", "subject": "s"},
        metapaths=(
            MetaPath("PAP", ("paper", "author", "paper")),
            MetaPath("PSP", ("paper", "subject", "paper")),
        ),
        card="Real: ACM papers (3 classes: database, wireless, data mining), 4,019 papers, "
        "7,167 authors, 60 subjects; bag-of-words features; HeCo release.",
    ),
    "dblp": HecoSpec(
        target="author",
        node_counts={"author": 4057, "paper": 14328, "conference": 20, "term": 7723},
        type_letters={"author": "a", "paper": "p", "conference": "c", "term": "t"},
        metapaths=(
            MetaPath("APA", ("author", "paper", "author")),
            MetaPath("APCPA", ("author", "paper", "conference", "paper", "author")),
            MetaPath("APTPA", ("author", "paper", "term", "paper", "author")),
        ),
        card="Real: DBLP authors (4 research areas), 4,057 authors, 14,328 papers, 20 "
        "conferences, 7,723 terms; HeCo release (APTPA rebuilt from pa.txt + pt.txt).",
    ),
    "aminer": HecoSpec(
        target="paper",
        node_counts={"paper": 6564, "author": 13329, "reference": 35890},
        type_letters={"paper": "p", "author": "a", "reference": "r"},
        metapaths=(
            MetaPath("PAP", ("paper", "author", "paper")),
            MetaPath("PRP", ("paper", "reference", "paper")),
        ),
        card="Real: AMiner papers (4 classes), 6,564 papers, 13,329 authors, 35,890 "
        "references; no node features (learned one-hot); HeCo release.",
    ),
    "freebase": HecoSpec(
        target="movie",
        node_counts={"movie": 3492, "director": 2502, "actor": 33401, "writer": 4459},
        type_letters={"movie": "m", "director": "d", "actor": "a", "writer": "w"},
        metapaths=(
            MetaPath("MAM", ("movie", "actor", "movie")),
            MetaPath("MDM", ("movie", "director", "movie")),
            MetaPath("MWM", ("movie", "writer", "movie")),
        ),
        card="Real: Freebase movies (3 genres), 3,492 movies, 2,502 directors, 33,401 actors, "
        "4,459 writers; no node features (learned one-hot); HeCo release.",
    ),
}


class HecoFormatError(ValueError):
    """A HeCo data file is missing or does not hold what the format expects."""


def resolve_dataset_dir(data_dir: str | Path | None, name: str) -> Path:
    """The folder of HeCo data set ``name`` from the source chain: ``<data_dir>/heco/<name>``,
    ``<data_dir>/<name>``, ``$CL_DATA_DIR``, the cache, then the HeCo release download.

    Raises:
        ValueError: Unknown ``name``.
        DataUnavailableError: the data set is nowhere and cannot be downloaded.
    """
    if name not in HECO_DATASETS:
        raise ValueError(f"name must be one of {sorted(HECO_DATASETS)}, got {name!r}")
    return resolve_dataset(f"heco-{name}", data_dir)


def load_heco(name: str, data_dir: str | Path | None = None) -> HeteroGraph:
    """Load one of ``acm``, ``dblp``, ``aminer``, ``freebase`` as a :class:`HeteroGraph`.

    Args:
        name: data-set name (lower case).
        data_dir: folder holding ``heco/<name>/`` or ``<name>/`` (see :func:`resolve_dataset_dir`).

    Returns:
        The graph with features, typed edges, labels, binary meta-path adjacencies, ``pos.npz``
        positives and the 20/40/60 splits.

    Raises:
        ValueError: Unknown ``name``.
        DataUnavailableError: The data set is nowhere and cannot be downloaded.
        HecoFormatError: A file is missing or malformed (the message names the file).

    Example:
        >>> graph = load_heco("acm", "/work/shared/data")  # doctest: +SKIP
        >>> graph.num_targets, [p.name for p in graph.metapaths]  # doctest: +SKIP
        (4019, ['PAP', 'PSP'])
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch_geometric 2.8 calls the deprecated torch.jit.script at import time.
        warnings.filterwarnings("ignore", message=".*torch.jit.script", category=FutureWarning)
        from torch_geometric.data import HeteroData

    if name not in HECO_DATASETS:
        raise ValueError(f"name must be one of {sorted(HECO_DATASETS)}, got {name!r}")
    spec = HECO_DATASETS[name]
    folder = resolve_dataset_dir(data_dir, name)
    target_count = spec.node_counts[spec.target]

    # Small files first, so that a malformed one is reported before the features are read.
    labels = _as_labels(_read_array(folder / "labels.npy", (target_count,)), folder / "labels.npy")
    splits = {size: _read_split(folder, size, target_count) for size in SPLIT_SIZES}
    data = HeteroData()
    for node_type, count in spec.node_counts.items():
        data[node_type].num_nodes = count
    data[spec.target].y = torch.from_numpy(labels)

    edge_files = 0
    for source, source_letter in spec.type_letters.items():
        for destination, destination_letter in spec.type_letters.items():
            edge_file = folder / f"{source_letter}{destination_letter}.txt"
            if source != destination and edge_file.exists():
                edges = _read_edges(
                    edge_file, spec.node_counts[source], spec.node_counts[destination]
                )
                data[source, "to", destination].edge_index = torch.from_numpy(edges)
                edge_files += 1
    if edge_files == 0:
        raise HecoFormatError(f"{folder}: no edge list (<a><b>.txt) found")

    adjacency: dict[str, sp.csr_matrix] = {}
    for path in spec.metapaths:
        path_file = folder / f"{path.name.lower()}.npz"
        if path_file.exists():
            adjacency[path.name] = _read_square_matrix(path_file, target_count)
        else:
            adjacency[path.name] = metapath_adjacency(data, path)
    positives = _read_square_matrix(folder / "pos.npz", target_count)
    for node_type, count in spec.node_counts.items():
        feature_file = folder / f"{spec.type_letters[node_type]}_feat.npz"
        if feature_file.exists():
            data[node_type].x = torch.from_numpy(_read_features(feature_file, count))
    return HeteroGraph(
        data=data,
        target=spec.target,
        metapaths=spec.metapaths,
        metapath_adjacency=adjacency,
        positives=positives,
        splits=splits,
        name=name,
        card=spec.card,
    )


def _read_features(path: Path, num_nodes: int) -> np.ndarray:
    """Dense float32 (num_nodes, F) features from a scipy-sparse or numpy ``.npz``.

    Sparse (bag-of-words) features are row-normalised to sum 1, as HeCo's and MEOW's loaders do;
    dense ones (DBLP's term vectors) are kept as stored.
    """
    try:
        matrix = sp.load_npz(path)
        features = np.asarray(matrix.todense(), dtype=np.float32)
        row_sums = features.sum(axis=1, keepdims=True)
        features = features / np.where(row_sums > 0, row_sums, 1.0).astype(np.float32)
    except (ValueError, TypeError, OSError, KeyError):
        features = _read_dense_npz(path)
    if features.ndim != 2 or features.shape[0] != num_nodes:
        raise HecoFormatError(
            f"{path}: expected a feature matrix with {num_nodes} rows, got shape {features.shape}"
        )
    return features


def _read_dense_npz(path: Path) -> np.ndarray:
    """A numpy ``.npz`` or ``.npy`` file holding one array (DBLP stores term vectors this way)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise HecoFormatError(f"{path}: not a readable numpy/scipy .npz file ({error})") from None
    if isinstance(loaded, np.ndarray):
        return loaded.astype(np.float32)
    with loaded:
        if len(loaded.files) != 1:
            raise HecoFormatError(
                f"{path}: expected a scipy.sparse matrix or a single array, got keys {loaded.files}"
            )
        return loaded[loaded.files[0]].astype(np.float32)


def _read_array(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """A ``.npy`` array of the given shape."""
    if not path.exists():
        raise HecoFormatError(f"{path}: file missing (expected a .npy array of shape {shape})")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise HecoFormatError(f"{path}: not a readable .npy array ({error})") from None
    if array.shape != shape:
        raise HecoFormatError(f"{path}: expected shape {shape}, got {array.shape}")
    return array


def _as_labels(array: np.ndarray, path: Path) -> np.ndarray:
    """Integer class labels 0..C-1 (HeCo stores some as floats)."""
    if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)) or array.min() < 0:
        raise HecoFormatError(f"{path}: expected non-negative integer class labels")
    return array.astype(np.int64)


def _read_edges(path: Path, num_sources: int, num_destinations: int) -> np.ndarray:
    """A (2, E) int64 edge index from a two-column, tab-separated integer file."""
    rows = []
    with path.open() as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2 or not all(f.isdigit() for f in fields):
                raise HecoFormatError(
                    f"{path}:{line_number}: expected two non-negative integer node ids, got "
                    f"{line.strip()!r}"
                )
            source, destination = int(fields[0]), int(fields[1])
            if source >= num_sources or destination >= num_destinations:
                raise HecoFormatError(
                    f"{path}:{line_number}: node id out of range (sources < {num_sources}, "
                    f"destinations < {num_destinations}), got {source} {destination}"
                )
            rows.append((source, destination))
    if not rows:
        raise HecoFormatError(f"{path}: no edges")
    return np.asarray(rows, dtype=np.int64).T.copy()


def _read_square_matrix(path: Path, size: int) -> sp.csr_matrix:
    """A binary (size, size) float32 CSR matrix from a scipy-sparse ``.npz``."""
    if not path.exists():
        raise HecoFormatError(
            f"{path}: file missing (expected a scipy.sparse .npz of shape ({size}, {size}))"
        )
    try:
        matrix = sp.load_npz(path)
    except (ValueError, TypeError, OSError, KeyError) as error:
        raise HecoFormatError(f"{path}: not a scipy.sparse .npz matrix ({error})") from None
    if matrix.shape != (size, size):
        raise HecoFormatError(f"{path}: expected shape ({size}, {size}), got {matrix.shape}")
    result = sp.csr_matrix(matrix, dtype=np.float32)
    result.eliminate_zeros()
    result.data[:] = 1.0
    return result


def _read_split(folder: Path, size: int, num_nodes: int) -> tuple[np.ndarray, ...]:
    """The (train, val, test) node indices of the ``size``-labels-per-class split."""
    parts = []
    for part in ("train", "val", "test"):
        path = folder / f"{part}_{size}.npy"
        if not path.exists():
            raise HecoFormatError(f"{path}: file missing (expected a 1-d .npy of node indices)")
        try:
            index = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise HecoFormatError(f"{path}: not a readable .npy array ({error})") from None
        if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
            raise HecoFormatError(
                f"{path}: expected a 1-d integer array, got {index.dtype} {index.shape}"
            )
        if index.size and (index.min() < 0 or index.max() >= num_nodes):
            raise HecoFormatError(f"{path}: node indices must lie in [0, {num_nodes})")
        parts.append(index.astype(np.int64))
    return tuple(parts)
