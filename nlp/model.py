"""The learned evidence model: a sentence classifier for evidence that notes write too freely
for rules alone (the reason for guidance, why ultrasound or palpation would not do, the
knee's presentation, what the imaging showed).

Why sentences, TF-IDF and logistic regression: gold evidence is annotated as spans, and the
rules layer already reasons per sentence (ConText scopes, ``sentence_requires``), so a
sentence is the unit both sides share. A few hundred records give a few thousand sentences:
too few for anything deep, enough for a linear model over word and character n-grams
(character n-grams carry abbreviations and typos: "palp", "US", "fluoro"). Sigmoid
calibration turns its scores into probabilities, so the bands in ``pipelines/model.json``
mean the same thing for every label.

(No ``from __future__ import annotations`` here: spaCy validates a factory's arguments from
its annotations, which must be real types.)

The artifact is a joblib pickle. Unpickling runs code, so :func:`load_model` unpickles only a
file whose SHA-256 matches the one its model card recorded when ``guidecheck train`` wrote it.
"""

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from . import PIPELINES_DIR, PROJECT_ROOT
from .components import SPAN_GROUP
from .knowledge import MODEL_RULE

MODELS_DIR = PROJECT_ROOT / "models"
ARTIFACT = "evidence-model.joblib"
CARD = "evidence-model.card.json"
RULE_NAME = MODEL_RULE

if not Doc.has_extension("evidence_scores"):
    # (start_char, end_char, label) -> (probability, confident, conditional): the model's word on a span.
    Doc.set_extension("evidence_scores", default=None)


class ModelError(RuntimeError):
    """A model file that is missing its card, does not match it, or cannot be used."""


@dataclass(frozen=True)
class ModelConfig:
    labels: tuple[str, ...]
    accept: float
    uncertain: float
    min_positive_sentences: int
    seed: int
    features: dict[str, Any]
    classifier: dict[str, Any]
    version: str
    sentence_excludes: dict[str, str]  # label -> regex: a sentence saying the opposite gives no evidence
    conditional: str | None  # regex: a sentence stating a condition or a plan, whose evidence is hypothetical

    @classmethod
    def load(cls, pipelines_dir: Path = PIPELINES_DIR) -> "ModelConfig":
        data = json.loads((Path(pipelines_dir) / "model.json").read_text(encoding="utf-8"))
        if not 0 < data["uncertain"] <= data["accept"] <= 1:
            raise ModelError("pipelines/model.json: need 0 < uncertain <= accept <= 1")
        patterns = {f"sentence_excludes {label}": p for label, p in (data.get("sentence_excludes") or {}).items()}
        for name, pattern in {**patterns, "conditional": data.get("conditional") or ""}.items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise ModelError(f"pipelines/model.json: {name}: {error}") from error
        return cls(tuple(data["labels"]), data["accept"], data["uncertain"], data["min_positive_sentences"],
                   data["seed"], data["features"], data["classifier"], data["version"],
                   dict(data.get("sentence_excludes") or {}), data.get("conditional"))


