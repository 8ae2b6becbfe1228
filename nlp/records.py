"""Reading encounter records: the first stage, knowing nothing of the stages after it.

Records arrive as `record.schema.json` describes them (``.jsonl``, ``.json`` holding one
record or an array, a directory of such files, or ``-`` for stdin) or as plain ``.txt``
notes. A bad record never stops a batch: it is yielded as a :class:`RecordError` that names
the file, the line, the record id and the field, and reading goes on with the next one.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from . import SCHEMAS_DIR

RECORD_SUFFIXES = (".jsonl", ".json", ".txt")
DOCUMENT_KINDS = ("procedure_note", "radiology_report", "other")


@dataclass(frozen=True)
class ClaimLine:
    code: str
    units: int = 1
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    text: str
    kind: str = "other"
    id: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class GoldSpan:
    """One annotated mention of evidence (annotated_notes/README.md, ``expected_evidence``)."""

    document: int
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Record:
    id: str
    documents: tuple[Document, ...]
    codes: tuple[ClaimLine, ...] = ()
    credential: str | None = None
    specialty: str | None = None
    place_of_service: str | None = None
    date_of_service: date | None = None
    payer: str | None = None
    expected: dict[str, Any] | None = None
    expected_evidence: tuple[GoldSpan, ...] | None = None
    source: str = ""

    @property
    def has_claim_lines(self) -> bool:
        return bool(self.codes)


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read; carried through the batch in place of a result."""

    source: str
    message: str
    id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.source
        who = f" record {self.id!r}" if self.id else ""
        what = f" field {self.field!r}:" if self.field else ""
        return f"{where}:{who}{what} {self.message}"


@dataclass(frozen=True)
class NoteDefaults:
    """What a plain-text note, which carries only its text, takes from elsewhere: the record
    fields (a Record with no id or documents yet) and the kind of its one document."""

    fields: Record = Record(id="", documents=())
    kind: str = "other"


def _validator() -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / "record.schema.json").read_text())
    return Draft202012Validator(schema)


_VALIDATOR = _validator()


def schema_errors(data: Any) -> list[tuple[str, str]]:
    """(field path, message) for every schema violation, in field order."""
    found = []
    for error in sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "(record)"
        found.append((path, error.message if len(error.message) < 200 else error.message[:200] + "..."))
    return found


def parse_claim_line(item: str | dict[str, Any]) -> ClaimLine:
    if isinstance(item, str):
        return ClaimLine(code=item)
    return ClaimLine(
        code=item["code"],
        units=int(item.get("units", 1)),
        modifiers=tuple(item.get("modifiers", ())),
    )


