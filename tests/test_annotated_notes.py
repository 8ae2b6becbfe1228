"""The checker against the gold records in annotated_notes/."""

from pathlib import Path

import pytest

from nlp.records import Record, read_records
from nlp.scoring import score

ANNOTATED = Path(__file__).resolve().parent.parent / "annotated_notes"
# The floor ratchets up as the rules improve; issue 2 asks for 0.95.
DECISION_ACCURACY_FLOOR = 0.95
CRITERION_ACCURACY_FLOOR = 0.95


@pytest.fixture(scope="module")
def gold(checker):
    records = [r for r in read_records([str(ANNOTATED)]) if isinstance(r, Record)]
    return [(r, checker.check(r)) for r in records]


def test_annotated_notes_all_read(gold):
    errors = [item for item in read_records([str(ANNOTATED)]) if not isinstance(item, Record)]
    assert errors == [] and len(gold) >= 60


def test_annotated_notes_decision_accuracy(gold):
    result = score(gold)
    print(result.summary())
    assert result.decision_accuracy >= DECISION_ACCURACY_FLOOR, "\n".join(result.wrong)


def test_annotated_notes_criterion_accuracy(gold):
    assert score(gold).criterion_accuracy >= CRITERION_ACCURACY_FLOOR


def test_annotated_notes_every_criterion_seen_both_ways(gold, checker):
    """Each criterion is right on some gold record where it holds and on one where it does not."""
    agree = {}
    for record, result in gold:
        mine = {c.id: c.status for r in result.results for c in r.criteria}
        for expected in (record.expected or {}).values():
            for cid, status in (expected.get("criteria") or {}).items():
                if mine.get(cid) == status:
                    agree.setdefault(cid, set()).add("holds" if status in ("met", "not_applicable") else "fails")
    ids = {c.id for p in checker.policies for c in p.criteria}
    missing = sorted(cid for cid in ids if agree.get(cid, set()) != {"holds", "fails"})
    assert missing == [], missing
