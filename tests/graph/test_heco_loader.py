"""Loaders on the real HeCo graphs in shared/data, and errors for missing or malformed files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cl_graph.data import HecoFormatError, load_heco, resolve_dataset_dir

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:FutureWarning")


@pytest.fixture(scope="module")
def acm(heco_dir):
    return load_heco("acm", heco_dir.parent)


def test_acm_has_types_features_labels_and_splits(acm):
    data = acm.data
    assert acm.target == "paper" and acm.num_targets == 4019
    assert tuple(data["paper"].x.shape) == (4019, 1902)
    assert tuple(data["author"].x.shape) == (7167, 1902)
    assert "x" not in data["subject"]
    assert set(np.unique(acm.labels)) == {0, 1, 2}
    assert sorted(acm.splits) == [20, 40, 60]
    train, val, test = acm.splits[20]
    assert train.size == 60 and val.size == 1000 and test.size == 1000
    assert np.all(np.bincount(acm.labels[train]) == 20)


def test_acm_metapaths_agree_with_edge_lists(acm):
    from cl_graph.metapath import metapath_adjacency

    for path in acm.metapaths:
        rebuilt = metapath_adjacency(acm.data, path)
        stored = acm.metapath_adjacency[path.name]
        assert (rebuilt != stored).nnz == 0, path.name


def test_positives_follow_hecos_rule_of_at_most_five_per_node(acm):
    per_row = np.diff(acm.positives.indptr)
    assert acm.positives.shape == (4019, 4019)
    assert per_row.min() >= 1 and per_row.max() <= 5


def test_dblp_aptpa_is_rebuilt_from_pa_and_pt(heco_dir):
    assert not (heco_dir / "dblp" / "aptpa.npz").exists()
    dblp = load_heco("dblp", heco_dir.parent)
    aptpa = dblp.metapath_adjacency["APTPA"]
    pa = np.loadtxt(heco_dir / "dblp" / "pa.txt", dtype=np.int64)
    pt = np.loadtxt(heco_dir / "dblp" / "pt.txt", dtype=np.int64)
    papers_of = {a: set(pa[pa[:, 1] == a, 0]) for a in (0, 1)}
    terms_of = {a: set(pt[np.isin(pt[:, 0], list(papers_of[a])), 1]) for a in (0, 1)}
    for author in (0, 1):
        papers = set(pt[np.isin(pt[:, 1], list(terms_of[author])), 0])
        expected = set(pa[np.isin(pa[:, 0], list(papers)), 1])
        assert set(aptpa[author].indices) == expected


def test_resolve_accepts_root_or_heco_folder(heco_dir):
    assert resolve_dataset_dir(heco_dir.parent, "acm") == heco_dir / "acm"
    assert resolve_dataset_dir(heco_dir, "acm") == heco_dir / "acm"
    with pytest.raises(ValueError, match="name must be one of"):
        resolve_dataset_dir(heco_dir, "nope")


def test_unknown_name_is_rejected(heco_dir):
    with pytest.raises(ValueError, match="name must be one of"):
        load_heco("cora", heco_dir.parent)


@pytest.fixture
def acm_copy(heco_dir, tmp_path):
    target = tmp_path / "acm"
    shutil.copytree(heco_dir / "acm", target)
    for path in target.iterdir():
        path.chmod(0o644)
    target.chmod(0o755)
    return target


def test_missing_file_is_named(acm_copy):
    (acm_copy / "labels.npy").unlink()
    with pytest.raises(HecoFormatError, match=r"labels\.npy: file missing"):
        load_heco("acm", acm_copy.parent)


def test_malformed_edge_line_is_named_with_line_number(acm_copy):
    lines = (acm_copy / "pa.txt").read_text().splitlines()
    lines[6] = "12\tnot-a-number"
    (acm_copy / "pa.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(HecoFormatError, match=r"pa\.txt:7: expected two non-negative integer"):
        load_heco("acm", acm_copy.parent)


def test_wrong_shape_metapath_is_reported(acm_copy):
    import scipy.sparse as sp

    sp.save_npz(acm_copy / "pap.npz", sp.eye(10, format="coo"))
    with pytest.raises(HecoFormatError, match=r"pap\.npz: expected shape \(4019, 4019\)"):
        load_heco("acm", acm_copy.parent)
