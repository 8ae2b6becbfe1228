"""Which checked codes the text describes, and what a coder should consider adding or
changing (spec/criteria.md, 'Codes the text shows but the claim lacks'), from
``pipelines/coding.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .evaluation import Facts, Truth, truth
from .knowledge import KnowledgeError, read_json
from .policy import Expression, validate_expression


@dataclass(frozen=True)
class Suggestion:
    code: str
    reason: str
    citation: str | None = None
    replaces: str | None = None


@dataclass(frozen=True)
class CodingRules:
    checked_codes: tuple[str, ...]
    describes: tuple[tuple[str, Expression, str], ...]
    suggestions: tuple[tuple[Expression, Suggestion], ...]

    def described_codes(self, facts: Facts) -> list[tuple[str, str]]:
        """(code, reason) for each checked code the text asserts; hedged text infers nothing."""
        return [(code, reason) for code, when, reason in self.describes if truth(when, facts, code) is Truth.TRUE]

    def suggest(self, facts: Facts, claimed: set[str]) -> list[Suggestion]:
        found = [s for when, s in self.suggestions if truth(when, facts, s.code) is Truth.TRUE and s.code not in claimed]
        if claimed:
            found += [Suggestion(code=code, reason=f"{reason}, but the claim lacks {code}")
                      for code, reason in self.described_codes(facts) if code not in claimed]
        return found


def load_coding(directory: Path, known_labels: set[str]) -> CodingRules:
    path = directory / "coding.json"
    data = read_json(path)
    describes = []
    for code, item in data["describes"].items():
        validate_expression(item["when"], f"{path}: describes {code}", known_labels)
        describes.append((code, item["when"], item["reason"]))
    suggestions = []
    for item in data["suggestions"]:
        validate_expression(item["when"], f"{path}: suggestion {item.get('code')}", known_labels)
        suggestions.append((item["when"], Suggestion(item["code"], item["reason"], item.get("citation"), item.get("replaces"))))
    checked = tuple(data["checked_codes"])
    if set(code for code, _, _ in describes) - set(checked):
        raise KnowledgeError(f"{path}: 'describes' names codes outside checked_codes")
    return CodingRules(checked, tuple(describes), tuple(suggestions))
