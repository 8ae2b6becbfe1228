"""Comparing checker results with the gold ``expected`` block of annotated records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .checker import RecordResult
from .records import Record


@dataclass
class Score:
    decisions: int = 0
    decisions_right: int = 0
    criteria: int = 0
    criteria_right: int = 0
    code_sets_right: int = 0
    records: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def decision_accuracy(self) -> float:
        return self.decisions_right / self.decisions if self.decisions else 0.0

    @property
    def criterion_accuracy(self) -> float:
        return self.criteria_right / self.criteria if self.criteria else 0.0

    def summary(self) -> str:
        return (f"{self.records} records: codes checked right {self.code_sets_right}/{self.records}; "
                f"decision accuracy {self.decision_accuracy:.3f} ({self.decisions_right}/{self.decisions}); "
                f"criterion status accuracy {self.criterion_accuracy:.3f} ({self.criteria_right}/{self.criteria})")


def score(pairs: Iterable[tuple[Record, RecordResult]]) -> Score:
    """A gold code the checker did not report counts as a wrong decision, and so does an extra one."""
    total = Score()
    for record, result in pairs:
        expected = record.expected or {}
        got = {r.code: r for r in result.results}
        total.records += 1
        total.code_sets_right += set(expected) == set(got)
        for code in sorted(set(expected) | set(got)):
            total.decisions += 1
            gold, mine = expected.get(code), got.get(code)
            if gold is None or mine is None:
                total.wrong.append(f"{record.id} {code}: gold {gold and gold['decision']}, checker {mine and mine.decision}")
                continue
            right = gold["decision"] == mine.decision
            total.decisions_right += right
            statuses = {c.id: c.status for c in mine.criteria}
            misses = []
            for criterion, status in (gold.get("criteria") or {}).items():
                total.criteria += 1
                if statuses.get(criterion) == status:
                    total.criteria_right += 1
                else:
                    misses.append(f"{criterion} gold {status} got {statuses.get(criterion)}")
            if not right or misses:
                total.wrong.append(f"{record.id} {code}: gold {gold['decision']}, checker {mine.decision}; " + "; ".join(misses))
    return total
