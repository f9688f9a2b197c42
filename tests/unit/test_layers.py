"""The layer check (`lint-imports`, which `make lint` and CI run) on a copy of the code: the
tree as it is keeps every contract, and each way an import can run against the layers of
docs/design-notes.md breaks one, naming the import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    contract["type"]: contract["name"]
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
}
LAYERS, FORBIDDEN, ACYCLIC = (CONTRACTS[t] for t in ("layers", "forbidden", "acyclic_siblings"))


def _copy_of_the_code(tmp_path: Path) -> Path:
    """The Python files of alerts/ and streams/ and the contracts in pyproject.toml."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [
            n
            for n in names
            if n == "__pycache__" or not (n.endswith(".py") or (Path(folder) / n).is_dir())
        ]

    for package in ("alerts", "streams"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=not_python)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on sys.path: the copy is what it reads.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def _add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint_imports(_copy_of_the_code(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout.splitlines()


@pytest.mark.parametrize(
    ("module", "line", "broken", "named"),
    [
        pytest.param(
            "alerts/config/loader.py",
            "from alerts.engine import Engine",
            LAYERS,
            "alerts.config.loader -> alerts.engine",
            id="config imports the engine",
        ),
        pytest.param(
            "alerts/detect/escalation.py",
            "from alerts.rules.base import Analysis",
            LAYERS,
            "alerts.detect.escalation -> alerts.rules.base",
            id="a detector imports the rules",
        ),
        pytest.param(
            "alerts/rules/base.py",
            "from alerts.rules.registry import build_rules",
            ACYCLIC,
            "- .base -> .registry (1 import)",
            id="the rule base imports the registry",
        ),
        pytest.param(
            "alerts/sinks/console.py",
            "import faust",
            FORBIDDEN,
            "alerts.sinks.console -> faust",
            id="a sink imports faust",
        ),
        pytest.param(
            "alerts/digest.py",
            "from alerts.model import Alert",
            LAYERS,
            "alerts.digest",
            id="a new module in no layer",
        ),
    ],
)
def test_an_import_against_the_layers_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str, named: str
) -> None:
    tree = _copy_of_the_code(tmp_path)
    target = tree / module
    if not target.exists():
        target.write_text('"""A module nobody placed in a layer yet."""\n')
    _add_line(target, line)
    done = _lint_imports(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{broken} BROKEN" in done.stdout.splitlines()
    assert named in done.stdout
