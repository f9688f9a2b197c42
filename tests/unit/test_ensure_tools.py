"""scripts/ensure-tools: what `make test` does on a machine without Prometheus's tools.

The machine running the tests has the tools; the script is shown a PATH without them (and,
for the cases that need it, an `id`, `sudo` or `apt-get` of the test's making) and asked
for a dry run, so nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "ensure-tools"
BASH = shutil.which("bash") or "/bin/bash"


def _bin(tmp_path: Path, **scripts: str) -> Path:
    """A PATH directory holding only the named tools, each a tiny shell script."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, body in scripts.items():
        tool = folder / name.replace("_", "-")
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(0o755)
    return folder


def _run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(SCRIPT), *args],
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_nothing_to_do_when_the_tools_are_there() -> None:
    for tool in ("prometheus", "promtool", "amtool"):
        assert shutil.which(tool), f"this machine should have {tool}"
    result = subprocess.run(
        [BASH, str(SCRIPT), "--dry-run", "prometheus"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout == result.stderr == ""


def test_root_installs_the_missing_packages(tmp_path: Path) -> None:
    result = _run(_bin(tmp_path, id="echo 0", apt_get="exit 0"), "--dry-run", "prometheus")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "apt-get update -qq && apt-get install -y --no-install-recommends "
        "prometheus prometheus-alertmanager"
    )


def test_a_user_with_passwordless_sudo_installs_through_it(tmp_path: Path) -> None:
    folder = _bin(tmp_path, id="echo 1000", sudo="exit 0", apt_get="exit 0")
    result = _run(folder, "--dry-run", "prometheus")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("sudo -n apt-get update -qq && sudo -n apt-get install")


@pytest.mark.parametrize("sudo", [None, "exit 1"], ids=["no-sudo", "sudo-asks-password"])
def test_otherwise_it_names_the_one_command_to_run(tmp_path: Path, sudo: str | None) -> None:
    tools = {"id": "echo 1000", "apt_get": "exit 0"}
    if sudo is not None:
        tools["sudo"] = sudo
    result = _run(_bin(tmp_path, **tools), "--dry-run", "prometheus")
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends "
        "prometheus prometheus-alertmanager" in result.stderr
    )


def test_without_apt_it_names_the_packages(tmp_path: Path) -> None:
    result = _run(_bin(tmp_path, id="echo 1000"), "--dry-run", "prometheus")
    assert result.returncode == 1
    assert "Missing: prometheus prometheus-alertmanager" in result.stderr


def test_a_python_without_venv_asks_for_python3_venv(tmp_path: Path) -> None:
    folder = _bin(tmp_path, id="echo 0", apt_get="exit 0", python3="exit 1")
    result = _run(folder, "--dry-run", "venv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("install -y --no-install-recommends python3-venv")
