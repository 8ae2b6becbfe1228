"""Criteria evaluation: findings and claim facts in, one status per criterion and a decision
per code out, exactly as spec/criteria.md 'How a criterion resolves' says.

Evidence logic is three-valued: TRUE (asserted), UNKNOWN (only hedged or hypothetical,
asserted and negated at once, or template text - a ticked box, a site field - that the
narrative contradicts), FALSE (absent, or only negated, historical or about someone else).
The status follows from the truth value and the criterion's kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .findings import ASSERTED, CORRECTION, LOW_CONFIDENCE, UNCERTAIN, Finding
from .policy import Criterion, Expression, Policy, labels_in, walk
from .records import ClaimLine

MAX_EVIDENCE = 6


class Truth(Enum):
    FALSE = 0
    UNKNOWN = 1
    TRUE = 2


@dataclass(frozen=True)
class SiteAgreement:
    """A templated field ("NEEDLE POSITION: subacromial bursa", matched by ``field_rules``) and the
    narrative ("the needle tip was in the glenohumeral joint") must name the same site: when the
    sites each names (``sites``: name -> pattern) are both known and share none, the record
    contradicts itself."""

    field_rules: tuple[str, ...] = ()
    sites: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def names(self, text: str) -> set[str]:
        return {name for name, pattern in self.sites if pattern.search(text)}

    def conflict(self, findings: tuple[Finding, ...]) -> bool:
        asserted = [f for f in findings if f.status == ASSERTED]
        fields = [f for f in asserted if f.rule in self.field_rules]
        narrative = [f for f in asserted if f.rule not in self.field_rules]
        if not fields or not narrative:
            return False
        field_lines = {f.sentence for f in fields}
        field_sites = set().union(*(self.names(_line_of(f)) for f in fields))
        told_sites = set().union(*(self.names(f.sentence) for f in narrative if f.sentence not in field_lines))
        return bool(field_sites) and bool(told_sites) and not field_sites & told_sites


@dataclass(frozen=True)
class BodySites:
    """Where a sentence says it is: the body sites it names ("the left knee", "the anterior hip")
    and the sides. "The joint lines of the right knee were easily felt" does not contradict "the
    left knee's landmarks cannot be felt": two statements are apart when both name sites and
    share none, or share them only on opposite sides."""

    sites: tuple[tuple[str, re.Pattern[str]], ...] = ()
    sides: tuple[tuple[str, re.Pattern[str]], ...] = ()

    def _where(self, text: str) -> tuple[set[str], set[str]]:
        return ({name for name, pattern in self.sites if pattern.search(text)},
                {name for name, pattern in self.sides if pattern.search(text)})

    def apart(self, one: str, other: str) -> bool:
        (sites, sides), (other_sites, other_sides) = self._where(one), self._where(other)
        if not sites or not other_sites:
            return False
        return not sites & other_sites or bool(sides and other_sides and not sides & other_sides)


def _line_of(finding: Finding) -> str:
    """The field's line: from the matched text to the end of its line."""
    at = finding.sentence.find(finding.text)
    rest = finding.sentence[at:] if at >= 0 else finding.text
    return rest.split("\n", 1)[0]