_CODE_OPTION = re.compile(r"^([0-9A-Z]{5})(?:X([1-9][0-9]*))?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_codes_option(text: str | None) -> tuple[ClaimLine, ...]:
    """``77002,20610`` or ``76942x2`` (units) from the command line; ValueError names a bad part."""
    if not text:
        return ()
    lines = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = _CODE_OPTION.match(part.upper())
        if not match:
            raise ValueError(f"{part!r} is not a code (5 characters) with optional units (76942x2)")
        lines.append(ClaimLine(code=match.group(1), units=int(match.group(2) or 1)))
    return tuple(lines)


def parse_date(text: str) -> date:
    """YYYY-MM-DD only (Python 3.11's fromisoformat also takes 20240312 and week dates)."""
    if not _DATE.match(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD): {error}") from error


def record_from_dict(data: Any, source: str) -> Record | RecordError:
    """Validate one decoded JSON value against the record schema and build the Record."""
    record_id = data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None
    errors = schema_errors(data)
    if errors:
        path, message = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        return RecordError(source=source, id=record_id, field=path, message=message + more)
    dos = None
    if "date_of_service" in data:
        try:
            dos = parse_date(data["date_of_service"])
        except ValueError as error:
            return RecordError(source=source, id=record_id, field="date_of_service", message=str(error))
    spans = gold_spans(data)
    if isinstance(spans, RecordError):
        return replace(spans, source=source, id=record_id)
    provider = data.get("provider") or {}
    return Record(
        id=data["id"],
        documents=tuple(
            Document(text=d["text"], kind=d.get("kind", "other"), id=d.get("id"), title=d.get("title"))
            for d in data["documents"]
        ),
        codes=tuple(parse_claim_line(c) for c in data.get("codes") or ()),
        credential=provider.get("credential"),
        specialty=provider.get("specialty"),
        place_of_service=data.get("place_of_service"),
        date_of_service=dos,
        payer=data.get("payer"),
        expected=data.get("expected"),
        expected_evidence=spans,
        source=source,
    )


def gold_spans(data: dict[str, Any]) -> tuple[GoldSpan, ...] | RecordError | None:
    """The record schema leaves ``expected_evidence`` to the annotation guide, so it is checked
    here: offsets inside their document, and ``text``, when given, the very slice they name."""
    if "expected_evidence" not in data:
        return None
    items = data["expected_evidence"]
    if not isinstance(items, list):
        return RecordError(source="", field="expected_evidence", message="must be an array of spans")
    spans = []
    for index, item in enumerate(items):
        field = f"expected_evidence.{index}"
        try:
            span = GoldSpan(document=item["document"], start=item["start"], end=item["end"], label=item["label"])
        except (KeyError, TypeError):
            return RecordError(source="", field=field, message="a span needs document, start, end and label")
        if not all(isinstance(v, int) for v in (span.document, span.start, span.end)) or not isinstance(span.label, str):
            return RecordError(source="", field=field, message="document, start and end must be integers, label a string")
        if not 0 <= span.document < len(data["documents"]):
            return RecordError(source="", field=field, message=f"no document {span.document}")
        text = data["documents"][span.document]["text"]
        if not 0 <= span.start < span.end <= len(text):
            return RecordError(source="", field=field, message=f"offsets {span.start}-{span.end} outside the text ({len(text)} characters)")
        if "text" in item and text[span.start:span.end] != item["text"]:
            return RecordError(source="", field=field, message=f"text does not match offsets {span.start}-{span.end}")
        spans.append(span)
    return tuple(spans)


def _records_from_json_text(text: str, name: str, one_per_line: bool) -> Iterator[Record | RecordError]:
    if not one_per_line:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            yield RecordError(source=f"{name}:{error.lineno}", message=f"invalid JSON: {error.msg}")
            return
        items = data if isinstance(data, list) else [data]
        if not items:
            yield RecordError(source=name, message="the JSON array holds no records")
        for index, item in enumerate(items):
            where = f"{name}[{index}]" if isinstance(data, list) else name
            yield record_from_dict(item, where)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield RecordError(source=where, message=f"invalid JSON: {error.msg} (column {error.colno})")
            continue
        yield record_from_dict(item, where)


def _read_text(path: Path) -> str | RecordError:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        return RecordError(source=str(path), message=f"not UTF-8 text (byte {error.start})")
    except OSError as error:
        return RecordError(source=str(path), message=f"cannot read: {error.strerror}")


def note_record(text: str, record_id: str, source: str, defaults: NoteDefaults) -> Record | RecordError:
    if not text.strip():
        return RecordError(source=source, id=record_id, field="documents.0.text", message="the note is empty")
    return replace(defaults.fields, id=record_id, documents=(Document(text=text, kind=defaults.kind),), source=source)


def _read_file(path: Path, defaults: NoteDefaults) -> Iterator[Record | RecordError]:
    text = _read_text(path)
    if isinstance(text, RecordError):
        yield text
        return
    if path.suffix == ".txt":
        yield note_record(text, path.stem, str(path), defaults)
    elif path.suffix == ".jsonl":
        yield from _records_from_json_text(text, str(path), one_per_line=True)
    elif path.suffix == ".json":
        yield from _records_from_json_text(text, str(path), one_per_line=False)
    else:
        yield RecordError(source=str(path), message=f"unknown file type {path.suffix!r}; use .jsonl, .json or .txt")


def _read_stdin() -> Iterator[Record | RecordError]:
    """A JSON array or a pretty-printed record is one JSON value; anything else is JSON Lines
    (so a record on one line keeps its line number)."""
    text = sys.stdin.read()
    try:
        whole = json.loads(text)
        one_value = isinstance(whole, list) or len([line for line in text.splitlines() if line.strip()]) > 1
    except json.JSONDecodeError:
        one_value = False
    yield from _records_from_json_text(text, "<stdin>", one_per_line=not one_value)


def read_records(paths: Iterable[str], defaults: NoteDefaults | None = None) -> Iterator[Record | RecordError]:
    """Every record under ``paths`` in a stable order; duplicate ids after the first are errors."""
    defaults = defaults or NoteDefaults()
    seen: dict[str, str] = {}
    for item in _read_all(paths, defaults):
        if isinstance(item, Record):
            if item.id in seen:
                yield RecordError(source=item.source, id=item.id, field="id",
                                  message=f"duplicate id; first seen at {seen[item.id]}")
                continue
            seen[item.id] = item.source
        yield item


def _read_all(paths: Iterable[str], defaults: NoteDefaults) -> Iterator[Record | RecordError]:
    for name in paths:
        if name == "-":
            yield from _read_stdin()
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RECORD_SUFFIXES)
            if not files:
                yield RecordError(source=name, message="directory holds no .jsonl, .json or .txt files")
            for file in files:
                yield from _read_file(file, defaults)
        elif path.is_file():
            yield from _read_file(path, defaults)
        else:
            yield RecordError(source=name, message="no such file or directory")
