"""The learned decision: the shipped model file, its format, and what it decides."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from alerts.articles import Article
from alerts.config.models import Config
from alerts.detect import classifier, signals
from alerts.detect.classifier import LABELS, ModelError
from alerts.detect.signals import SIGNALS
from alerts.engine import Engine
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "eval"))
import training  # eval/training.py, what `make train` runs


def test_the_shipped_model_loads_and_records_what_it_was_trained_on() -> None:
    model = classifier.shipped()
    assert tuple(model.labels) == LABELS
    data = model.metadata["data"]
    assert data["file"] == "real-dev.jsonl" and data["passages"] >= 800
    assert len(data["sha256"]) == 64
    figures = model.metadata["cross_validation"]
    assert figures["grouped_by"] == "outlet" and figures["folds"] == 5
    for label in LABELS:
        assert 0.0 < figures[label]["f1"] <= 1.0
        assert model.labels[label].threshold == training.THRESHOLDS[label]
    size = (ROOT / "alerts" / "detect" / classifier.SHIPPED).stat().st_size
    assert size < 2_000_000, "the model ships inside the package: keep it small"


def _team_records() -> list[dict[str, object]]:
    """The team's own labelled passages, as training records (never real-news text)."""
    records = []
    for line in (ROOT / "eval" / "passages.jsonl").read_text(encoding="utf-8").splitlines():
        p = json.loads(line)
        records.append(
            {
                "id": p["id"],
                "url": f"https://outlet-{len(records) % 7}.example/{p['id']}",
                "published": "2026-01-01",
                "title": "",
                "body": p["text"],
                "escalation": p["escalation"],
                "commitment": p["commitment"],
                "category": "tricky" if not (p["escalation"] or p["commitment"]) else "x",
            }
        )
    return records


def test_training_twice_on_the_same_data_writes_the_same_bytes(tmp_path: Path) -> None:
    rows = training.passages(_team_records())
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    classifier.save(first, training.fit(rows, metadata={"run": 1}))
    classifier.save(second, training.fit(rows, metadata={"run": 1}))
    assert (
        hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    )
    loaded = classifier.load_file(first)
    scores = loaded.score(rows[0].text, rows[0].signals)
    assert set(scores.probability) == set(LABELS)


def test_a_model_file_from_another_grammar_or_format_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="unreadable model file"):
        classifier.load_file(broken)

    shipped = (ROOT / "alerts" / "detect" / classifier.SHIPPED).read_bytes()
    other = tmp_path / "other.npz"
    with zipfile.ZipFile(other, "w") as out, zipfile.ZipFile(_bytes_io(shipped)) as src:
        for name in src.namelist():
            data = src.read(name)
            if name == "header.json":
                header = json.loads(data)
                header["signals"] = [*SIGNALS[:-1], "a signal this version does not compute"]
                data = json.dumps(header).encode()
            out.writestr(name, data)
    with pytest.raises(ModelError, match="make train"):
        classifier.load_file(other)

    with pytest.raises(ModelError, match=r"missing\.npz"):
        Engine(_config({"classifier": {"path": str(tmp_path / "missing.npz")}}))


def _bytes_io(data: bytes) -> object:
    import io

    return io.BytesIO(data)


def _config(extra: dict[str, object]) -> Config:
    data = yaml.safe_load((ROOT / "alerts" / "config" / "defaults.yaml").read_text())
    return Config.model_validate({**data, **extra})


def test_denied_acts_stay_unflagged_however_warlike_the_words() -> None:
    engine = Engine(_config({}))
    denial = Article(
        id="denial",
        title="Ministry denies troops massed at border",
        body="The defence ministry of Ruritania on Monday denied reports that its troops had "
        "massed on the border with its neighbour or opened fire on border posts, calling "
        "them fabricated.",
    )
    analysis = engine.analyze(denial)
    assert analysis.escalation.level == "none"
    assert {v.reason for v in analysis.escalation.vetoed} >= {"negated"}


def test_the_model_can_be_turned_off_and_the_grammar_decides_alone() -> None:
    article = Article(
        id="talks",
        title="Japan and China meet",
        body="Tokyo and Beijing met. Japan said it will double defence spending to 2% of GDP "
        "by 2027.",
    )
    grammar_only = Engine(_config({"classifier": {"enabled": False}})).analyze(article)
    assert grammar_only.judgement is None
    assert [c.actor for c in grammar_only.commitments] == ["Japan"]
    learned = Engine(_config({})).analyze(article)
    assert learned.judgement is not None and learned.judgement.verdicts
    decided = learned.judgement.verdicts[0].scores.decided["commitment"]
    assert bool(learned.commitments) == decided


def test_stocking_up_on_munitions_is_no_company_cue() -> None:
    company = list(signals.CUES).index("company")
    hits = {index for _, index in signals.cue_hits("Tokyo will stock up on munitions.")}
    assert company not in hits
    assert company in {index for _, index in signals.cue_hits("Tokyo stocks fell sharply.")}
