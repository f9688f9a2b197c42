"""The learned decision: is a passage an escalation act, a new commitment, or neither?

The grammar (:mod:`alerts.detect.escalation`, :mod:`alerts.detect.commitments`) finds and
explains evidence; this model, trained on real labelled news by ``make train``, decides. It
has two layers per label, both logistic regressions:

1. a text layer over TF-IDF weighted word and character n-grams (:mod:`alerts.detect.features`);
2. a decision layer over both labels' text scores and the grammar's own signals for the same
   passage (:mod:`alerts.detect.signals`): which kinds of act it counted, which hits context
   vetoed and why, which verbs of commitment it read as commitments and which it turned down.

The model file is an ``.npz`` of plain arrays with the training data's checksum and
cross-validated figures in its metadata; loading it needs numpy only, never scikit-learn.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.detect.features import (
    BUCKETS,
    FAMILIES,
    ngram_buckets,
    term_frequencies,
    word_ngrams,
)
from alerts.detect.signals import SIGNALS
from alerts.errors import FlashpointError

LABELS = ("escalation", "commitment")
FORMAT = "flashpoint-passage-classifier/1"
SHIPPED = "data/classifier.npz"

Floats = npt.NDArray[np.float64]


class ModelError(FlashpointError):
    """The classifier file is missing, unreadable or of another format."""


@dataclass(frozen=True, slots=True)
class TextLayer:
    """TF-IDF over one n-gram family: the buckets seen in training and their IDF."""

    vocabulary: npt.NDArray[np.int64]
    idf: Floats

    def vector(self, buckets: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], Floats]:
        """Vocabulary positions and L2-normalised TF-IDF values of a passage's n-grams."""
        return self.vector_from_tf(*term_frequencies(buckets))

    def vector_from_tf(
        self, distinct: npt.NDArray[np.int64], tf: Floats
    ) -> tuple[npt.NDArray[np.int64], Floats]:
        if not distinct.size:
            return distinct, tf
        positions = np.searchsorted(self.vocabulary, distinct)
        positions[positions >= self.vocabulary.size] = 0
        known = self.vocabulary[positions] == distinct
        positions = positions[known]
        values = tf[known] * self.idf[positions]
        norm = float(np.sqrt(values @ values))
        return positions, values / norm if norm else values


@dataclass(frozen=True, slots=True)
class LabelModel:
    """One label's weights: the text layer's per family, then the decision layer's."""

    text_weights: Mapping[str, Floats]
    text_intercept: float
    decision_weights: Floats
    decision_intercept: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Scores:
    """One passage as the model read it."""

    text: dict[str, float]
    """Each label's text-layer score (log-odds) from n-grams alone."""
    probability: dict[str, float]
    """Each label's decided probability, text and grammar signals together."""
    decided: dict[str, bool]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text_log_odds": {k: round(v, 3) for k, v in self.text.items()},
            "probability": {k: round(v, 3) for k, v in self.probability.items()},
            "decided": dict(self.decided),
        }


@dataclass(frozen=True, slots=True)
class Feature:
    """One input and how far it pushed a label's decision (in log-odds)."""

    name: str
    weight: float


