"""The linter's check of the whole tree (rules and exclusions in pyproject.toml [tool.ruff])."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: ./install.sh installs the dev dependencies")
    out = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_every_logger_is_in_the_products_namespace():
    """One namespace, ``hotline_qa.…``, so an operator sets the product's log level (and the
    personal-data filter covers it) in one place."""
    import re
    named = re.compile(r"getLogger\(\s*[\"']([^\"']+)[\"']")
    outside = []
    for package in ("transcribe", "classifiers", "qa", "models", "api"):
        for path in (REPO / package).rglob("*.py"):
            for name in named.findall(path.read_text(encoding="utf-8")):
                if name != "hotline_qa" and not name.startswith("hotline_qa."):
                    outside.append(f"{path.relative_to(REPO)}: {name}")
    assert outside == []
