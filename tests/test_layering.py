"""The import contract of the packages (DESIGN.md's layout, bottom to top: transcribe →
classifiers → qa → api, with models beside qa): importing every module of a package loads
nothing above it, and the domain core of qa (records, rules, matching, configuration,
scoring, engine, assessment, reports …) loads no database, queue, watcher or CLI library."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, pkgutil, sys
names = sys.argv[1].split(",")
forbidden = sys.argv[2].split(",")
walk = sys.argv[3] == "walk"
mods = []
for name in names:
    mod = importlib.import_module(name)
    mods.append(name)
    if walk and hasattr(mod, "__path__"):
        for m in pkgutil.walk_packages(mod.__path__, name + "."):
            if ".migrations" not in m.name:
                importlib.import_module(m.name)
                mods.append(m.name)
loaded = sorted({f for f in forbidden if f in sys.modules})
print(len(mods), ",".join(loaded))
"""

CORE = ["qa.records", "qa.rules", "qa.matching", "qa.configuration", "qa.scoring",
        "qa.engine", "qa.assessment", "qa.reports", "qa.numbers", "qa.workcal", "qa.acts",
        "qa.search", "qa.topics", "qa.pii", "qa.custom_rules"]


def _probe(names: list[str], forbidden: list[str], walk: bool) -> tuple[int, list[str]]:
    out = subprocess.run([sys.executable, "-c", PROBE, ",".join(names), ",".join(forbidden),
                          "walk" if walk else "flat"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    n, _, loaded = out.stdout.strip().rpartition("\n")[2].partition(" ")
    return int(n), [x for x in loaded.split(",") if x]


@pytest.mark.parametrize("package,above", [
    ("transcribe", ["classifiers", "qa", "models", "api"]),
    ("classifiers", ["qa", "models", "api"]),
    ("models", ["qa", "api", "classifiers", "transcribe"]),
    ("qa", ["api", "fastapi"]),
])
def test_a_package_imports_nothing_above_it(package, above):
    n, loaded = _probe([package], above, walk=True)
    assert n > 3 and loaded == [], f"importing {package}'s modules loads {loaded}"


def test_the_domain_core_loads_no_database_queue_watcher_or_cli():
    n, loaded = _probe(CORE, ["sqlalchemy", "celery", "watchdog", "click", "models", "api",
                              "fastapi", "redis"], walk=False)
    assert n == len(CORE) and loaded == [], f"the core loads {loaded}"
