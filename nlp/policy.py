"""Per-code policies as data: ``pipelines/policies/<payer>/<code>.json``.

Each file holds one code's criteria for one payer and an effective-date range; each
criterion has its id from spec/criteria.md, its kind, the evidence logic, its citation and
the message a coder can act on. ``encounter.json`` holds criteria reported under several
codes (its ``codes`` list per criterion); they join every policy of that payer for those codes. A second payer or a later version of a guideline is a new file, not new code.

Evidence logic is a small closed language of JSON operators, checked at load time:

``{"label": L}``            evidence label L, from the text (three-valued)
``{"any": [...]}``          true if any is true, unknown if none is true and one is unknown
``{"all": [...]}``          the dual of any
``{"not": e}``              swaps true and false, keeps unknown
``{"uncertain": e}``        unknown when e is unknown, else false: a hedged or promised fact
                            (a report "to follow") can leave a criterion uncertain, never meet it
``{"stated": e}``           true only when e is true: a fact in doubt is not stated, so "not
                            stated" holds where the record leaves it open
``{"claim_has": [codes]}``  a claim line carries one of the codes or ranges ("20600-20611")
``{"claim_units_over": n}`` the checked code is billed for more than n units in all
``{"credential": c}``       the record's provider credential is "physician", "npp" or "unknown"
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .knowledge import KnowledgeError, read_json

KINDS = ("required", "exclusion", "review", "advisory")
OPERATORS = ("label", "any", "all", "not", "uncertain", "stated", "claim_has", "claim_units_over", "credential")
CREDENTIAL_CLASSES = ("physician", "npp", "unknown")
DEFAULT_PAYER = "ASH"
_CODE = re.compile(r"^(?:[0-9A-Z]{5}|[0-9]{5}-[0-9]{5})$")
POLICY_KEYS = {"payer", "code", "title", "effective_from", "effective_to", "guideline", "criteria"}

Expression = dict[str, Any]


@dataclass(frozen=True)
class Criterion:
    id: str
    kind: str
    logic: Expression
    citation: str
    message: str
    applies_when: Expression | None = None
    claim_scope: bool = False


@dataclass(frozen=True)
class Policy:
    payer: str
    code: str
    title: str
    effective_from: date
    effective_to: date | None
    criteria: tuple[Criterion, ...]
    source: str

    def in_effect(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class PolicyNotFound(LookupError):
    """No policy of the record's payer was in effect on its date of service."""


def walk(expression: Expression) -> Iterator[tuple[str, Any]]:
    """Every (operator, argument) of an expression, depth first, in order of appearance."""
    (operator, argument), = expression.items()
    yield operator, argument
    if operator in ("any", "all"):
        for item in argument:
            yield from walk(item)
    elif operator in ("not", "uncertain", "stated"):
        yield from walk(argument)


def labels_in(expression: Expression) -> list[str]:
    """Every evidence label an expression reads, in order of appearance."""
    return [argument for operator, argument in walk(expression) if operator == "label"]


def validate_expression(expression: Any, where: str, known_labels: set[str]) -> None:
    if not isinstance(expression, dict) or len(expression) != 1:
        raise KnowledgeError(f"{where}: an expression is an object with exactly one operator, got {expression!r}")
    (operator, argument), = expression.items()
    if operator not in OPERATORS:
        raise KnowledgeError(f"{where}: unknown operator {operator!r}; allowed: {', '.join(OPERATORS)}")
    if operator == "label" and (not isinstance(argument, str) or argument not in known_labels):
        raise KnowledgeError(f"{where}: unknown evidence label {argument!r}")
    if operator in ("any", "all"):
        if not isinstance(argument, list) or not argument:
            raise KnowledgeError(f"{where}: {operator!r} takes a non-empty list")
        for item in argument:
            validate_expression(item, where, known_labels)
    if operator in ("not", "uncertain", "stated"):
        validate_expression(argument, where, known_labels)
    if operator == "claim_has" and not (isinstance(argument, list) and argument
                                        and all(isinstance(c, str) and _CODE.match(c) for c in argument)):
        raise KnowledgeError(f"{where}: 'claim_has' takes a list of codes or ranges like '20600-20611'")
    if operator == "claim_units_over" and not isinstance(argument, int):
        raise KnowledgeError(f"{where}: 'claim_units_over' takes a whole number")
    if operator == "credential" and argument not in CREDENTIAL_CLASSES:
        raise KnowledgeError(f"{where}: 'credential' takes one of {CREDENTIAL_CLASSES}")


