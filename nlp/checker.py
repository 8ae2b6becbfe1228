"""The checker: records in, one result per record out. It composes the stages (pipeline,
findings, policies, evaluation, coding) and is the only module that knows them all.

A record that cannot be checked (no policy for its payer, the pipeline raising on its text)
becomes a result with ``error`` set, never an exception that loses the rest of a batch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import PIPELINES_DIR
from .coding import Suggestion, load_coding
from .evaluation import (BodySites, CheckboxAgreement, CodeResult, Facts, LabelContradictions, SameFact, SiteAgreement,
                         TemplateMarks, evaluate_code)
from .findings import Finding, earlier_document_context, findings_from_doc, findings_from_document_kind
from .knowledge import load_knowledge
from .model import MODELS_DIR, RULE_NAME as MODEL_RULE
from .pipeline import build_language
from .policy import PolicyNotFound, load_policies, select_policies
from .records import Record, RecordError

log = logging.getLogger("guidecheck")


@dataclass(frozen=True)
class RecordResult:
    id: str | None
    source: str
    results: tuple[CodeResult, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    error: str | None = None
    findings: tuple[Finding, ...] = ()


class Checker:
    """Holds the pipeline and the policies, built once from ``pipelines/`` (and the evidence
    model from ``models/`` when one is there; ``models_dir=None`` runs on rules alone)."""

    def __init__(self, pipelines_dir: Path | str = PIPELINES_DIR, models_dir: Path | str | None = MODELS_DIR) -> None:
        directory = Path(pipelines_dir)
        self.knowledge = load_knowledge(directory)
        self.language = build_language(self.knowledge, Path(models_dir) if models_dir is not None else None)
        self.uses_model = "guidecheck_evidence_model" in self.language.pipe_names
        labels = set(self.knowledge.labels)
        self.policies = load_policies(self.knowledge.directory, labels)
        self.coding = load_coding(self.knowledge.directory, labels)
        self.looked_for = {name: info.looked_for for name, info in self.knowledge.labels.items()}
        field_rules = frozenset(rule.literal for rule in self.knowledge.target_rules
                                if (rule.metadata or {}).get("template_field"))
        hedge = self.knowledge.hedge_flag
        generic = frozenset(self.knowledge.vocabularies.get("template_generic_words", ()))
        marks = TemplateMarks.of(self.knowledge.template_marks)
        sites = BodySites(*(tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in
                                  self.knowledge.body_sites[key].items()) for key in ("sites", "sides")))
        self.contradictions = {name: LabelContradictions(info.self_contradiction, info.contradicted_by,
                                                         _site_agreement(info.site_agreement),
                                                         CheckboxAgreement(marks, info.checkbox_agreement, field_rules, generic)
                                                         if info.checkbox_agreement else None,
                                                         SameFact(info.same_fact_as, self.knowledge.frame_rules | {MODEL_RULE}, hedge),
                                                         frozenset(info.yields_to_doubt), frozenset(info.denied_by),
                                                         sites if info.opposed_at_same_site else None)
                               for name, info in self.knowledge.labels.items()}

    def findings(self, record: Record) -> list[Finding]:
        found: list[Finding] = []
        texts = (document.text for document in record.documents)
        for index, (document, doc) in enumerate(zip(record.documents, self.language.pipe(texts), strict=True)):
            found += findings_from_document_kind(document, index, self.knowledge, record.date_of_service)
            found += findings_from_doc(doc, index, self.knowledge,
                                       earlier_document_context(document, record.date_of_service, self.knowledge))
        return found

    def check(self, record: Record) -> RecordResult:
        try:
            policies = select_policies(self.policies, record.payer, record.date_of_service)
        except PolicyNotFound as error:
            return RecordResult(record.id, record.source, error=str(error))
        try:
            findings = self.findings(record)
        except Exception as error:  # the pipeline failing on one text must not stop the batch
            log.warning("record %s: pipeline failed: %s", record.id, type(error).__name__)
            return RecordResult(record.id, record.source, error=f"pipeline failed: {type(error).__name__}: {error}")
        facts = Facts.of(findings, record.codes, self.knowledge.credential_class(record.credential),
                         self.contradictions)
        claimed = [line.code for line in record.codes]
        if record.has_claim_lines:
            codes = [(c, True) for c in dict.fromkeys(claimed) if c in self.coding.checked_codes]
        else:
            codes = [(c, False) for c, _ in self.coding.described_codes(facts)]
        missing = [c for c, _ in codes if c not in policies]
        if missing:
            return RecordResult(record.id, record.source, error=f"no policy for {', '.join(missing)} in effect")
        results = tuple(evaluate_code(policies[c], facts, billed, self.looked_for) for c, billed in codes)
        suggestions = tuple(self.coding.suggest(facts, set(claimed)))
        return RecordResult(record.id, record.source, results, suggestions, findings=tuple(findings))

    def check_all(self, items: Iterable[Record | RecordError]) -> Iterator[RecordResult]:
        for item in items:
            if isinstance(item, RecordError):
                yield RecordResult(item.id, item.source, error=str(item))
            else:
                yield self.check(item)


def _site_agreement(data: dict | None) -> SiteAgreement | None:
    if not data:
        return None
    return SiteAgreement(tuple(data["field_rules"]),
                         tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in data["sites"].items()))
