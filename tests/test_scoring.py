"""Scoring the checker against gold: the numbers reviewers and coders rely on."""

from __future__ import annotations

import pytest

from nlp.findings import ASSERTED, DISCOUNTED, Finding
from nlp.policy import labels_in
from nlp.records import GoldSpan, record_from_dict
from nlp.scoring import Counts, evaluate, evaluation_json, evaluation_text, span_counts

FLUORO_NOTE = (
    "PROCEDURE: Right hip injection under fluoroscopic guidance.\n"
    "Indication: hip pain; BMI 52, the joint is deep and landmarks cannot be palpated.\n"
    "Ultrasound could not show the joint at that depth.\n"
    "The needle tip was placed in the superolateral hip joint; contrast outlined the joint.\n"
    "Fluoro time 12 seconds. Richard Stone, MD"
)


def record(expected: dict, spans: list[dict] | None = None, codes=("77002", "20610")):
    data = {"id": "r1", "codes": list(codes), "provider": {"credential": "MD"},
            "documents": [{"kind": "procedure_note", "text": FLUORO_NOTE}], "expected": expected}
    if spans is not None:
        data["expected_evidence"] = spans
    built = record_from_dict(data, "test")
    assert not hasattr(built, "message"), built
    return built


@pytest.fixture(scope="module")
def criterion_labels(checker):
    return {c.id: tuple(labels_in(c.logic)) for p in checker.policies for c in p.criteria}


def finding(label: str, start: int, end: int, status: str = ASSERTED, document: int = 0) -> Finding:
    return Finding(label, document, start, end, "x", "x", None, (), "rule", status)


def test_scoring_counts_precision_recall_f1():
    counts = Counts(tp=3, fp=1, fn=2)
    assert (counts.precision, counts.recall) == (0.75, 0.6)
    assert counts.f1 == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert Counts().precision is None and Counts(fp=2).f1 is None


def test_scoring_span_overlap_matches_same_label_and_document():
    gold = [GoldSpan(0, 10, 20, "PERMANENT_IMAGES")]
    found = [finding("PERMANENT_IMAGES", 15, 30), finding("PERMANENT_IMAGES", 40, 50),
             finding("PERMANENT_IMAGES", 12, 14, document=1), finding("INTERPRETATION", 10, 20)]
    counts = span_counts(found, gold, {"PERMANENT_IMAGES", "INTERPRETATION"})
    assert counts["PERMANENT_IMAGES"] == Counts(tp=1, fp=2, fn=0)
    assert counts["INTERPRETATION"] == Counts(tp=0, fp=1, fn=0)


def test_scoring_spans_ignore_discounted_findings():
    gold = [GoldSpan(0, 10, 20, "PERMANENT_IMAGES")]
    counts = span_counts([finding("PERMANENT_IMAGES", 10, 20, DISCOUNTED)], gold, {"PERMANENT_IMAGES"})
    assert counts["PERMANENT_IMAGES"] == Counts(tp=0, fp=0, fn=1)


def test_scoring_right_decision(checker, criterion_labels):
    result = checker.check(record({}))
    decision = result.results[0].decision
    gold = record({"77002": {"decision": decision}})
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    assert evaluation.decision_accuracy() == 1.0
    assert evaluation.decision_accuracy("77002") == 1.0


def test_scoring_missed_failure_lowers_fail_recall_and_pass_precision(checker, criterion_labels):
    gold = record({"77002": {"decision": "fail"}}, codes=("77002", "20610"))
    result = checker.check(gold)
    assert result.results[0].decision == "pass"  # a complete note; the gold here says otherwise
    evaluation = evaluate([(gold, result)], criterion_labels)
    assert evaluation.fail_recall == 0.0
    assert evaluation.pass_precision == 0.0
    assert [(m.record, m.gold, m.got) for m in evaluation.misses] == [("r1", "fail", "pass")]


def test_scoring_code_the_checker_did_not_report_is_wrong(checker, criterion_labels):
    gold = record({"76942": {"decision": "pass"}, "77002": {"decision": "pass"}})
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    assert ("76942", "pass", None) in evaluation.decisions
    assert evaluation.decision_accuracy("76942") == 0.0


def test_scoring_criterion_miss_shows_evidence_from_both_sides(checker, criterion_labels):
    start = FLUORO_NOTE.index("The needle tip")
    end = FLUORO_NOTE.index("; contrast")
    gold = record({"77002": {"decision": "pass", "criteria": {"77002.needle_location": "not_met"}}},
                  spans=[{"document": 0, "start": start, "end": end, "label": "NEEDLE_LOCATION"}])
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    miss, = evaluation.misses[0].criteria
    assert (miss.criterion, miss.gold, miss.got) == ("77002.needle_location", "not_met", "met")
    assert miss.gold_evidence == (FLUORO_NOTE[start:end],)
    assert any("needle tip" in f.sentence for f in miss.checker_evidence)


def test_scoring_per_status_counts(checker, criterion_labels):
    gold = record({"77002": {"decision": "pass", "criteria": {
        "77002.needle_location": "met", "77002.spine": "excluded"}}})
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    assert evaluation.criterion_counts("77002.needle_location")["met"] == Counts(tp=1)
    assert evaluation.criterion_counts("77002.spine") == {"met": Counts(fp=1), "excluded": Counts(fn=1)}


def test_scoring_text_and_json_report_the_same_numbers(checker, criterion_labels):
    start = FLUORO_NOTE.index("Fluoro time")
    gold = record({"77002": {"decision": "fail", "criteria": {"encounter.fluoroscopy_dose": "met"}}},
                  spans=[{"document": 0, "start": start, "end": start + 23, "label": "FLUORO_DOSE"}])
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    data = evaluation_json(evaluation)
    text = evaluation_text(evaluation)
    assert data["decision_accuracy"] == 0.0 and "decision accuracy        0.000" in text
    assert data["spans"]["FLUORO_DOSE"]["recall"] == 1.0
    assert "r1 77002: gold fail, checker pass" in text


def test_scoring_spans_only_for_labels_the_checked_codes_read(checker, criterion_labels):
    """An unannotated label (one no checked criterion reads) costs no precision."""
    gold = record({"77002": {"decision": "pass", "criteria": {"77002.needle_location": "met"}}}, spans=[])
    evaluation = evaluate([(gold, checker.check(gold))], criterion_labels)
    assert set(evaluation.spans) == {"NEEDLE_LOCATION"}
    assert evaluation.spans["NEEDLE_LOCATION"].fp >= 1
