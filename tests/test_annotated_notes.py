"""The checker against the gold corpus in annotated_notes/: fixed train / dev / test splits.

The floors ratchet: each is what the product (rules plus the committed evidence model) reached
when it was last raised, so a change that makes any split worse fails CI. The test split was
never used to write rules or to train; issue 3 asks for 0.95 / 0.98 / 0.98 on it.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.model import CARD, MODELS_DIR, load_model, sha256_file
from nlp.policy import labels_in
from nlp.records import Record, RecordError, read_records
from nlp.scoring import evaluate

ANNOTATED = Path(__file__).resolve().parent.parent / "annotated_notes"
SPLITS = ("train", "dev", "test")
# split: (decision accuracy, fail recall, pass precision, criterion status accuracy)
FLOORS = {
    "train": (0.94, 0.99, 0.97, 0.98),
    "dev": (0.98, 0.99, 0.93, 0.98),
    "test": (0.93, 0.99, 0.98, 0.98),
}


def split_records(name: str) -> list:
    return list(read_records([str(ANNOTATED / f"{name}.jsonl")]))


@pytest.fixture(scope="module")
def evaluations(checker):
    labels = {c.id: tuple(labels_in(c.logic)) for p in checker.policies for c in p.criteria}
    return {name: evaluate(((r, checker.check(r)) for r in split_records(name)), labels) for name in SPLITS}


def test_annotated_notes_splits_read_cleanly_and_are_disjoint():
    ids = {}
    for name in SPLITS:
        items = split_records(name)
        assert [str(i) for i in items if isinstance(i, RecordError)] == []
        ids[name] = {r.id for r in items}
    assert sum(len(v) for v in ids.values()) >= 250
    assert not (ids["train"] & ids["dev"]) and not (ids["train"] & ids["test"]) and not (ids["dev"] & ids["test"])


def test_annotated_notes_every_record_has_spans_of_known_labels():
    known = set(json.loads((ANNOTATED / "span-labels.json").read_text())["labels"])
    for name in SPLITS:
        for record in split_records(name):
            assert record.expected_evidence is not None, record.id
            assert {s.label for s in record.expected_evidence} <= known, record.id


@pytest.mark.parametrize("name", SPLITS)
def test_annotated_notes_floors(evaluations, name):
    e = evaluations[name]
    got = (e.decision_accuracy(), e.fail_recall, e.pass_precision, e.criterion_accuracy())
    # The test split's records are not listed: reading them is how rules get fitted to it.
    wrong = "" if name == "test" else "\n".join(
        f"{m.record} {m.code}: gold {m.gold}, checker {m.got}" for m in e.misses if m.gold != m.got)
    assert all(value >= floor for value, floor in zip(got, FLOORS[name])), f"{name}: {got} below {FLOORS[name]}\n{wrong}"


def test_annotated_notes_every_criterion_seen_both_ways(evaluations, checker):
    """Each criterion is right on some gold record where it holds and on one where it does not."""
    agree = {}
    for e in evaluations.values():
        for criterion, pairs in e.criteria.items():
            for gold, got in pairs:
                if gold == got:
                    agree.setdefault(criterion, set()).add("holds" if gold in ("met", "not_applicable") else "fails")
    ids = {c.id for p in checker.policies for c in p.criteria}
    assert sorted(cid for cid in ids if agree.get(cid, set()) != {"holds", "fails"}) == []


def test_annotated_notes_committed_model_was_trained_on_these_splits():
    card = json.loads((MODELS_DIR / CARD).read_text())
    for name in ("train", "dev"):
        assert card["data"][name]["files"] == {f"{name}.jsonl": sha256_file(ANNOTATED / f"{name}.jsonl")}, \
            f"annotated_notes/{name}.jsonl changed since the model was trained: run 'guidecheck train'"
    assert "test.jsonl" not in json.dumps(card["data"])


def test_annotated_notes_train_rebuilds_the_committed_model(tmp_path):
    """`guidecheck train` reproduces the committed model: same probabilities on every dev sentence."""
    from nlp.knowledge import load_knowledge
    from nlp.training import train

    train(load_knowledge(), [ANNOTATED / "train.jsonl"], [ANNOTATED / "dev.jsonl"], tmp_path)
    committed, rebuilt = load_model(MODELS_DIR), load_model(tmp_path)
    texts = [d.text for r in split_records("dev") if isinstance(r, Record) for d in r.documents]
    for label in committed.labels:
        assert np.allclose(committed.probabilities(texts)[label], rebuilt.probabilities(texts)[label], atol=1e-9)
