"""docker-compose.yml is valid Compose, and every file and name it points at exists.

Docker is not needed: the file is checked against the Compose specification's JSON Schema,
and its references (mounted paths, service names, ports, datasource uid) are checked
against the repository.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.config.loader import load_config
from streams.settings import Settings
from streams.topics import ARTICLES, all_topics

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "flashpoint.json"
SERVICES = {
    "kafka",
    "topic-init",
    "worker",
    "sample-feed",
    "prometheus",
    "alertmanager",
    "grafana",
}
PINNED_PYTHON = re.compile(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?")
_DEFAULT = re.compile(r"\$\{\w+:-([^}]*)\}")
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|WEBHOOK|API_KEY")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _with_defaults(value: str) -> str:
    """Resolve `${VAR:-default}` the way Compose does when VAR is unset."""
    return _DEFAULT.sub(lambda m: m.group(1), value)


def _bind_mounts() -> Iterator[tuple[str, Path, str]]:
    """(service, host path, container path) of every bind mount."""
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("."):
                yield name, ROOT / _with_defaults(source), target


def _option(service: str, flag: str) -> str:
    command: list[str] = _services()[service]["command"]
    return command[command.index(flag) + 1]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dockerfile_instructions() -> list[list[str]]:
    """[instruction, arguments] for each line of deploy/Dockerfile that starts one."""
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    return [line.split(maxsplit=1) for line in lines if line[:1].isupper()]


def test_compose_file_matches_compose_spec() -> None:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if checker is None:
        pytest.fail("check-jsonschema missing: pip install -e '.[dev]'", pytrace=False)
    result = subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_has_kafka_workers_prometheus_alertmanager_grafana() -> None:
    assert set(_services()) == SERVICES
    assert _services()["worker"]["deploy"]["replicas"] >= 2


def test_workers_can_be_scaled_out() -> None:
    """`--scale worker=3` needs replicas that differ only in their container."""
    worker = _services()["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker  # a host port can be published by one replica only
    assert "hostname" not in worker
    assert worker["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"


def test_topic_init_creates_every_topic_with_the_workers_partition_count() -> None:
    init = _services()["topic-init"]
    script = init["entrypoint"][-1].replace("$$", "$")
    workers = _with_defaults(_services()["worker"]["environment"]["FLASHPOINT_PARTITIONS"])
    assert _with_defaults(init["environment"]["PARTITIONS"]) == workers
    assert int(workers) >= 3  # three workers each get a share
    assert "--if-not-exists" in script and '--partitions "$PARTITIONS"' in script
    streams = " ".join(re.findall(r'topics="(?:\$topics )?([^"]+)"', script))
    tables_loop = re.search(r"for table in ([^;]+); do", script)
    assert streams and tables_loop, script
    created = streams.split() + [
        f"flashpoint-{table}-changelog" for table in tables_loop.group(1).split()
    ]
    assert sorted(created) == sorted(all_topics(Settings().app_id))
    assert "cleanup.policy=compact" in script
    kafka = _services()["kafka"]["environment"]
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_sample_feed_writes_to_the_articles_topic_once_topics_exist() -> None:
    feed = _services()["sample-feed"]
    assert feed["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
    mounts = {target: path for service, path, target in _bind_mounts() if service == "sample-feed"}
    script = mounts[feed["entrypoint"][-1]]
    assert f'TOPIC = "{ARTICLES}"' in script.read_text()
    assert feed["image"] == _services()["worker"]["image"]


def test_every_mounted_and_referenced_file_exists() -> None:
    mounts = list(_bind_mounts())
    assert mounts
    for service, path, _ in mounts:
        assert path.exists(), f"{service} mounts missing {path.relative_to(ROOT)}"
    for name, secret in _compose()["secrets"].items():
        assert (ROOT / _with_defaults(secret["file"])).is_file(), name
    build = _services()["worker"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    for entry in _services()["worker"]["env_file"]:
        path = ROOT / entry["path"]
        # An optional env file is the user's copy of the committed example.
        assert path.exists() or not entry.get("required", True), path
        assert path.with_name(path.name + ".example").is_file(), path


def test_workers_reach_kafka_by_service_name() -> None:
    kafka = _services()["kafka"]["environment"]
    assert "PLAINTEXT://kafka:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert len(base64.urlsafe_b64decode(kafka["CLUSTER_ID"] + "==")) == 16
    assert _option("worker", "--broker") == "kafka://kafka:9092"
    assert _services()["worker"]["environment"]["FLASHPOINT_BROKER"] == "kafka://kafka:9092"
    assert _services()["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_prometheus_scrapes_the_workers_metrics_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "flashpoint"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"]
    assert str(discovery["port"]) == _option("worker", "--metrics-port")
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    hosts = {t.split(":")[0] for c in alertmanagers["static_configs"] for t in c["targets"]}
    assert hosts <= SERVICES
    mounts = {target: path for service, path, target in _bind_mounts() if service == "prometheus"}
    assert mounts["/etc/prometheus"] == DEPLOY / "prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in _services()["prometheus"]["command"]


def test_grafana_loads_the_dashboard_with_the_provisioned_datasource() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "flashpoint.yml").read_text())[
        "providers"
    ]
    mounts = {target: path for service, path, target in _bind_mounts() if service == "grafana"}
    assert mounts[provider["options"]["path"]] == DASHBOARD.parent
    assert mounts["/etc/grafana/provisioning"] == provisioning

    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "flashpoint"
    assert dashboard["schemaVersion"] == 39
    uids = {
        node["datasource"]["uid"]
        for panel in _panels(dashboard["panels"])
        for node in [panel, *panel.get("targets", [])]
        if "datasource" in node
    }
    uids |= {variable["datasource"]["uid"] for variable in dashboard["templating"]["list"]}
    assert uids == {datasource["uid"]}
    assert "topic" in {variable["name"] for variable in dashboard["templating"]["list"]}


def test_grafana_lets_anonymous_people_view_only() -> None:
    environment = _services()["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def test_no_secret_is_written_in_the_compose_file() -> None:
    for name, service in _services().items():
        for key in service.get("environment", {}):
            assert not _SECRET_NAME.search(key) or key.endswith("__FILE"), f"{name}: {key}"
    env_example = (DEPLOY / "flashpoint.env.example").read_text()
    for line in env_example.splitlines():
        key, _, value = line.partition("=")
        if _SECRET_NAME.search(key) and not line.startswith("#"):
            assert value == "", f"flashpoint.env.example sets {key}"


def test_image_is_multi_stage_pinned_and_runs_flashpoint_as_a_non_root_user() -> None:
    instructions = _dockerfile_instructions()
    args = dict(arg.split("=", 1) for op, arg in instructions if op == "ARG" and "=" in arg)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], line.split()[0])
        for op, line in instructions
        if op == "FROM"
    ]
    assert len(bases) >= 2, "build tools should stay in a build stage"
    assert any(op == "COPY" and arg.startswith("--from=") for op, arg in instructions)
    for base in bases:
        assert PINNED_PYTHON.fullmatch(base), f"{base} is not an exact Python release"
    users = [args for op, args in instructions if op == "USER"]
    assert users, "the image runs as root"
    assert users[-1] not in {"root", "0"}
    entrypoints = [json.loads(args) for op, args in instructions if op == "ENTRYPOINT"]
    assert entrypoints == [["flashpoint"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "flashpoint" in scripts


def test_image_build_copies_files_that_exist() -> None:
    instructions = _dockerfile_instructions()
    for op, args in instructions:
        if op == "COPY" and not args.startswith("--from"):
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_workers_load_the_example_rules_config() -> None:
    config_path = _services()["worker"]["environment"]["FLASHPOINT_CONFIG"]
    mounts = {target: path for service, path, target in _bind_mounts() if service == "worker"}
    folder, name = config_path.rsplit("/", 1)
    config = load_config([mounts[folder] / name])  # as the worker loads it: over the defaults
    assert config.rules
    assert {sink.type for sink in config.sinks.values()} >= {"slack", "jsonl"}
