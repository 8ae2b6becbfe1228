"""Training the evidence model (``guidecheck train``): gold spans of the train split become
labelled sentences, the model is fitted with a fixed seed, measured on the dev split, and
written to ``models/`` with a model card. The test split is never read here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import spacy
from medspacy.custom_tokenizer import create_medspacy_tokenizer
from spacy.language import Language

from . import __version__
from .knowledge import Knowledge
from .model import ARTIFACT, CARD, EvidenceModel, ModelConfig, sentence_spans, sha256_file
from .policy import labels_in, load_policies
from .records import Record, RecordError, read_records
from .scoring import relevant_labels


class TrainingError(ValueError):
    """Training data that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Sentence:
    record: str
    document: int
    start: int
    end: int
    text: str
    labels: frozenset[str]
    scope: frozenset[str]  # labels its record's gold covers: a sentence is a negative only for these


def gold_sentences(records: Iterable[Record], split: Language, labels: Sequence[str],
                   criterion_labels: Mapping[str, tuple[str, ...]]) -> list[Sentence]:
    """Every sentence of the records that carry span annotations, labelled with the gold spans
    (of ``labels``) it overlaps. A record's gold covers only the labels its checked codes read,
    so its sentences are negative examples of those labels alone; records without
    ``expected_evidence`` give none."""
    found = []
    for record in records:
        if record.expected_evidence is None:
            continue
        scope = frozenset(relevant_labels(record, criterion_labels) & set(labels))
        for index, document in enumerate(record.documents):
            doc = split(document.text)
            gold = [s for s in record.expected_evidence if s.document == index and s.label in scope]
            for start, end in sentence_spans(doc):
                first, last = doc[start].idx, doc[end - 1].idx + len(doc[end - 1])
                hit = frozenset(s.label for s in gold if s.start < last and first < s.end)
                found.append(Sentence(record.id, index, first, last, document.text[first:last], hit, scope))
    return found


def _vectorizer(config: ModelConfig) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    f = config.features
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=tuple(f["word_ngrams"]), min_df=f["min_df"], sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(f["char_ngrams"]), min_df=f["min_df"],
                                  sublinear_tf=True)),
    ])


