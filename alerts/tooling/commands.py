"""``flashpoint rules check|test|explain|schema``: the rule author's tools.

Each command writes to the streams it is given and returns the process exit code, so the
CLI stays a thin shell and tests read exactly what a user would see.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from alerts.config.loader import config_paths_from_env, load_config
from alerts.config.models import Config
from alerts.errors import ConfigError
from alerts.tooling.explain import run as explain_articles
from alerts.tooling.ruletests import run_files

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def check(paths: Sequence[str], *, out: TextIO, err: TextIO) -> int:
    """Validate rule files, merged over the shipped rules in the order given.

    With no paths, checks what ``flashpoint run`` would load: ``$FLASHPOINT_CONFIG`` or
    just the shipped rules. Prints every problem, one per line, and exits 1 if any. Every
    regex is compiled for the matcher during validation, so a passing file also compiles.
    """
    files = config_paths_from_env(paths)
    try:
        config = load_config(files)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=err)
        return 1
    shown = ", ".join(["shipped rules", *map(str, files)])
    rules, topics = len(config.rules), len(config.watch)
    disabled = sum(1 for rule in config.rules if not rule.enabled)
    note = f" ({disabled} disabled)" if disabled else ""
    print(f"ok: {rules} rules{note}, {topics} watch topics ({shown})", file=out)
    return 0


def test(paths: Sequence[str], *, out: TextIO, err: TextIO) -> int:
    """Run rule test files; 0 when every test passes, 1 otherwise."""
    if not paths:
        print("rules test: give at least one test file", file=err)
        return 2
    return run_files([Path(p) for p in paths], out=out, err=err)


def explain(
    records: Sequence[bytes],
    *,
    name: str,
    config_paths: Sequence[str],
    out: TextIO,
    err: TextIO,
) -> int:
    """Say, for each article record read from ``name``, which rules fired, which nearly
    did and why."""
    try:
        config = load_config(config_paths_from_env(config_paths))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return 1
    return explain_articles(records, name, config, out=out, err=err)


def schema(*, out: TextIO) -> int:
    """Print the config's JSON Schema, for editors (yaml-language-server) and CI."""
    json.dump(config_schema(), out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, exported from the pydantic models."""
    exported = Config.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **exported}
