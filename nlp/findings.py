"""From medspaCy ``Doc`` to findings: the last stage that touches spaCy.

A finding is plain frozen data (label, document index, character offsets into the original
text, sentence, section, context flags, the rule that made it), so everything after this
stage can be tested, stored and replayed without spaCy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from spacy.tokens import Doc, Span

from .components import SPAN_GROUP, sentence_of_token
from .knowledge import Knowledge
from .model import RULE_NAME as MODEL_RULE  # (importing it registers the Doc extension the model writes)
from .records import Document

ASSERTED, UNCERTAIN, DISCOUNTED = "asserted", "uncertain", "discounted"
LOW_CONFIDENCE = "low_confidence"  # model evidence scored between the 'uncertain' and 'accept' bands
CORRECTION = "correction"  # evidence a correction states (section_context.json text_blocks)
_RANK = {ASSERTED: 0, UNCERTAIN: 1, DISCOUNTED: 2}


@dataclass(frozen=True)
class Finding:
    label: str
    document: int
    start: int
    end: int
    text: str
    sentence: str
    section: str | None
    context: tuple[str, ...]
    rule: str
    status: str
    score: float | None = None  # the model's probability, for model evidence

    @property
    def rank(self) -> int:
        return _RANK[self.status]


def assertion_status(label: str, flags: tuple[str, ...], knowledge: Knowledge) -> str:
    """Discounting flags (negated, historical, someone else) win over uncertain ones."""
    effects = {knowledge.flag_effect(label, flag) for flag in flags}
    if "discount" in effects:
        return DISCOUNTED
    if "uncertain" in effects:
        return UNCERTAIN
    return ASSERTED


def block_contexts(doc: Doc, knowledge: Knowledge) -> list[tuple[int, int, str]]:
    """(start token, end token, ConText category) of each block, such as copied-forward text:
    a block runs from its opening section over any headings inside it to its closing section.
    A bracket quoting an earlier note ('Interval: knee OA. [Copied from 09/15 visit: "knee
    tense, landmarks obscured"]') is a block too: it may open mid-line, where no section can
    start, and ConText's scope would end at its first comma. A statement quoted and declared
    wrong is withdrawn wherever the document says it."""
    blocks, open_block = [], None
    for section in doc._.sections:
        if open_block is not None and section.category == open_block[1]["until"]:
            blocks.append((open_block[0], section.title_start, open_block[1]["context"]))
            open_block = None
        elif open_block is None and section.category in knowledge.section_blocks:
            open_block = (section.title_start, knowledge.section_blocks[section.category])
    if open_block is not None:
        blocks.append((open_block[0], len(doc), open_block[1]["context"]))
    for pattern, category in knowledge.text_blocks:
        for match in pattern.finditer(doc.text):
            for start, end in _block_reach(doc.text, match):
                span = doc.char_span(start, end, alignment_mode="expand")
                if span is not None:
                    blocks.append((span.start, span.end, category))
    return blocks


def _block_reach(text: str, match: re.Match[str]) -> list[tuple[int, int]]:
    """Where a text block lends its context: the match, or, for a pattern with a ``quote``
    group (a statement quoted and declared wrong: 'The statement "Images stored to PACS" above
    is therefore incorrect'), every place the document says the quoted words."""
    if "quote" not in match.re.groupindex or not match.group("quote"):
        return [(match.start(), match.end())]
    said = re.compile(re.escape(match.group("quote").strip()), re.IGNORECASE)
    return [(m.start(), m.end()) for m in said.finditer(text)]


def section_contexts(doc: Doc, knowledge: Knowledge) -> list[tuple[int, int, str]]:
    """(start token, end token, ConText category) each section lends to the evidence in it. A
    heading with text after it on its own line ("Consent: obtained. Time-out done.") is a
    field: it lends its context to that line only, because notes go on to the procedure
    without another heading, and the whole procedure is not hypothetical for following a
    consent field. A heading on a line of its own lends to its whole section."""
    reaches = []
    for section in doc._.sections:
        category = knowledge.section_context.get(section.category)
        if category is None:
            continue
        end = section.body_end
        if knowledge.section_field_reach == "line" and section.title_end < end:
            line_end = doc.text.find("\n", doc[section.title_end].idx)
            if line_end < 0:
                line_end = len(doc.text)
            if doc.text[doc[section.title_end].idx:line_end].strip():
                end = next((t.i for t in doc[section.title_end:end] if t.idx >= line_end), end)
        reaches.append((section.title_start, end, category))
    return reaches


def _flags(span: Span, knowledge: Knowledge, contexts: list[tuple[int, int, str]], confident: bool,
           conditional: bool) -> tuple[str, ...]:
    """Context flags from ConText modifiers, the sections and blocks around the span
    (``contexts``), and the model's confidence. A modifier inside the target itself
    ("ultrasound was not suitable") is part of what the target means, not a negation of it.
    A model's span is a whole sentence: a token-level trigger inside it ("would", "can be")
    has no scope worth the name there (assertion.json 'inside_model_sentence'), so whether
    the sentence states a condition or a plan is read from the sentence (``conditional``)."""
    flags = {LOW_CONFIDENCE} if not confident else set()
    if conditional:
        flags.add(knowledge.assertion["HYPOTHETICAL"]["flag"])
    for modifier in span._.modifiers:
        category = knowledge.assertion.get(modifier.category)
        if category is None:
            continue
        inside = span.start <= modifier.modifier_span[0] and modifier.modifier_span[1] <= span.end
        meaning = category.get("inside_model_sentence" if span.kb_id_ == MODEL_RULE else "inside_target",
                               category.get("inside_target"))
        if not (inside and meaning == "part_of_meaning"):
            flags.add(category["flag"])
    flags.update(knowledge.assertion[category]["flag"] for start, end, category in contexts if start <= span.start < end)
    return tuple(sorted(flags))


def findings_from_doc(doc: Doc, document_index: int, knowledge: Knowledge,
                      document_context: str | None = None) -> list[Finding]:
    """``document_context``: a ConText category the whole document lends its evidence (an
    earlier consult's note in a review packet is historical, :func:`earlier_document_context`)."""
    found = []
    contexts = block_contexts(doc, knowledge) + section_contexts(doc, knowledge)
    if document_context:
        contexts.append((0, len(doc), document_context))
    scores = doc._.evidence_scores or {}
    sentences = sentence_of_token(doc) if doc.spans.get(SPAN_GROUP) else []
    hedge = knowledge.hedge_flag
    graph = doc._.context_graph if Doc.has_extension("context_graph") else None
    hedged_tokens = {m.modifier_span[0] for m in (graph.modifiers if graph is not None else ())
                     if knowledge.assertion.get(m.category, {}).get("flag") == hedge}
    for span in doc.spans.get(SPAN_GROUP, []):
        key = (span.start_char, span.end_char, span.label_)
        score, confident, conditional = scores[key] if span.kb_id_ == MODEL_RULE and key in scores else (None, True, False)
        flags = _flags(span, knowledge, contexts, confident, conditional)
        if (span.kb_id_ in knowledge.frame_rules and knowledge.labels[span.label_].same_fact_as
                and hedge not in flags and _hedged(sentences[span.start], hedged_tokens)):
            # A reason's frame says its sentence is the reason (labels.json same_fact_as): "..., so
            # I brought the portable ultrasound" after "the effusion may be hard to localise" gives
            # a hedged reason, wherever the hedge stands. (An indication's question is no hedge.)
            flags = tuple(sorted((*flags, hedge)))
        found.append(Finding(
            label=span.label_,
            document=document_index,
            start=span.start_char,
            end=span.end_char,
            text=span.text,
            sentence=sentences[span.start].text.strip(),
            section=span[0]._.section_category,
            context=flags,
            rule=span.kb_id_,
            status=assertion_status(span.label_, flags, knowledge),
            score=score,
        ))
    return found


def _hedged(sentence: Span, hedged_tokens: set[int]) -> bool:
    return any(sentence.start <= token < sentence.end for token in hedged_tokens)


_WRITTEN_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b")


def written_dates(text: str) -> frozenset[date]:
    """The days the first date written in ``text`` can mean: 2021-05-24 one; 05/03/2022 two, as
    the writer may put the month or the day first (an Irish report's 08/03/2022 is 8 March), one
    when the first number cannot be a month; none when there is no date or no real day."""
    match = _WRITTEN_DATE.search(text)
    if match is None:
        return frozenset()
    if match.group(1):
        readings = [(int(match.group(1)), int(match.group(2)), int(match.group(3)))]
    else:
        first, second, year = int(match.group(4)), int(match.group(5)), int(match.group(6))
        year += 2000 if year < 100 else 0
        readings = [(year, first, second), (year, second, first)]
    days = set()
    for year, month, day in readings:
        try:
            days.add(date(year, month, day))
        except ValueError:
            continue
    return frozenset(days)


def earlier_document_context(document: Document, date_of_service: date | None, knowledge: Knowledge) -> str | None:
    """The context of a document its heading dates before the date of service ("CONSULT
    04/18/2017" in a packet about 05/09/2017): it tells of that earlier encounter. A birth date
    is no document date; a day-first or month-first reading on or after the date of service
    leaves the document alone, as does one dated later (an addendum, an appeal letter)."""
    earlier = knowledge.earlier_document
    if not earlier or date_of_service is None:
        return None
    lines = [line for line in document.text.splitlines() if line.strip()][:earlier["heading_lines"]]
    for line in lines:
        if len(line.strip()) > earlier["heading_length"] or re.search(earlier["not_a_document_date"], line, re.IGNORECASE):
            continue
        days = written_dates(line)
        if days:
            return earlier["context"] if all(day < date_of_service for day in days) else None
    return None


def _document_status(document: Document, item: dict, date_of_service: date | None,
                     knowledge: Knowledge) -> tuple[str, tuple[str, ...]]:
    """A document gives its evidence unless it says otherwise: a report that declares itself
    pending ('REPORT STATUS: PENDING', 'final report to follow') is a promise, and one dated
    another day ('Exam date: 05/24/2021' on a 06/15/2021 encounter) belongs to that day."""
    if item.get("pending") and re.search(item["pending"], document.text, re.IGNORECASE):
        return UNCERTAIN, (knowledge.assertion["HYPOTHETICAL"]["flag"],)
    dated = re.search(item["exam_date"], document.text, re.IGNORECASE | re.MULTILINE) if item.get("exam_date") else None
    written = written_dates(dated.group(0)) if dated else frozenset()
    if date_of_service and written and date_of_service not in written:
        return DISCOUNTED, (knowledge.assertion["HISTORICAL"]["flag"],)
    return ASSERTED, ()


def findings_from_document_kind(document: Document, document_index: int, knowledge: Knowledge,
                                date_of_service: date | None = None) -> list[Finding]:
    """Evidence a document gives by what it is: a radiology report is a separate imaging report."""
    first_line = document.text.strip().splitlines()[0] if document.text.strip() else ""
    start = document.text.find(first_line) if first_line else 0
    found = []
    for item in knowledge.document_kinds.get(document.kind, ()):
        status, context = _document_status(document, item, date_of_service, knowledge)
        found.append(Finding(
            label=item["label"], document=document_index, start=start, end=start + len(first_line),
            text=first_line, sentence=first_line, section=None, context=context,
            rule=item["rule"], status=status,
        ))
    return found
