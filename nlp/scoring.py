"""Comparing the checker with gold annotations (``expected`` and ``expected_evidence``).

The numbers are the ones the two kinds of users need: a reviewer must not miss a failing
record (fail recall), a coder must not be told a bad note passes (pass precision). A gold code
the checker did not report, or a code it reported that the gold lacks, counts as a wrong
decision: inferring the wrong codes is an error like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .checker import RecordResult
from .findings import ASSERTED, Finding
from .records import GoldSpan, Record

STATUSES = ("met", "not_met", "excluded", "uncertain", "not_applicable")
DECISIONS = ("pass", "review", "fail")


@dataclass(frozen=True)
class Counts:
    """True positives, false positives, false negatives of one class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)


@dataclass(frozen=True)
class CriterionMiss:
    criterion: str
    gold: str
    got: str | None
    checker_evidence: tuple[Finding, ...]
    gold_evidence: tuple[str, ...]


@dataclass(frozen=True)
class DecisionMiss:
    """One record and code where the checker and the gold disagree, with both sides' evidence."""

    record: str
    code: str
    gold: str | None
    got: str | None
    criteria: tuple[CriterionMiss, ...]

    @property
    def weight(self) -> int:
        """How bad the miss is for users: a failing record called pass is the worst."""
        order = {"pass": 0, "review": 1, "fail": 2, None: 1}
        return abs(order[self.gold] - order[self.got]) * 10 + len(self.criteria)


@dataclass
class Evaluation:
    records: int = 0
    decisions: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # code, gold, got
    criteria: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # id -> (gold, got)
    spans: dict[str, Counts] = field(default_factory=dict)
    misses: list[DecisionMiss] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def decision_accuracy(self, code: str | None = None) -> float | None:
        pairs = [(g, m) for c, g, m in self.decisions if code in (None, c)]
        return sum(g == m for g, m in pairs) / len(pairs) if pairs else None

    @property
    def fail_recall(self) -> float | None:
        gold_fail = [m for _, g, m in self.decisions if g == "fail"]
        return sum(m == "fail" for m in gold_fail) / len(gold_fail) if gold_fail else None

    @property
    def pass_precision(self) -> float | None:
        called_pass = [g for _, g, m in self.decisions if m == "pass"]
        return sum(g == "pass" for g in called_pass) / len(called_pass) if called_pass else None

    def confusion(self) -> Counter[tuple[str | None, str | None]]:
        return Counter((g, m) for _, g, m in self.decisions)

    def criterion_counts(self, criterion: str) -> dict[str, Counts]:
        pairs = self.criteria.get(criterion, [])
        return {status: Counts(sum(g == status and m == status for g, m in pairs),
                               sum(g != status and m == status for g, m in pairs),
                               sum(g == status and m != status for g, m in pairs))
                for status in STATUSES if any(status in (g, m) for g, m in pairs)}

    def criterion_accuracy(self) -> float | None:
        pairs = [p for pairs in self.criteria.values() for p in pairs]
        return sum(g == m for g, m in pairs) / len(pairs) if pairs else None

    @property
    def span_total(self) -> Counts:
        return sum(self.spans.values(), Counts())

    @property
    def codes(self) -> list[str]:
        return sorted({c for c, _, _ in self.decisions})

    def hardest(self, n: int = 10) -> list[DecisionMiss]:
        return sorted(self.misses, key=lambda m: (-m.weight, m.record, m.code))[:n]


def _overlaps(finding: Finding, span: GoldSpan) -> bool:
    return finding.document == span.document and finding.label == span.label and \
        finding.start < span.end and span.start < finding.end


def span_counts(found: Iterable[Finding], gold: Iterable[GoldSpan], labels: set[str]) -> dict[str, Counts]:
    """Per label: a checker finding (asserted) matches a gold span of its label it overlaps.
    Precision counts findings, recall counts gold spans."""
    found = [f for f in found if f.status == ASSERTED and f.label in labels]
    gold = list(gold)
    counts: dict[str, Counts] = {}
    for label in labels:
        mine = [f for f in found if f.label == label]
        theirs = [g for g in gold if g.label == label]
        matched = sum(any(_overlaps(f, g) for g in theirs) for f in mine)
        recalled = sum(any(_overlaps(f, g) for f in mine) for g in theirs)
        counts[label] = Counts(tp=recalled, fp=len(mine) - matched, fn=len(theirs) - recalled)
    return counts


def relevant_labels(record: Record, criterion_labels: Mapping[str, tuple[str, ...]]) -> set[str]:
    """The evidence labels a record's gold spans cover: those read by the criteria of the codes
    it checks (annotated_notes/README.md). A record checking nothing has none."""
    return {label for entry in (record.expected or {}).values() for criterion in entry.get("criteria") or ()
            for label in criterion_labels.get(criterion, ())}