def sentence_spans(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges of the sentences, without trailing whitespace tokens (line breaks)."""
    spans = []
    for sent in doc.sents:
        end = sent.end
        while end > sent.start and doc[end - 1].is_space:
            end -= 1
        if end > sent.start:
            spans.append((sent.start, end))
    return spans


class EvidenceModel:
    """The fitted vectorizer and one calibrated classifier per label.

    Scoring does not call each classifier's ``predict_proba``: scikit-learn validates its input
    on every call, and ten labels' calls per note were half of the pipeline's time. Each label
    is one logistic regression under one sigmoid (``ensemble=False``), so all labels score as
    one sparse product and two element-wise operations on the same fitted numbers;
    ``tests/test_model.py`` checks that this equals ``predict_proba``.
    """

    def __init__(self, vectorizer: Any, classifiers: dict[str, Any]) -> None:
        self.vectorizer = vectorizer
        self.classifiers = classifiers
        self._weights, self._intercepts, self._slopes, self._offsets = _linear_form(classifiers)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.classifiers)

    def features(self, texts: Sequence[str]) -> Any:
        """The vectorizer's transform, without FeatureUnion's per-call job dispatch."""
        from scipy.sparse import hstack

        return hstack([transformer.transform(texts) for _, transformer in self.vectorizer.transformer_list]).tocsr()

    def probabilities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        if not texts or not self.classifiers:
            return {label: np.zeros(0) for label in self.classifiers}
        scores = np.asarray(self.features(texts) @ self._weights) + self._intercepts
        # scikit-learn's _SigmoidCalibration: P = 1 / (1 + exp(a * f + b)).
        probabilities = 1.0 / (1.0 + np.exp(scores * self._slopes + self._offsets))
        return {label: probabilities[:, i] for i, label in enumerate(self.classifiers)}


def _linear_form(classifiers: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights (features x labels), intercepts, and sigmoid slope and offset per label, from
    calibrated classifiers of one logistic regression and one sigmoid each."""
    if not classifiers:
        return np.zeros((0, 0)), np.zeros(0), np.zeros(0), np.zeros(0)
    weights, intercepts, slopes, offsets = [], [], [], []
    for label, clf in classifiers.items():
        parts = clf.calibrated_classifiers_
        if (len(parts) != 1 or parts[0].method != "sigmoid" or len(parts[0].calibrators) != 1
                or list(clf.classes_) != [0, 1]):
            raise ModelError(f"{label}: expected one sigmoid-calibrated binary classifier; rebuild with 'guidecheck train'")
        calibrated, sigmoid = parts[0], parts[0].calibrators[0]
        weights.append(calibrated.estimator.coef_[0])
        intercepts.append(calibrated.estimator.intercept_[0])
        slopes.append(sigmoid.a_)
        offsets.append(sigmoid.b_)
    return np.column_stack(weights), np.array(intercepts), np.array(slopes), np.array(offsets)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(directory: Path = MODELS_DIR) -> EvidenceModel | None:
    """The model in ``directory``, or None when there is none (the pipeline then runs on rules
    alone). A file that does not match its card's hash is refused before it is unpickled."""
    artifact, card_path = Path(directory) / ARTIFACT, Path(directory) / CARD
    if not artifact.exists():
        return None
    if not card_path.exists():
        raise ModelError(f"{artifact} has no model card ({CARD}); refusing to load it")
    try:
        expected = json.loads(card_path.read_text(encoding="utf-8"))["artifact"]["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        raise ModelError(f"{card_path}: no artifact hash ({error}); refusing to load the model") from error
    actual = sha256_file(artifact)
    if actual != expected:
        raise ModelError(f"{artifact}: SHA-256 {actual[:12]}... does not match its card ({expected[:12]}...); "
                         "refusing to unpickle it. Rebuild it with 'guidecheck train'.")
    import joblib

    data = joblib.load(artifact)
    return EvidenceModel(data["vectorizer"], data["classifiers"])


class EvidenceModelComponent:
    """Adds a sentence span per label the model scores at least ``uncertain``, to the same span
    group as the rules' evidence, so ConText and the section context judge it the same way."""

    def __init__(self, model: EvidenceModel, accept: float, uncertain: float,
                 sentence_excludes: dict[str, str] | None = None, conditional: str | None = None) -> None:
        self.model, self.accept, self.uncertain = model, accept, uncertain
        self.excludes = {label: re.compile(pattern, re.IGNORECASE) for label, pattern in (sentence_excludes or {}).items()}
        self.conditional = re.compile(conditional, re.IGNORECASE) if conditional else None

    def __call__(self, doc: Doc) -> Doc:
        spans = sentence_spans(doc)
        scores: dict[tuple[int, int, str], tuple[float, bool, bool]] = {}
        group = list(doc.spans.get(SPAN_GROUP, []))
        # A field name standing alone ("Landmarks palpable:", its "[x] yes" split off as the next
        # sentence) says nothing until its value: the model does not read it.
        spans = [(s, e) for s, e in spans if not doc[s:e].text.rstrip().endswith(":")]
        texts = [doc[s:e].text for s, e in spans]
        probabilities = self.model.probabilities(texts)
        conditional = [bool(self.conditional and self.conditional.search(text)) for text in texts]
        for label, values in probabilities.items():
            excludes = self.excludes.get(label)
            for (start, end), text, p, condition in zip(spans, texts, values, conditional):
                if p < self.uncertain or (excludes and excludes.search(text)):
                    continue
                span = Span(doc, start, end, label=label, kb_id=RULE_NAME)
                group.append(span)
                scores[(span.start_char, span.end_char, label)] = (round(float(p), 3), bool(p >= self.accept), condition)
        doc.spans[SPAN_GROUP] = group
        doc._.evidence_scores = scores
        return doc


@Language.factory("guidecheck_evidence_model", default_config={"models_dir": "", "pipelines_dir": ""})
def make_evidence_model(nlp: Language, name: str, models_dir: str, pipelines_dir: str) -> EvidenceModelComponent:
    model = load_model(Path(models_dir))
    if model is None:
        raise ModelError(f"no model in {models_dir}; build one with 'guidecheck train'")
    config = ModelConfig.load(Path(pipelines_dir))
    return EvidenceModelComponent(model, config.accept, config.uncertain, config.sentence_excludes, config.conditional)
