"""A tiny synthetic heterogeneous graph (papers, authors, subjects) with planted classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def make_synthetic_graph(num_per_class: int = 30, seed: int = 0):
    """Synthesized (not real) 3-class graph: papers with noisy features, class-biased authors and
    subjects; meta-paths PAP and PSP; 5 labelled papers per class for training."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.data import HeteroData

    from cl_graph.data import HeteroGraph, MetaPath

    rng = np.random.default_rng(seed)
    classes = 3
    papers = classes * num_per_class
    labels = np.repeat(np.arange(classes), num_per_class)
    authors_per_class, subjects_per_class = 8, 2
    centers = rng.normal(size=(classes, 16))
    features = centers[labels] * 0.6 + rng.normal(size=(papers, 16))
    paper_author, paper_subject = [], []
    for paper, label in enumerate(labels):
        for _ in range(2):
            owner = label if rng.random() < 0.85 else rng.integers(classes)
            paper_author.append(
                (paper, owner * authors_per_class + rng.integers(authors_per_class))
            )
        owner = label if rng.random() < 0.8 else rng.integers(classes)
        paper_subject.append((paper, owner * subjects_per_class + rng.integers(subjects_per_class)))
    data = HeteroData()
    data["paper"].x = torch.tensor(features, dtype=torch.float32)
    data["paper"].y = torch.from_numpy(labels)
    data["paper"].num_nodes = papers
    data["author"].num_nodes = classes * authors_per_class
    data["author"].x = torch.randn(classes * authors_per_class, 8)
    data["subject"].num_nodes = classes * subjects_per_class
    data["paper", "writes", "author"].edge_index = torch.tensor(paper_author).T
    data["paper", "about", "subject"].edge_index = torch.tensor(paper_subject).T
    order = rng.permutation(papers)
    train = np.concatenate([order[labels[order] == c][:5] for c in range(classes)])
    rest = rng.permutation(np.setdiff1d(order, train))
    splits = {5: (train, rest[: len(rest) // 2], rest[len(rest) // 2 :])}
    return HeteroGraph(
        data=data,
        target="paper",
        metapaths=(
            MetaPath("PAP", ("paper", "author", "paper")),
            MetaPath("PSP", ("paper", "subject", "paper")),
        ),
        splits=splits,
        name="synthetic",
        card="Synthesized: planted 3-class paper-author-subject graph for tests.",
    )


@pytest.fixture(scope="module")
def synthetic_graph():
    return make_synthetic_graph()


@pytest.fixture(scope="session")
def heco_dir(require_data):
    """The folder holding ``acm/``, ``dblp/``, ``aminer/`` and ``freebase/`` (HeCo release)."""
    return require_data("heco-acm", "heco-dblp", "heco-aminer", "heco-freebase")["heco-acm"].parent