class PassageClassifier:
    """A trained model: scores passages, and says which features decided."""

    def __init__(
        self,
        layers: Mapping[str, TextLayer],
        labels: Mapping[str, LabelModel],
        metadata: Mapping[str, Any],
    ) -> None:
        self.layers = dict(layers)
        self.labels = dict(labels)
        self.metadata = dict(metadata)
        # Dense per bucket, for gathers instead of searches on the hot path (24 MB).
        self._idf = {
            family: _dense(layer.vocabulary, layer.idf) for family, layer in layers.items()
        }
        self._weights = {
            (label, family): _dense(layers[family].vocabulary, model.text_weights[family])
            for label, model in labels.items()
            for family in layers
        }

    def text_scores(self, text: str) -> tuple[dict[str, float], dict[str, Any]]:
        """Each label's text-layer log-odds, and the passage's vectors (for explanations)."""
        buckets = ngram_buckets(text)
        return self._text_scores(
            {family: self.layers[family].vector(buckets[family]) for family in FAMILIES}
        )

    def fast_text_scores(self, text: str) -> dict[str, float]:
        """:meth:`text_scores` without the vectors, from the dense tables."""
        buckets = ngram_buckets(text)
        scores = {label: model.text_intercept for label, model in self.labels.items()}
        for family in FAMILIES:
            distinct, tf = term_frequencies(buckets[family])
            values = tf * self._idf[family][distinct]
            norm = float(np.sqrt(values @ values))
            if not norm:
                continue
            values /= norm
            for label in self.labels:
                scores[label] += float(values @ self._weights[(label, family)][distinct])
        return scores

    def score_tf(
        self, tf: Mapping[str, tuple[npt.NDArray[np.int64], Floats]], signals: Floats
    ) -> Scores:
        """:meth:`score` for a passage already counted by :func:`term_frequencies`."""
        vectors = {family: self.layers[family].vector_from_tf(*tf[family]) for family in FAMILIES}
        return self._decide(self._text_scores(vectors)[0], signals)

    def _text_scores(self, vectors: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
        scores = {}
        for label, model in self.labels.items():
            total = model.text_intercept
            for family, (positions, values) in vectors.items():
                total += float(values @ model.text_weights[family][positions])
            scores[label] = total
        return scores, vectors

    def score(self, text: str, signals: Floats) -> Scores:
        """Decide ``text`` (one passage) given the grammar's ``signals`` for it."""
        return self._decide(self.fast_text_scores(text), signals)

    def _decide(self, text_scores: dict[str, float], signals: Floats) -> Scores:
        inputs = self._decision_inputs(text_scores, signals)
        probability = {}
        decided = {}
        for label, model in self.labels.items():
            logit = float(inputs @ model.decision_weights) + model.decision_intercept
            probability[label] = _sigmoid(logit)
            decided[label] = probability[label] >= model.threshold
        return Scores(dict(text_scores), probability, decided)

    @staticmethod
    def _decision_inputs(text_scores: Mapping[str, float], signals: Floats) -> Floats:
        return np.concatenate(([text_scores[label] for label in LABELS], signals))

    def word_contributions(self, text: str, label: str) -> list[tuple[str, float]]:
        """Each word n-gram of ``text`` with how far it moves ``label``'s text score
        (log-odds), strongest first."""
        layer = self.layers["word"]
        positions, values = layer.vector(ngram_buckets(text)["word"])
        weights = self.labels[label].text_weights["word"]
        contribution = dict(
            zip(positions.tolist(), (values * weights[positions]).tolist(), strict=True)
        )
        buckets = ngram_buckets(text)["word"].tolist()
        found: dict[str, float] = {}
        for gram, bucket in zip(word_ngrams(text), buckets, strict=True):
            index = int(np.searchsorted(layer.vocabulary, bucket))
            if index < layer.vocabulary.size and layer.vocabulary[index] == bucket:
                found.setdefault(gram, contribution.get(index, 0.0))
        return sorted(found.items(), key=lambda item: -item[1])

    def explain(self, text: str, signals: Floats, label: str, top: int = 8) -> list[Feature]:
        """The inputs that moved ``label``'s decision most, strongest first: word n-grams
        (through the text layer), the character n-grams together, the other label's text
        score, and the grammar's signals (through the decision layer)."""
        model = self.labels[label]
        text_scores, vectors = self.text_scores(text)
        weight_of = dict(zip(LABELS, model.decision_weights[: len(LABELS)].tolist(), strict=True))
        features = [
            Feature(f"“{gram}”", value * weight_of[label])
            for gram, value in self.word_contributions(text, label)
        ]
        positions, values = vectors["char"]
        char_total = float(values @ model.text_weights["char"][positions])
        features.append(Feature("character n-grams", char_total * weight_of[label]))
        other = LABELS[1 - LABELS.index(label)]
        features.append(Feature(f"text score for {other}", text_scores[other] * weight_of[other]))
        offset = len(LABELS)
        for index, name in enumerate(SIGNALS):
            if signals[index]:
                weight = float(signals[index] * model.decision_weights[offset + index])
                features.append(Feature(name, weight))
        features.sort(key=lambda f: -abs(f.weight))
        return [f for f in features[:top] if f.weight]


def _dense(vocabulary: npt.NDArray[np.int64], values: Floats) -> npt.NDArray[np.float64]:
    table = np.zeros(BUCKETS, dtype=np.float64)
    table[vocabulary] = values
    return table


def _label_order(label: str) -> int:
    return LABELS.index(label) if label in LABELS else len(LABELS)


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def save(path: Path, classifier: PassageClassifier) -> None:
    """Write ``classifier`` so that the same model always gives the same bytes."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    for family, layer in classifier.layers.items():
        arrays[f"{family}.vocabulary"] = layer.vocabulary.astype(np.int32)
        arrays[f"{family}.idf"] = layer.idf.astype(np.float32)
    for label, model in classifier.labels.items():
        for family, weights in model.text_weights.items():
            arrays[f"{label}.text.{family}"] = weights.astype(np.float32)
        arrays[f"{label}.decision"] = model.decision_weights.astype(np.float64)
    header = {
        "format": FORMAT,
        "signals": list(SIGNALS),
        "labels": {
            label: {
                "text_intercept": model.text_intercept,
                "decision_intercept": model.decision_intercept,
                "threshold": model.threshold,
            }
            for label, model in classifier.labels.items()
        },
        "metadata": classifier.metadata,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _write(archive, "header.json", json.dumps(header, indent=2, sort_keys=True).encode())
        for name in sorted(arrays):
            array_bytes = io.BytesIO()
            np.save(array_bytes, arrays[name], allow_pickle=False)
            _write(archive, f"{name}.npy", array_bytes.getvalue())
    path.write_bytes(buffer.getvalue())


def _write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def load(data: bytes, origin: str = "classifier") -> PassageClassifier:
    """Read a model written by :func:`save`; a clear :class:`ModelError` otherwise."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            header = json.loads(archive.read("header.json"))
            if header.get("format") != FORMAT:
                raise ModelError(f"{origin}: not a {FORMAT} file")
            if header.get("signals") != list(SIGNALS):
                raise ModelError(
                    f"{origin}: trained on other grammar signals than this version has; "
                    "rebuild it with `make train`"
                )
            arrays = {
                name[: -len(".npy")]: np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{origin}: unreadable model file: {exc}") from exc
    layers = {
        family: TextLayer(
            arrays[f"{family}.vocabulary"].astype(np.int64),
            arrays[f"{family}.idf"].astype(np.float64),
        )
        for family in FAMILIES
    }
    labels = {
        label: LabelModel(
            text_weights={
                family: arrays[f"{label}.text.{family}"].astype(np.float64) for family in FAMILIES
            },
            text_intercept=float(spec["text_intercept"]),
            decision_weights=arrays[f"{label}.decision"].astype(np.float64),
            decision_intercept=float(spec["decision_intercept"]),
            threshold=float(spec["threshold"]),
        )
        for label, spec in sorted(header["labels"].items(), key=lambda kv: _label_order(kv[0]))
    }
    if tuple(labels) != LABELS:
        raise ModelError(f"{origin}: labels {tuple(labels)} are not {LABELS}")
    return PassageClassifier(layers, labels, header.get("metadata", {}))


@cache
def shipped() -> PassageClassifier:
    """The model that ships in the package, loaded once per process."""
    source = resources.files("alerts.detect").joinpath(SHIPPED)
    try:
        data = source.read_bytes()
    except FileNotFoundError as exc:
        raise ModelError(f"{SHIPPED} is missing from the package; run `make train`") from exc
    return load(data, origin=SHIPPED)


def load_file(path: Path | str) -> PassageClassifier:
    try:
        return load(Path(path).read_bytes(), origin=str(path))
    except OSError as exc:
        raise ModelError(f"{path}: {exc.strerror or exc}") from exc


def as_floats(values: Sequence[float]) -> Floats:
    return np.asarray(values, dtype=np.float64)