def _criterion(item: dict[str, Any], where: str, known_labels: set[str]) -> Criterion:
    allowed = {"id", "kind", "met_when", "excluded_when", "applies_when", "scope", "citation", "message", "codes", "note"}
    unknown = set(item) - allowed
    if unknown:
        raise KnowledgeError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    kind = item.get("kind")
    if kind not in KINDS:
        raise KnowledgeError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    logic_key = "excluded_when" if kind == "exclusion" else "met_when"
    if logic_key not in item:
        raise KnowledgeError(f"{where}: a {kind} criterion needs {logic_key!r}")
    for key in ("id", "citation", "message"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise KnowledgeError(f"{where}: {key!r} must be a non-empty string")
    validate_expression(item[logic_key], f"{where} {logic_key}", known_labels)
    if "applies_when" in item:
        validate_expression(item["applies_when"], f"{where} applies_when", known_labels)
    if item.get("scope", "record") not in ("record", "claim"):
        raise KnowledgeError(f"{where}: scope must be 'record' or 'claim'")
    return Criterion(
        id=item["id"], kind=kind, logic=item[logic_key], citation=item["citation"], message=item["message"],
        applies_when=item.get("applies_when"), claim_scope=item.get("scope") == "claim",
    )


def _dates(data: dict[str, Any], where: str) -> tuple[date, date | None]:
    try:
        start = date.fromisoformat(data["effective_from"])
        end = date.fromisoformat(data["effective_to"]) if data.get("effective_to") else None
    except (KeyError, ValueError) as error:
        raise KnowledgeError(f"{where}: effective_from / effective_to must be dates: {error}") from error
    return start, end


def load_policies(directory: Path, known_labels: set[str]) -> tuple[Policy, ...]:
    """Every code policy under ``policies/``, with its payer's shared criteria appended."""
    policies = []
    for payer_dir in sorted(p for p in (directory / "policies").iterdir() if p.is_dir()):
        shared: list[tuple[dict[str, Any], Criterion]] = []
        shared_path = payer_dir / "encounter.json"
        if shared_path.exists():
            for item in read_json(shared_path)["criteria"]:
                shared.append((item, _criterion(item, f"{shared_path}: {item.get('id')}", known_labels)))
        for path in sorted(payer_dir.glob("*.json")):
            if path == shared_path:
                continue
            data = read_json(path)
            unknown = set(data) - POLICY_KEYS
            if unknown:
                raise KnowledgeError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(POLICY_KEYS)}")
            start, end = _dates(data, str(path))
            criteria = [_criterion(item, f"{path}: {item.get('id')}", known_labels) for item in data["criteria"]]
            for item, criterion in shared:
                if data["code"] in item.get("codes", ()):
                    criteria.append(criterion)
            ids = [c.id for c in criteria]
            if len(ids) != len(set(ids)):
                raise KnowledgeError(f"{path}: duplicate criterion ids")
            policies.append(Policy(
                payer=data["payer"], code=data["code"], title=data["title"], effective_from=start,
                effective_to=end, criteria=tuple(criteria), source=str(path.relative_to(directory)),
            ))
    return tuple(policies)


def select_policies(policies: tuple[Policy, ...], payer: str | None, day: date | None) -> dict[str, Policy]:
    """The policy per code for this payer in effect on ``day`` (today when the record has no date)."""
    wanted = (payer or DEFAULT_PAYER).strip().upper()
    of_payer = [p for p in policies if p.payer.upper() == wanted]
    if not of_payer:
        known = sorted({p.payer for p in policies})
        raise PolicyNotFound(f"no policy for payer {payer!r}; known payers: {', '.join(known)}")
    day = day or date.today()
    chosen = {p.code: p for p in sorted(of_payer, key=lambda p: p.effective_from) if p.in_effect(day)}
    if not chosen:
        raise PolicyNotFound(f"no {wanted} policy in effect on {day.isoformat()}")
    return chosen
