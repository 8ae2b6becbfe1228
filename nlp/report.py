"""Rendering results: JSON Lines as result.schema.json requires, CSV one row per record, code
and criterion, and a plain-text report for people that shows only what needs attention.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from .checker import RecordResult
from .evaluation import CodeResult, CriterionResult
from .findings import Finding
from .policy import Policy

ATTENTION = ("not_met", "excluded", "uncertain")
WIDTH = 160
MARKS = {"not_met": "x", "excluded": "x", "uncertain": "?", "met": "+", "not_applicable": "-"}
CSV_FIELDS = ("record", "source", "code", "billed", "decision", "criterion", "kind", "status", "citation",
              "evidence", "document", "start", "end", "context", "message", "error")


def evidence_json(finding: Finding) -> dict[str, Any]:
    return {
        "document": finding.document, "start": finding.start, "end": finding.end, "text": finding.text,
        "sentence": finding.sentence, "section": finding.section, "label": finding.label,
        "context": list(finding.context), "status": finding.status, "rule": finding.rule,
        "score": finding.score,
    }


def criterion_json(result: CriterionResult) -> dict[str, Any]:
    return {
        "id": result.id, "kind": result.kind, "status": result.status, "citation": result.citation,
        "message": result.message, "evidence": [evidence_json(f) for f in result.evidence],
        "looked_for": list(result.looked_for), "basis": result.basis,
    }


def record_json(result: RecordResult) -> dict[str, Any]:
    return {
        "id": result.id if result.id is not None else result.source,
        "source": result.source,
        "results": [
            {"code": r.code, "billed": r.billed, "decision": r.decision, "policy": r.policy,
             "criteria": [criterion_json(c) for c in r.criteria]}
            for r in result.results
        ],
        "suggestions": [{k: v for k, v in asdict(s).items() if v is not None} for s in result.suggestions],
        "error": result.error,
    }


def to_json_line(result: RecordResult) -> str:
    return json.dumps(record_json(result), ensure_ascii=False)


def csv_rows(result: RecordResult) -> Iterable[dict[str, Any]]:
    base = {"record": result.id, "source": result.source}
    if result.error or not result.results:
        yield {**base, "error": result.error or ""}
        return
    for code in result.results:
        for c in code.criteria:
            first = c.evidence[0] if c.evidence else None
            yield {
                **base, "code": code.code, "billed": code.billed, "decision": code.decision, "criterion": c.id,
                "kind": c.kind, "status": c.status, "citation": c.citation,
                "evidence": first.sentence if first else "", "document": first.document if first else "",
                "start": first.start if first else "", "end": first.end if first else "",
                "context": ";".join(first.context) if first else "", "message": c.message, "error": "",
            }


def csv_header() -> str:
    buffer = io.StringIO()
    csv.DictWriter(buffer, CSV_FIELDS).writeheader()
    return buffer.getvalue()


def to_csv(result: RecordResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_FIELDS)
    for row in csv_rows(result):
        writer.writerow(row)
    return buffer.getvalue()


def _evidence_line(finding: Finding) -> str:
    flags = f"; {', '.join(finding.context)}" if finding.context else ""
    where = f"doc {finding.document} @{finding.start}-{finding.end}"
    section = f", section {finding.section}" if finding.section else ""
    source = f", model p={finding.score:.2f}" if finding.score is not None else ""
    sentence = " ".join(finding.sentence.split())
    if len(sentence) > WIDTH:
        # Keep the evidence itself in view: a window of the sentence around it.
        at = max(sentence.find(" ".join(finding.text.split())), 0)
        start = max(0, min(at - WIDTH // 3, len(sentence) - WIDTH))
        sentence = ("..." if start else "") + sentence[start:start + WIDTH] + ("..." if start + WIDTH < len(sentence) else "")
    return f'"{sentence}" ({where}{section}{source}{flags})'


def _code_text(code: CodeResult) -> list[str]:
    how = "billed" if code.billed else "inferred from the text, not on the claim"
    lines = [f"  {code.code}  {code.decision.upper()}  ({how})"]
    for c in code.criteria:
        if c.status not in ATTENTION:
            continue
        lines.append(f"    [{MARKS[c.status]}] {c.id}  {c.status}  ({c.kind}; {c.citation})")
        shown = [f for f in c.evidence if c.status != "not_met" or f.status != "asserted"][:2] or c.evidence[:2]
        for finding in shown:
            lines.append(f"        evidence: {_evidence_line(finding)}")
        if not c.evidence and c.looked_for:
            lines.append(f"        looked for: {'; '.join(c.looked_for)}")
        if c.basis:
            lines.append(f"        basis: {c.basis}")
        lines.append(f"        fix: {c.message}")
    met = sum(1 for c in code.criteria if c.status in ("met", "not_applicable"))
    lines.append(f"    {met} of {len(code.criteria)} criteria met or not applicable")
    return lines


def to_text(result: RecordResult) -> str:
    name = result.id if result.id is not None else "(no id)"
    lines = [f"{name}  [{result.source}]"]
    if result.error:
        lines.append(f"  ERROR: {result.error}")
        return "\n".join(lines) + "\n"
    if not result.results:
        lines.append("  no claimed or described guidance code (76000, 76942, 77002) to check")
    for code in result.results:
        lines += _code_text(code)
    for s in result.suggestions:
        replaces = f" instead of {s.replaces}" if s.replaces else ""
        lines.append(f"  suggestion: {s.code}{replaces}: {s.reason}" + (f" ({s.citation})" if s.citation else ""))
    return "\n".join(lines) + "\n"


def explain_text(policy: Policy) -> str:
    lines = [f"{policy.code}  {policy.title}", f"  payer {policy.payer}, effective {policy.effective_from}"
             + (f" to {policy.effective_to}" if policy.effective_to else "") + f"  [{policy.source}]", ""]
    for c in policy.criteria:
        scope = ", claim lines" if c.claim_scope else ""
        lines.append(f"  {c.id}  ({c.kind}{scope}; {c.citation})")
        lines.append(f"      {c.message}")
    return "\n".join(lines) + "\n"