def fit(sentences: Sequence[Sentence], config: ModelConfig) -> tuple[EvidenceModel, dict[str, str]]:
    """Fit on ``sentences``; labels with too few positive sentences are left out (and said why)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    vectorizer = _vectorizer(config)
    features = vectorizer.fit_transform([s.text for s in sentences])
    classifiers, skipped = {}, {}
    for label in config.labels:
        rows = [i for i, s in enumerate(sentences) if label in s.scope]
        target = np.array([label in sentences[i].labels for i in rows], dtype=int)
        positives = int(target.sum())
        if positives < config.min_positive_sentences:
            skipped[label] = f"{positives} positive sentences in train, fewer than {config.min_positive_sentences}"
            continue
        c = config.classifier
        folds = StratifiedKFold(n_splits=min(c["folds"], positives), shuffle=True, random_state=config.seed)
        classifier = CalibratedClassifierCV(
            LogisticRegression(C=c["C"], class_weight="balanced", max_iter=5000, random_state=config.seed),
            method=c["calibration"], cv=folds, ensemble=False)
        classifiers[label] = classifier.fit(features[rows], target)
    return EvidenceModel(vectorizer, classifiers), skipped


def sentence_metrics(model: EvidenceModel, sentences: Sequence[Sentence], config: ModelConfig) -> dict[str, Any]:
    """Per label on held-back sentences: precision and recall at ``accept``, how many fall in
    the uncertain band, and the Brier score (how honest the probabilities are)."""
    metrics = {}
    for label in model.labels:
        scoped = [s for s in sentences if label in s.scope]
        p = model.probabilities([s.text for s in scoped])[label]
        gold = np.array([label in s.labels for s in scoped], dtype=bool)
        accepted = p >= config.accept
        tp = int((accepted & gold).sum())
        metrics[label] = {
            "gold_sentences": int(gold.sum()),
            "precision_at_accept": round(tp / accepted.sum(), 3) if accepted.sum() else None,
            "recall_at_accept": round(tp / gold.sum(), 3) if gold.sum() else None,
            "in_uncertain_band": int(((p >= config.uncertain) & ~accepted).sum()),
            "brier": round(float(np.mean((p - gold) ** 2)), 4) if len(p) else None,
        }
    return metrics


def sentences_hash(sentences: Sequence[Sentence]) -> str:
    canonical = json.dumps([[s.text, sorted(s.labels), sorted(s.scope)] for s in sentences], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def save(model: EvidenceModel, card: dict[str, Any], directory: Path) -> Path:
    """Write the artifact, then the card holding its hash (the card is what loading trusts)."""
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / ARTIFACT
    joblib.dump({"vectorizer": model.vectorizer, "classifiers": model.classifiers}, artifact, compress=3)
    card = {**card, "artifact": {"file": ARTIFACT, "sha256": sha256_file(artifact)}}
    (directory / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return directory / CARD


def card_for(config: ModelConfig, train: Sequence[Sentence], dev: Sequence[Sentence], files: dict[str, Sequence[Path]],
             skipped: dict[str, str], metrics: dict[str, Any]) -> dict[str, Any]:
    import sklearn

    return {
        "model": "guidecheck evidence model",
        "model_version": config.version,
        "guidecheck_version": __version__,
        "scikit_learn_version": sklearn.__version__,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": config.seed,
        "design": "one sigmoid-calibrated logistic regression (class_weight=balanced) per label over TF-IDF "
                  "word and char_wb n-grams of a sentence; see nlp/model.py and pipelines/model.json",
        "thresholds": {"accept": config.accept, "uncertain": config.uncertain},
        "labels": [label for label in config.labels if label not in skipped],
        "labels_left_out": skipped,
        "data": {
            split: {"files": {str(p.name): sha256_file(p) for p in paths},
                    "sentences": len(sentences), "sentences_sha256": sentences_hash(sentences),
                    "positive_sentences": {label: sum(label in s.labels for s in sentences) for label in config.labels},
                    "scoped_sentences": {label: sum(label in s.scope for s in sentences) for label in config.labels}}
            for split, paths, sentences in (("train", files["train"], train), ("dev", files["dev"], dev))
        },
        "test_split": "never read by training",
        "dev_metrics": metrics,
    }


def sentence_splitter(knowledge: Knowledge) -> Language:
    """The checker's own tokenizer and sentence splitter, so training sees the sentences the
    model will be asked about."""
    language = spacy.blank("en")
    language.tokenizer = create_medspacy_tokenizer(language)
    language.add_pipe("guidecheck_sentences", config={"pipelines_dir": str(knowledge.directory)})
    return language


def read_split(paths: Sequence[Path]) -> list[Record]:
    records, problems = [], []
    for item in read_records([str(p) for p in paths]):
        (problems if isinstance(item, RecordError) else records).append(item)
    if problems:
        raise TrainingError("; ".join(str(p) for p in problems[:5]))
    if not any(r.expected_evidence is not None for r in records):
        raise TrainingError(f"{', '.join(map(str, paths))}: no record carries expected_evidence to learn from")
    return records


def train(knowledge: Knowledge, train_paths: Sequence[Path], dev_paths: Sequence[Path], out: Path) -> dict[str, Any]:
    """Fit on the train split, measure on dev, write artifact and card; returns the card."""
    from . import components  # noqa: F401  (registers guidecheck_sentences)

    config = ModelConfig.load(knowledge.directory)
    split = sentence_splitter(knowledge)
    policies = load_policies(knowledge.directory, set(knowledge.labels))
    criterion_labels = {c.id: tuple(labels_in(c.logic)) for p in policies for c in p.criteria}
    train_sentences = gold_sentences(read_split(train_paths), split, config.labels, criterion_labels)
    dev_sentences = gold_sentences(read_split(dev_paths), split, config.labels, criterion_labels)
    model, skipped = fit(train_sentences, config)
    metrics = sentence_metrics(model, dev_sentences, config)
    card = card_for(config, train_sentences, dev_sentences, {"train": train_paths, "dev": dev_paths}, skipped, metrics)
    save(model, card, out)
    return json.loads((out / CARD).read_text(encoding="utf-8"))