def evaluate(pairs: Iterable[tuple[Record, RecordResult]], criterion_labels: Mapping[str, tuple[str, ...]]) -> Evaluation:
    """Score each record's result against its gold. ``criterion_labels`` names the evidence
    labels each criterion reads, so a miss can show the gold evidence beside the checker's."""
    total = Evaluation()
    for record, result in pairs:
        total.records += 1
        if result.error:
            total.errors.append(f"{record.id}: {result.error}")
        expected = record.expected or {}
        got = {r.code: r for r in result.results}
        for code in sorted(set(expected) | set(got)):
            gold, mine = expected.get(code), got.get(code)
            total.decisions.append((code, gold and gold["decision"], mine and mine.decision))
            statuses = {c.id: c for c in mine.criteria} if mine else {}
            misses = []
            for criterion, status in ((gold or {}).get("criteria") or {}).items():
                checked = statuses.get(criterion)
                total.criteria.setdefault(criterion, []).append((status, checked and checked.status))
                if checked is None or checked.status != status:
                    labels = criterion_labels.get(criterion, ())
                    misses.append(CriterionMiss(
                        criterion, status, checked and checked.status,
                        checked.evidence if checked else (),
                        tuple(record.documents[s.document].text[s.start:s.end]
                              for s in record.expected_evidence or () if s.label in labels)))
            if misses or not gold or not mine or gold["decision"] != mine.decision:
                total.misses.append(DecisionMiss(record.id, code, gold and gold["decision"],
                                                 mine and mine.decision, tuple(misses)))
        if record.expected_evidence is not None:
            labels = relevant_labels(record, criterion_labels)
            for label, counts in span_counts(result.findings, record.expected_evidence, labels).items():
                total.spans[label] = total.spans.get(label, Counts()) + counts
    return total


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def evaluation_text(evaluation: Evaluation, errors_shown: int = 10) -> str:
    """The tables a reviewer reads: decisions, criteria, spans, then the worst misses."""
    e = evaluation
    right = sum(g == m for _, g, m in e.decisions)
    lines = [f"records {e.records}, code decisions {len(e.decisions)}, records not checked {len(e.errors)}", "",
             f"{'':22}{'value':>8}",
             f"{'decision accuracy':22}{_number(e.decision_accuracy()):>8}  ({right}/{len(e.decisions)})"]
    lines += [f"{'  ' + code:22}{_number(e.decision_accuracy(code)):>8}" for code in e.codes]
    lines += [f"{'fail recall':22}{_number(e.fail_recall):>8}",
              f"{'pass precision':22}{_number(e.pass_precision):>8}",
              f"{'criterion accuracy':22}{_number(e.criterion_accuracy()):>8}", ""]
    confusion = e.confusion()
    lines.append("gold \\ checker  " + "".join(f"{d:>8}" for d in (*DECISIONS, "none")))
    for gold in (*DECISIONS, None):
        row = [confusion.get((gold, got), 0) for got in (*DECISIONS, None)]
        if any(row):
            lines.append(f"{gold or 'none':15} " + "".join(f"{n:>8}" for n in row))
    lines += ["", f"{'criterion':38}{'status':16}{'P':>7}{'R':>7}{'F1':>7}{'gold':>6}"]
    for criterion in sorted(e.criteria):
        for status, c in e.criterion_counts(criterion).items():
            lines.append(f"{criterion:38}{status:16}{_number(c.precision):>7}{_number(c.recall):>7}"
                         f"{_number(c.f1):>7}{c.tp + c.fn:>6}")
    if e.spans:
        lines += ["", f"{'evidence spans (overlap)':38}{'P':>7}{'R':>7}{'F1':>7}{'gold':>6}"]
        for label, c in sorted(e.spans.items()) + [("all", e.span_total)]:
            lines.append(f"{label:38}{_number(c.precision):>7}{_number(c.recall):>7}{_number(c.f1):>7}{c.tp + c.fn:>6}")
    if e.misses:
        lines += ["", f"{len(e.misses)} record/code pairs disagree; the {min(errors_shown, len(e.misses))} worst:"]
        for miss in e.hardest(errors_shown):
            lines.append(f"- {miss.record} {miss.code}: gold {miss.gold}, checker {miss.got}")
            for c in miss.criteria:
                lines.append(f"    {c.criterion}: gold {c.gold}, checker {c.got}")
                lines += [f"      gold says: {text!r}" for text in c.gold_evidence[:2]]
                lines += [f"      checker read ({f.status}{', ' + ','.join(f.context) if f.context else ''}): "
                          f"{f.sentence[:140]!r}" for f in c.checker_evidence[:2]]
    lines += [f"not checked: {error}" for error in e.errors]
    return "\n".join(lines) + "\n"


def _counts_json(c: Counts) -> dict[str, object]:
    return {"tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": c.precision, "recall": c.recall, "f1": c.f1}


def evaluation_json(evaluation: Evaluation) -> dict[str, object]:
    e = evaluation
    return {
        "records": e.records,
        "decisions": len(e.decisions),
        "decision_accuracy": e.decision_accuracy(),
        "decision_accuracy_by_code": {code: e.decision_accuracy(code) for code in e.codes},
        "fail_recall": e.fail_recall,
        "pass_precision": e.pass_precision,
        "criterion_accuracy": e.criterion_accuracy(),
        "confusion": [{"gold": g, "checker": m, "count": n} for (g, m), n in sorted(
            e.confusion().items(), key=lambda item: (str(item[0][0]), str(item[0][1])))],
        "criteria": {cid: {s: _counts_json(c) for s, c in e.criterion_counts(cid).items()} for cid in sorted(e.criteria)},
        "spans": {label: _counts_json(c) for label, c in sorted(e.spans.items())},
        "spans_all": _counts_json(e.span_total),
        "misses": [
            {"record": m.record, "code": m.code, "gold": m.gold, "checker": m.got,
             "criteria": [{"criterion": c.criterion, "gold": c.gold, "checker": c.got,
                           "gold_evidence": list(c.gold_evidence),
                           "checker_evidence": [{"sentence": f.sentence, "status": f.status, "rule": f.rule,
                                                 "context": list(f.context)} for f in c.checker_evidence]}
                          for c in m.criteria]}
            for m in e.hardest(len(e.misses))
        ],
        "not_checked": e.errors,
    }
