"""Every target rule's own examples, in the spirit of semgrep rules that ship with code that must
and must not match.

Each rule in ``pipelines/targets/*.json`` carries ``metadata.examples``: ``match`` sentences the
rule should turn into *asserted* evidence of its label, and ``no_match`` near-misses (negated,
hypothetical, someone else, or another meaning) that must not give asserted evidence of that
label. The sentences run through the real pipeline, ConText included. A match is judged on the
label, not the rule: another rule of the same label may catch it. A rule written only to be
denied (labels.json ``denied_by``) shows ``denied`` sentences instead of ``match``: the rule itself
must find its label there, plainly negated. A rule that reads only hedged sentences (a purpose
the writer guesses at) shows ``hedged`` sentences: the rule itself must find its label there,
uncertain, and nothing may assert it. ``more_match`` /
``more_no_match`` hold further cases of the same kind (regressions a change to the rule must keep),
beyond the few a rule shows as its ``match`` / ``no_match``.

``KNOWN_MISSES`` lists the realistic examples the rules get wrong today. Each is a strict xfail
whose reason names what the rule misses or wrongly catches, so fixing a rule makes its case
XPASS and fail until the entry is removed. Do not weaken an example to make it pass.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from nlp import PIPELINES_DIR
from nlp.findings import ASSERTED, UNCERTAIN, findings_from_doc
from nlp.knowledge import load_knowledge
from nlp.pipeline import build_language

TARGETS = sorted((PIPELINES_DIR / "targets").glob("*.json"))


def _rules() -> list[dict]:
    return [rule for path in TARGETS for rule in json.loads(path.read_text(encoding="utf-8"))["target_rules"]]


# example key -> what it asks: asserted evidence of the rule's label ("match") or none ("no_match")
KINDS = {"match": "match", "no_match": "no_match", "more_match": "match", "more_no_match": "no_match", "denied": "denied",
         "hedged": "hedged"}


def _cases() -> list:
    cases = []
    for rule in _rules():
        examples = (rule.get("metadata") or {}).get("examples") or {}
        for key_name, kind in KINDS.items():
            for index, text in enumerate(examples.get(key_name, [])):
                key = (rule["literal"], text)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[key])] if key in KNOWN_MISSES else []
                cases.append(pytest.param(rule["literal"], rule["category"], kind, text,
                                          id=f"{rule['literal']}-{key_name}-{index}", marks=marks))
    return cases


# (rule, example) -> what the rule misses (a match example) or wrongly catches (a no_match one).
# Where the cause lies outside the rule's pattern (ConText, a label's flag_effects, another rule
# of the same label), the reason says so.
KNOWN_MISSES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def extract():
    knowledge = load_knowledge()
    language = build_language(knowledge)

    @cache
    def run(text: str):
        return tuple(findings_from_doc(language(text), 0, knowledge))
    return run


def describe(findings) -> str:
    return "; ".join(f"{f.rule}:{f.status}{list(f.context) or ''}:{f.text!r}" for f in findings) or "nothing"


@pytest.mark.parametrize(("rule", "label", "kind", "text"), _cases())
def test_rule_example(extract, rule, label, kind, text):
    found = [f for f in extract(text) if f.label == label]
    asserted = [f for f in found if f.status == ASSERTED]
    if kind == "match":
        assert asserted, f"{rule}: no asserted {label} in {text!r}; found {describe(found)}"
    elif kind == "denied":
        assert any(f.rule == rule and f.context == ("negated",) for f in found) and not asserted, \
            f"{rule}: no plainly negated {label} of its own in {text!r}; found {describe(found)}"
    elif kind == "hedged":
        assert any(f.rule == rule and f.status == UNCERTAIN for f in found) and not asserted, \
            f"{rule}: no uncertain {label} of its own in {text!r}; found {describe(found)}"
    else:
        assert not asserted, f"{rule}: {text!r} must not be asserted {label}; found {describe(asserted)}"


def test_every_rule_has_examples():
    """2-3 match (or denied, or hedged) and 1-2 no_match examples per rule."""
    wrong = []
    for rule in _rules():
        examples = (rule.get("metadata") or {}).get("examples") or {}
        if not (2 <= len(examples.get("match", []) + examples.get("denied", []) + examples.get("hedged", [])) <= 3 and 1 <= len(examples.get("no_match", [])) <= 2):
            wrong.append(rule["literal"])
    assert wrong == []


def test_known_misses_name_existing_examples():
    """A stale entry (its example reworded or removed) would otherwise be silently ignored."""
    examples = {(rule["literal"], text)
                for rule in _rules()
                for key_name, texts in ((rule.get("metadata") or {}).get("examples") or {}).items()
                if key_name in KINDS
                for text in texts}
    assert sorted(set(KNOWN_MISSES) - examples) == []
