"""The workspace keeps the layout of ARCHITECTURE.md.

Every member exists, depends on cl-core plus only its own stacks, and imports nothing outside its
locked dependency closure (so it installs alone).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODALITIES = ["vision", "text", "multimodal", "graph", "speech", "regression", "rlhf"]
PACKAGES = {f"cl-{m}": ROOT / "packages" / f"cl-{m}" for m in ["core", *MODALITIES]}
APPS = {name: ROOT / "apps" / name for name in ["cl-train", "cl-bench"]}
MEMBERS = {**PACKAGES, **APPS}
HEAVY_STACKS = {
    "transformers",
    "sentence-transformers",
    "torch-geometric",
    "torchaudio",
    "torchvision",
}
OWN_STACK = {
    "cl-text": {"transformers", "sentence-transformers"},
    "cl-graph": {"torch-geometric"},
    "cl-speech": {"torchaudio"},
    "cl-vision": {"torchvision"},
    "cl-rlhf": {"transformers"},
    "cl-multimodal": {"transformers", "torchaudio"},  # spoken captions (log-mel) for Symile
}


def _canon(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _req_name(req: str) -> str:
    for sep in "[<>=!~; ":
        req = req.split(sep)[0]
    return _canon(req)


def _pyproject(path: Path) -> dict:
    return tomllib.loads((path / "pyproject.toml").read_text())


def _lock_closure(dist: str) -> set[str]:
    """Distribution names in the locked dependency closure of ``dist`` (extras included)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    deps: dict[str, set[str]] = {}
    for pkg in lock["package"]:
        names = {_canon(d["name"]) for d in pkg.get("dependencies", [])}
        for extra in pkg.get("optional-dependencies", {}).values():
            names |= {_canon(d["name"]) for d in extra}
        deps.setdefault(_canon(pkg["name"]), set()).update(names)
    seen, todo = set(), [_canon(dist)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(deps.get(name, ()))
    return seen


def _imported_top_levels(src: Path) -> set[str]:
    names: set[str] = set()
    for file in src.rglob("*.py"):
        tree = ast.parse(file.read_text(), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_member_has_pyproject_readme_and_documented_package(name: str) -> None:
    path = MEMBERS[name]
    project = _pyproject(path)["project"]
    assert project["name"] == name
    module = name.replace("-", "_")
    init = path / "src" / module / "__init__.py"
    assert init.is_file(), f"{init} is missing"
    assert ast.get_docstring(ast.parse(init.read_text())), f"{init} has no package docstring"
    assert (path / "README.md").is_file()


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_package_depends_on_core_and_only_its_own_heavy_stack(name: str) -> None:
    deps = {_req_name(d) for d in _pyproject(PACKAGES[name])["project"]["dependencies"]}
    if name != "cl-core":
        assert "cl-core" in deps
    assert not deps & {f"cl-{m}" for m in MODALITIES}, f"{name} depends on another modality package"
    assert deps & HEAVY_STACKS <= OWN_STACK.get(name, set()), f"{name} pulls a foreign stack"


@pytest.mark.parametrize("name", sorted(MEMBERS))
def test_member_imports_only_its_locked_dependency_closure(name: str) -> None:
    module = name.replace("-", "_")
    closure = _lock_closure(name)
    import_to_dists = packages_distributions()
    allowed = set(sys.stdlib_module_names) | {module}
    for top, dists in import_to_dists.items():
        if {_canon(d) for d in dists} & closure:
            allowed.add(top)
    allowed |= {d.replace("-", "_") for d in closure}
    used = _imported_top_levels(MEMBERS[name] / "src")
    assert used <= allowed, f"{name} imports {sorted(used - allowed)} outside its dependencies"


def test_root_workspace_lists_every_member() -> None:
    root = _pyproject(ROOT)
    assert set(root["tool"]["uv"]["workspace"]["members"]) == {"packages/*", "apps/*"}
    assert {_req_name(d) for d in root["project"]["dependencies"]} == set(MEMBERS)
