"""guidecheck's own spaCy components, one per concern, registered by name and configured
from ``pipelines/``.

- ``guidecheck_sentences``: sentence boundaries for clinical layout. PyRuSH (medspaCy's
  default) costs about 100 ms per note here and spaCy's rule sentencizer knows nothing of
  headings, lists and checkboxes; this splitter reads both punctuation and line layout in
  one pass (about as fast as the rule sentencizer).
- ``guidecheck_evidence``: the target rules, matched with medspaCy's matcher, kept only when
  their sentence satisfies the rule's ``sentence_requires`` / ``sentence_excludes``, so a rule
  can be anchored on a short phrase that ConText can negate ("saved") yet demand the sentence
  be about the right thing ("images"), and their document the rule's ``document_requires``
  (a purpose told as a story, "What I wanted to know today was whether ...", is the purpose
  of the imaging only in a document that mentions imaging at all).
"""


import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from medspacy.common.medspacy_matcher import MedspacyMatcher
from medspacy.target_matcher import TargetRule

from .knowledge import load_knowledge, read_json

SPAN_GROUP = "medspacy_spans"
TERMINAL = (".", "?", "!")
START, INSIDE = 1, -1  # spaCy's SENT_START values


class ClinicalSentences:
    """Sentence starts from punctuation and from line layout."""

    def __init__(self, config: dict) -> None:
        self.abbreviations = {a.lower().rstrip(".") for a in config["abbreviations"]}
        self.list_marker = re.compile(config["list_marker"])
        self.heading_line = re.compile(config["heading_line"])
        self.inline_heading = re.compile(config["inline_heading"])
        self.wrapped_line = int(config.get("wrapped_line", 0)) or None
        self.wrap_fill = float(config.get("wrap_fill", 0)) or None
        self.continuation_words = frozenset(word.lower() for word in config.get("continuation_words", ()))
        # Speech recognition that types the punctuation it was told ("... joint period new
        # paragraph the needle ..."): a spoken sentence end ends a sentence.
        self.spoken_ends = tuple(re.compile(pattern, re.IGNORECASE)
                                 for pattern, mark in config.get("spoken_punctuation", ()) if mark in TERMINAL)

    def __call__(self, doc: Doc) -> Doc:
        """Writes all boundaries at once: setting ``token.is_sent_start`` one token at a time
        rescans the whole document each time, quadratic on a long note."""
        if not len(doc):
            return doc
        text = doc.text
        spoken_ends = {m.end() for pattern in self.spoken_ends for m in pattern.finditer(text)}
        width = _wrap_width(text)
        previous = doc[0]
        starts = [START]
        for token in doc[1:]:
            if token.is_space:
                starts.append(INSIDE)
                continue
            starts.append(START if self._starts(text, previous, token, spoken_ends, width) else INSIDE)
            previous = token
        doc.from_array([SENT_START], numpy.array(starts, dtype="int64").astype("uint64").reshape(-1, 1))
        return doc

    def _starts(self, text: str, previous: Token, token: Token, spoken_ends: set[int], width: int) -> bool:
        """Whether ``token`` opens a sentence, given the last non-space token before it and the
        offsets where a spoken sentence end stops."""
        newlines = text.count("\n", previous.idx + len(previous.text), token.idx)
        if newlines >= 2:
            return True
        if newlines == 1:
            previous_line = text[text.rfind("\n", 0, previous.idx) + 1:previous.idx + len(previous.text)].strip()
            return (
                previous.text[-1] in TERMINAL + (":", ";")
                or previous.idx + len(previous.text) in spoken_ends
                or bool(self.heading_line.match(previous_line))
                or bool(self.list_marker.match(text, token.idx))
                or not (token.text[0].islower() or self._wrapped_number(previous_line, previous, token))
                or self._short_line(previous_line, token, width)
            )
        if (previous.is_punct and previous.text not in "([{" and token.text.isupper() and len(token.text) > 2
                and self.inline_heading.match(text, token.idx)):
            return True
        if token.text.startswith("[") and self.list_marker.match(text, token.idx):
            return True
        if previous.text[-1] in TERMINAL and (token.text[0].isupper() or token.text[0].isdigit() or token.text[0] in "([\"'"):
            return not self._is_abbreviation(previous)
        return previous.idx + len(previous.text) in spoken_ends

    def _short_line(self, previous_line: str, token: Token, width: int) -> bool:
        """A text of short lines was not wrapped, nor was a line that the next line's first word
        would still have fitted on (within the share ``wrap_fill`` of the width the text was
        wrapped at): such a line ends where it ends, lowercase next line or not, unless the next
        line opens with a word that only continues ("into the joint"). Terse notes write one
        fragment a line ("no XR today" / "mini C-arm, run by me"), and a negation must not run
        on from one into the next."""
        if self.wrap_fill is None or self.wrapped_line is None or token.lower_ in self.continuation_words:
            return False
        return width < self.wrapped_line or len(previous_line) + 1 + len(token.text) < self.wrap_fill * width

    def _wrapped_number(self, previous_line: str, previous: Token, token: Token) -> bool:
        """A hard-wrapped dictation line that stops mid-sentence ("... the junction sat about")
        goes on in the next line even when that line starts with a number ("10 cm deep ...").
        A short line (a template field, "Fluoro time 0.3 min") is not a wrap."""
        following = token.nbor(1) if token.i + 1 < len(token.doc) else None
        return (self.wrapped_line is not None and len(previous_line) >= self.wrapped_line
                and previous.text.isalpha() and previous.text.islower()
                and token.like_num and following is not None and following.text[:1].islower())

    def _is_abbreviation(self, period: Token) -> bool:
        if period.text != ".":
            word = period.text.lower().rstrip(".")
            return word in self.abbreviations or (len(word) == 1 and word.isalpha())
        before = period.nbor(-1) if period.i > 0 else None
        if before is None or before.whitespace_:
            return False
        word = before.text.lower()
        return word in self.abbreviations or (len(word) == 1 and word.isalpha())