@dataclass(frozen=True)
class TemplateMarks:
    """How a template marks its items (labels.json ``template_marks``): a ticked box, any box,
    the brackets of a smart-list value, and how far after a finding its box may stand."""

    ticked: re.Pattern[str]
    box: re.Pattern[str]
    smart_list: tuple[str, str] = ("{", "}")
    tick_reach: int = 8

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> TemplateMarks:
        opening, closing = data.get("smart_list", ("{", "}"))
        return cls(re.compile(data["ticked"]), re.compile(data["box"]), (opening, closing), data.get("tick_reach", 8))

    def ticked_box(self, finding: Finding) -> bool:
        """The finding is a ticked template box ("[x] SI joint", "[x] hylan G-F 20 (Synvisc)",
        "Joint landmarks: [x] easily palpable"): the last box before it on its line, or one inside
        or right after the match, is ticked."""
        at = finding.sentence.find(finding.text)
        if at < 0:
            return bool(self.ticked.search(finding.text))
        line_start = finding.sentence.rfind("\n", 0, at) + 1
        before = list(self.box.finditer(finding.sentence, line_start, at + len(finding.text)))
        if before:
            return bool(self.ticked.fullmatch(before[-1].group()))
        after = finding.sentence[at + len(finding.text): at + len(finding.text) + self.tick_reach]
        return bool(self.ticked.match(after.lstrip()))

    def smart_list_value(self, finding: Finding) -> bool:
        """The finding is a value an EHR smart list filled in ("Procedure: {Trigger point
        injection}"): a template's word, like a ticked box."""
        at = finding.sentence.find(finding.text)
        if at < 0:
            return False
        opening, closing = self.smart_list
        before = finding.sentence[finding.sentence.rfind("\n", 0, at) + 1: at]
        after = finding.sentence[at + len(finding.text):].split("\n", 1)[0]
        closes, opens = after.find(closing), after.find(opening)
        return before.rfind(opening) > before.rfind(closing) and closes >= 0 and (opens < 0 or closes < opens)

    def box_item(self, finding: Finding) -> str:
        """The ticked item the finding stands in: from its tick to the next box or the end of line."""
        at = max(finding.sentence.find(finding.text), 0)
        line_start = finding.sentence.rfind("\n", 0, at) + 1
        line_end = finding.sentence.find("\n", at)
        line = finding.sentence[line_start: line_end if line_end >= 0 else None]
        ticks = list(self.ticked.finditer(line))
        if not ticks:
            inside = self.ticked.search(finding.text) or re.search(r":", finding.text)
            return finding.text[inside.end():] if inside else finding.text
        offset = at - line_start
        tick = min(ticks, key=lambda m: abs(m.start() - offset))
        rest = line[tick.end():]
        following = self.box.search(rest)
        return rest[: following.start()] if following else rest

    def on_box_line(self, finding: Finding) -> bool:
        first = finding.text.split("\n", 1)[0]
        line = next((l for l in finding.sentence.splitlines() if first in l), finding.sentence)
        return bool(self.box.search(line))

    def narrative_lines(self, findings: Iterable[Finding]) -> list[str]:
        return [line for f in findings for line in f.sentence.splitlines() if line.strip() and not self.box.search(line)]


