"""The apps depend one way (docs/ARCHITECTURE.md, "Layers"): the import-linter contracts in
.importlinter hold, and an import against the layers — even one inside a function — breaks them."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.env import BASE_DIR

LINT_IMPORTS = Path(os.environ.get("VIRTUAL_ENV", BASE_DIR / ".venv")) / "bin" / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports on the package tree under ``root`` with the repository's contracts."""
    command = [str(LINT_IMPORTS) if LINT_IMPORTS.exists() else shutil.which("lint-imports") or "lint-imports",
               "--config", str(BASE_DIR / ".importlinter"), "--no-cache"]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})


def test_the_layer_contracts_hold():
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module, source, broken", [
    ("apps/core/uses_races.py", "from apps.races.models import Race\n", "apps.core.uses_races -> apps.races.models"),
    ("apps/points/uses_leaderboards.py", "def rank():\n    from apps.leaderboards import ranks\n    return ranks\n",
     "apps.points.uses_leaderboards -> apps.leaderboards.ranks"),
    ("apps/feed/uses_live.py", "import apps.live.hub\n", "apps.feed.uses_live -> apps.live.hub"),
])
def test_an_import_against_the_layers_breaks_the_contracts(tmp_path, module, source, broken):
    shutil.copytree(BASE_DIR / "apps", tmp_path / "apps",
                    ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "*.html", "*.js", "*.css"))
    (tmp_path / module).write_text(source)
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "0 kept, 1 broken" in result.stdout
    assert broken in result.stdout, result.stdout