@Language.factory("guidecheck_sentences", default_config={"pipelines_dir": ""})
def make_sentences(nlp: Language, name: str, pipelines_dir: str) -> ClinicalSentences:
    return ClinicalSentences(read_json(Path(pipelines_dir) / "sentences.json"))


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _wrap_width(text: str) -> int:
    """The width a hard-wrapped text was wrapped at, estimated as the 90th percentile of its line
    lengths: a heading or a pasted line longer than the wrap does not move it."""
    lengths = sorted(len(line.strip()) for line in text.splitlines() if line.strip())
    return lengths[(9 * (len(lengths) - 1)) // 10] if lengths else 0


def sentence_of_token(doc: Doc) -> list[Span]:
    """Each token's sentence, found in one pass: ``span.sent`` walks the sentence's tokens on
    every call, quadratic when a long unpunctuated dictation is one sentence."""
    sentences: list[Span] = []
    for sentence in doc.sents:
        sentences.extend([sentence] * len(sentence))
    return sentences


@dataclass(frozen=True)
class MeantText:
    """The text as its writer meant it, for the regex rules to read, with where each of its
    characters came from in the original (``origin``, one more entry than the text, for an end
    offset), so that evidence keeps the original text's offsets whatever the rewriting did."""

    text: str
    origin: tuple[int, ...]

    def original(self, offset: int) -> int:
        return self.origin[offset]

    def meant(self, original: int) -> int:
        return bisect_left(self.origin, original)


def read_as_meant(text: str, rewrites: tuple[tuple[re.Pattern[str], str], ...]) -> MeantText:
    """The text with each rewrite applied in turn: punctuation that speech recognition typed as
    words ("joint period", "today colon is"), words it misheard ("the see arm", "flora time")
    and clinical shorthand ("imgs", "not palp", "sep rpt") replaced by what they mean. A
    replacement's characters all come from where its match began."""
    origin = list(range(len(text) + 1))
    for pattern, meaning in rewrites:
        if not pattern.search(text):
            continue
        pieces: list[str] = []
        mapped: list[int] = []
        last = 0
        for match in pattern.finditer(text):
            pieces += [text[last:match.start()], meaning]
            mapped += origin[last:match.start()] + [origin[match.start()]] * len(meaning)
            last = match.end()
        pieces.append(text[last:])
        mapped += origin[last:]
        text, origin = "".join(pieces), mapped
    return MeantText(text, tuple(origin))


def sentence_allows(sentence: str, metadata: dict) -> bool:
    requires = metadata.get("sentence_requires")
    excludes = metadata.get("sentence_excludes")
    if requires and not _regex(requires).search(sentence):
        return False
    return not (excludes and _regex(excludes).search(sentence))


class EvidenceMatcher:
    """Target rules in medspaCy's format, written as evidence spans whose ``kb_id_`` names the
    rule that made them, kept only when their sentence satisfies the rule's
    ``sentence_requires`` / ``sentence_excludes``.

    Why not medspaCy's TargetMatcher: it records the rule in ``span._.target_rule``, but spaCy
    3.7 keys span extensions by offsets alone, so when rules of two labels match the same words
    ("hypoechoic" is both a finding and a sign the region was evaluated) both spans report the
    last rule and its sentence conditions; and its regex matcher rebuilds the document text
    once per pattern, half the pipeline's time here. Regex rules run here on the text once;
    token-pattern and phrase rules still go through medspaCy's matcher.
    """

    def __init__(self, nlp: Language, rules: tuple[TargetRule, ...],
                 rewrites: tuple[tuple[re.Pattern[str], str], ...] = ()) -> None:
        self.vocab = nlp.vocab
        self.rewrites = rewrites
        self.regex_rules = [(re.compile(r.pattern, re.IGNORECASE), r) for r in rules if isinstance(r.pattern, str)]
        self.matcher = MedspacyMatcher(nlp, name="guidecheck_evidence", phrase_matcher_attr="LOWER", prune=False)
        self.matcher.add([r for r in rules if not isinstance(r.pattern, str)])

    def _matches(self, doc: Doc, meant: MeantText) -> list[tuple[TargetRule, Span]]:
        found = []
        for match_id, start, end in self.matcher(doc):
            found.append((self.matcher.rule_map[self.vocab.strings[match_id]], doc[start:end]))
        for pattern, rule in self.regex_rules:
            for match in pattern.finditer(meant.text):
                span = doc.char_span(meant.original(match.start()), meant.original(match.end()), alignment_mode="expand")
                if span is not None and len(span):
                    found.append((rule, span))
        return found

    def __call__(self, doc: Doc) -> Doc:
        kept, seen = [], set()
        sentences = sentence_of_token(doc)
        meant = read_as_meant(doc.text, self.rewrites)
        text = meant.text
        allowed: dict[tuple[int, str], bool] = {}
        in_document: dict[str, bool] = {}
        for rule, span in self._matches(doc, meant):
            key = (rule.category, span.start, span.end)
            if key in seen:
                continue
            required = (rule.metadata or {}).get("document_requires")
            if required and in_document.setdefault(rule.literal, bool(_regex(required).search(text))) is False:
                continue
            evidence = Span(doc, span.start, span.end, label=rule.category, kb_id=rule.literal)
            sentence = sentences[span.start]
            if (sentence.start, rule.literal) not in allowed:
                allowed[sentence.start, rule.literal] = sentence_allows(
                    text[meant.meant(sentence.start_char):meant.meant(sentence.end_char)], rule.metadata or {})
            if allowed[sentence.start, rule.literal]:
                seen.add(key)
                kept.append(evidence)
        doc.spans[SPAN_GROUP] = sorted(kept, key=lambda s: (s.start, s.end, s.label_))
        return doc


@Language.factory("guidecheck_evidence", default_config={"pipelines_dir": ""})
def make_evidence_matcher(nlp: Language, name: str, pipelines_dir: str) -> EvidenceMatcher:
    knowledge = load_knowledge(pipelines_dir)
    return EvidenceMatcher(nlp, knowledge.target_rules, knowledge.rewrites)