_WORD = re.compile(r"[a-z][a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class CheckboxAgreement:
    """A ticked box, or a template field read by one of ``field_rules``, is only a template's word
    (annotation guide, ambiguity 21). When a label's only asserted evidence is such template
    text and the narrative (``narrative``: labels asserted on lines without a box) describes
    the needle work, the template and the narrative disagree (UNKNOWN) if the narrative
    negates the label, or names none of the words particular to the ticked item ("[x] SI
    joint" beside a hip injection, "[x] hylan G-F 20 (Synvisc)" beside Kenalog); a narrative
    that names the item ("[x] Greater occipital nerve block" and "the occipital artery ...
    around the nerve") agrees."""

    marks: TemplateMarks
    narrative: tuple[str, ...] = ()
    field_rules: frozenset[str] = frozenset()  # rules that read a template field ("Site: plantar fascia")
    generic: frozenset[str] = frozenset()  # item words that name nothing particular ("block", "joint")

    def _template(self, finding: Finding) -> bool:
        return (finding.rule in self.field_rules or self.marks.ticked_box(finding)
                or self.marks.smart_list_value(finding))

    def conflict(self, own: tuple[Finding, ...], findings: Mapping[str, tuple[Finding, ...]]) -> bool:
        asserted = [f for f in own if f.status == ASSERTED]
        if not asserted or not all(self._template(f) for f in asserted):
            return False
        if any(f.context == ("negated",) and not self.marks.on_box_line(f) for f in own):
            return True
        told = [f for label in self.narrative for f in findings.get(label, ())
                if f.status == ASSERTED and not self.marks.on_box_line(f) and f.rule not in self.field_rules]
        lines = self.marks.narrative_lines(told)
        if not lines:
            return False
        words = {w for f in asserted for w in _WORD.findall(self.marks.box_item(f).lower())} - self.generic
        own_sentences = {f.sentence for f in own}
        narrative = " ".join(self.marks.narrative_lines(f for fs in findings.values() for f in fs
                                                        if f.sentence not in own_sentences)).lower()
        # A word the narrative names only inside a negated mention ("the knee joint itself was
        # not entered") does not agree with the box.
        for f in (f for fs in findings.values() for f in fs if "negated" in f.context):
            narrative = narrative.replace(f.text.lower(), " ")
        return not any(re.search(rf"(?<![a-z0-9-]){re.escape(w)}(?![a-z0-9-])", narrative) for w in words)


@dataclass(frozen=True)
class SameFact:
    """Doubt about what a sentence states passes to this label's evidence that ``readers`` (the
    model, and rules that frame the sentence: "Reason for US: ...", "..., so ultrasound was
    used"; metadata 'frames_sentence') read from it: doubt from this label's own rules hedged there,
    and from ``labels`` stating the same fact in other words."""

    labels: tuple[str, ...]
    readers: frozenset[str]
    hedge: str = "uncertain"  # the context flag of a hedge ("probably", "may"): a conditional ("a blind
    # pass would risk the artery") is how a reason is stated, not a doubt about it


@dataclass(frozen=True)
class LabelContradictions:
    self_contradiction: bool = False
    opposed_by: tuple[str, ...] = ()
    site_agreement: SiteAgreement | None = None
    checkbox_agreement: CheckboxAgreement | None = None
    same_fact: SameFact | None = None
    yields_to_doubt: frozenset[str] = frozenset()  # rules that say less than the label's other rules
    denied_by: frozenset[str] = frozenset()  # rules whose plain negation denies the label outright
    opposed_at: BodySites | None = None  # when set, opposing evidence counts only at the same body site


@dataclass(frozen=True)
class Facts:
    """What a record offers the rules: findings by label, claim lines, provider credential."""

    findings: Mapping[str, tuple[Finding, ...]]
    claim: tuple[ClaimLine, ...]
    credential: str  # physician, npp, unknown or other
    contradictions: Mapping[str, LabelContradictions] = field(default_factory=dict)

    @classmethod
    def of(cls, findings: Iterable[Finding], claim: tuple[ClaimLine, ...], credential: str,
           contradictions: Mapping[str, LabelContradictions] | None = None) -> Facts:
        by_label: dict[str, list[Finding]] = {}
        for finding in findings:
            by_label.setdefault(finding.label, []).append(finding)
        return cls({k: tuple(v) for k, v in by_label.items()}, claim, credential, contradictions or {})

    def label(self, name: str) -> Truth:
        """Asserted evidence is TRUE unless the record contradicts it: the same statement plainly
        negated (for labels that state one fact), or an opposing label asserted too. What a
        correction states ("Correction to the line above: images were saved") replaces what the
        record said of the fact before it, so such a label is read from the correction alone."""
        rules = self.contradictions.get(name, LabelContradictions())
        own = self.findings.get(name, ())
        corrected = tuple(f for f in own if CORRECTION in f.context)
        if corrected:
            return label_truth(corrected, rules.self_contradiction)
        value = label_truth(own, rules.self_contradiction)
        if value is Truth.TRUE and any(
                label_truth(self._opposing(other, own, rules.opposed_at)) is Truth.TRUE for other in rules.opposed_by):
            return Truth.UNKNOWN
        if value is Truth.TRUE and rules.site_agreement and rules.site_agreement.conflict(self.findings.get(name, ())):
            return Truth.UNKNOWN
        if value is Truth.TRUE and rules.checkbox_agreement and rules.checkbox_agreement.conflict(
                self.findings.get(name, ()), self.findings):
            return Truth.UNKNOWN
        if value is Truth.TRUE and rules.same_fact and self._only_in_doubted_sentences(name, rules.same_fact):
            return Truth.UNKNOWN
        if value is Truth.TRUE and rules.yields_to_doubt and self._only_weak_against_doubt(name, rules.yields_to_doubt):
            return Truth.UNKNOWN
        if value is Truth.TRUE and any(f.rule in rules.denied_by and f.context == ("negated",)
                                       for f in self.findings.get(name, ())):
            # "[x] Knee arthrocentesis" beside "The knee joint itself was not entered": the
            # record says both, whichever rules said them.
            return Truth.UNKNOWN
        return value

    def _opposing(self, other: str, own: tuple[Finding, ...], sites: BodySites | None) -> tuple[Finding, ...]:
        """The opposing label's evidence that speaks of what this label's does: with ``sites``,
        not "easily felt" said of the other knee or of another joint done by landmarks."""
        opposing = self.findings.get(other, ())
        if sites is None:
            return opposing
        stated = [f.sentence for f in own if f.status == ASSERTED]
        return tuple(f for f in opposing if not all(sites.apart(sentence, f.sentence) for sentence in stated))

    def _only_weak_against_doubt(self, name: str, weak: frozenset[str]) -> bool:
        """Some rules only imply what others state: "in-plane approach" implies the needle was
        followed, "the needle tip was probably within the bursa, though hard to see" says how
        well it was. When only such implying rules assert the label and a stating rule hedges
        it, the record leaves the fact in doubt."""
        own = self.findings.get(name, ())
        return (all(f.rule in weak for f in own if f.status == ASSERTED)
                and any(f.status == UNCERTAIN and f.rule not in weak for f in own))

    def _only_in_doubted_sentences(self, name: str, same_fact: SameFact) -> bool:
        """A frame or a model reads a sentence, it does not state a fact of its own: "Reason for US:
        the joint cannot be palpated" is the palpation statement framed as a reason, "Reason:
        probably to look for a loose body" a hedged purpose under a heading. When the record
        leaves what the sentence states in doubt (hedged, or opposed by "joint easily palpable"
        on exam), what a frame read from it is in the same doubt. A rule that names its own
        fact ("distorted anatomy after the excision") stands, and so does evidence elsewhere."""
        own = self.findings.get(name, ())
        doubted = {f.sentence for f in own if same_fact.hedge in f.context and f.rule not in same_fact.readers}
        doubted |= {f.sentence for other in same_fact.labels if self.label(other) is Truth.UNKNOWN
                    for f in self.findings.get(other, ()) if f.context != (LOW_CONFIDENCE,)}
        asserted = [f for f in own if f.status == ASSERTED]
        return bool(doubted) and all(f.sentence in doubted and f.rule in same_fact.readers for f in asserted)


@dataclass(frozen=True)
class CriterionResult:
    id: str
    kind: str
    status: str
    citation: str
    message: str
    evidence: tuple[Finding, ...]
    looked_for: tuple[str, ...] = ()
    basis: str | None = None


@dataclass(frozen=True)
class CodeResult:
    code: str
    billed: bool
    decision: str
    criteria: tuple[CriterionResult, ...]
    policy: str


def label_truth(findings: tuple[Finding, ...], self_contradiction: bool = False) -> Truth:
    """Asserted is TRUE; with ``self_contradiction``, not when the same rule also matched plainly
    negated ("images saved to PACS" beside "no images were saved to PACS"): UNKNOWN."""
    asserted_rules = {f.rule for f in findings if f.status == ASSERTED}
    if asserted_rules:
        negated = self_contradiction and any(f.context == ("negated",) and f.rule in asserted_rules for f in findings)
        return Truth.UNKNOWN if negated else Truth.TRUE
    return Truth.UNKNOWN if any(f.status == UNCERTAIN for f in findings) else Truth.FALSE


def _in_range(code: str, item: str) -> bool:
    low, _, high = item.partition("-")
    if not high:
        return code == low
    return code.isdigit() and low <= code <= high and len(code) == len(low)


def claim_has(claim: tuple[ClaimLine, ...], codes: list[str]) -> bool:
    return any(_in_range(line.code, item) for line in claim for item in codes)


def truth(expression: Expression, facts: Facts, code: str) -> Truth:
    (operator, argument), = expression.items()
    if operator == "label":
        return facts.label(argument)
    if operator == "any":
        return max((truth(e, facts, code) for e in argument), key=lambda t: t.value)
    if operator == "all":
        return min((truth(e, facts, code) for e in argument), key=lambda t: t.value)
    if operator == "not":
        return Truth(2 - truth(argument, facts, code).value)
    if operator == "uncertain":
        return Truth.UNKNOWN if truth(argument, facts, code) is Truth.UNKNOWN else Truth.FALSE
    if operator == "stated":
        return Truth.TRUE if truth(argument, facts, code) is Truth.TRUE else Truth.FALSE
    if operator == "claim_has":
        return Truth.TRUE if claim_has(facts.claim, argument) else Truth.FALSE
    if operator == "claim_units_over":
        units = sum(line.units for line in facts.claim if line.code == code)
        return Truth.TRUE if units > argument else Truth.FALSE
    if operator == "credential":
        return Truth.TRUE if facts.credential == argument else Truth.FALSE
    raise ValueError(f"unknown operator {operator!r}")


def status_of(kind: str, value: Truth) -> str:
    if kind == "exclusion":
        return {Truth.TRUE: "excluded", Truth.UNKNOWN: "uncertain", Truth.FALSE: "met"}[value]
    if kind == "advisory":
        return "met" if value is Truth.TRUE else "not_met"
    return {Truth.TRUE: "met", Truth.UNKNOWN: "uncertain", Truth.FALSE: "not_met"}[value]


def _basis(expression: Expression, facts: Facts) -> str | None:
    """A line saying which non-text facts the criterion read, for criteria resting on them."""
    operators = {operator for operator, _ in walk(expression)}
    parts = []
    if operators & {"claim_has", "claim_units_over"}:
        lines = ", ".join(f"{l.code}x{l.units}" if l.units > 1 else l.code for l in facts.claim) or "none"
        parts.append(f"claim lines: {lines}")
    if "credential" in operators:
        parts.append(f"provider credential: {facts.credential}")
    return "; ".join(parts) or None


def evaluate_criterion(criterion: Criterion, facts: Facts, code: str, labels_looked_for: Mapping[str, str]) -> CriterionResult:
    def result(status: str, evidence: tuple[Finding, ...] = (), looked_for: tuple[str, ...] = ()) -> CriterionResult:
        return CriterionResult(criterion.id, criterion.kind, status, criterion.citation, criterion.message,
                               evidence, looked_for, _basis(criterion.logic, facts))

    if criterion.claim_scope and not facts.claim:
        return result("not_applicable")
    if criterion.applies_when is not None and truth(criterion.applies_when, facts, code) is Truth.FALSE:
        return result("not_applicable")
    status = status_of(criterion.kind, truth(criterion.logic, facts, code))
    labels = list(dict.fromkeys(labels_in(criterion.logic)))
    # A contradiction is shown from both sides: the opposing evidence joins the criterion's own.
    shown = labels + [o for label in labels
                      for o in facts.contradictions.get(label, LabelContradictions()).opposed_by if o in facts.findings]
    evidence = sorted((f for label in dict.fromkeys(shown) for f in facts.findings.get(label, ())),
                      key=lambda f: (f.rank, f.document, f.start))
    looked_for = tuple(labels_looked_for[label] for label in labels if not any(
        f.status == ASSERTED for f in facts.findings.get(label, ())))
    return result(status, tuple(evidence[:MAX_EVIDENCE]), looked_for)


def decide(results: Iterable[CriterionResult]) -> str:
    """fail > review > pass; advisory criteria never change a decision."""
    results = list(results)
    if any((r.kind == "required" and r.status == "not_met") or r.status == "excluded" for r in results):
        return "fail"
    if any(r.kind != "advisory" and (r.status == "uncertain" or (r.kind == "review" and r.status == "not_met"))
           for r in results):
        return "review"
    return "pass"


def evaluate_code(policy: Policy, facts: Facts, billed: bool, labels_looked_for: Mapping[str, str]) -> CodeResult:
    results = tuple(evaluate_criterion(c, facts, policy.code, labels_looked_for) for c in policy.criteria)
    return CodeResult(policy.code, billed, decide(results), results, policy.source)
