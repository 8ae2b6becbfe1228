"""Loading the extraction knowledge under ``pipelines/``: target, context and section rules in
medspaCy's JSON format, the vocabularies the target rules draw on, and the meaning of each
ConText category and evidence label.

Target-rule patterns may use two macros so that rules stay readable and vocabularies are
written once:

- ``{vocab:NAME}`` expands to an alternation of the terms in ``vocabularies/NAME.json``
  (longest first; terms written in capitals, like ``MD`` or ``PA-C``, match case-sensitively);
- ``{gap:N}`` expands to at most N characters inside one clause that contain no negation
  word, so that "images were not saved" can never match as "images ... saved" with the
  negation swallowed inside the target, out of ConText's reach. The clause ends at a period,
  except a decimal point and the period of an initial or a title ("by J. Whitman, M.D.",
  "by Dr. Lane, MD"), which do not end a sentence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from medspacy.context import ConTextRule
from medspacy.section_detection import SectionRule
from medspacy.target_matcher import TargetRule

from . import PIPELINES_DIR

_ABBREVIATION_PERIOD = r"\.(?=\d)|(?<=\b(?-i:[A-Z]))\.(?=[ \t]*(?-i:[A-Z]))|(?<=\b(?-i:Dr|Mr|Ms|St))\.|(?<=\b(?-i:Mrs))\."
GAP_TEMPLATE = (r"(?:(?!\b(?:not|no|never|without|nor|neither|denies|denied|negative|cannot)\b|\w*n't\b)(?:[^.;\n]|"
                + _ABBREVIATION_PERIOD.replace("{", "{{").replace("}", "}}") + r")){{0,{n}}}?")
_MACRO = re.compile(r"\{(vocab|gap):([A-Za-z0-9_]+)\}")


MODEL_RULE = "model"  # the rule name the evidence model's findings carry


class KnowledgeError(ValueError):
    """A rule or data file under pipelines/ is malformed; the message names the file."""


@dataclass(frozen=True)
class LabelInfo:
    name: str
    looked_for: str
    flag_effects: tuple[tuple[str, str], ...] = ()
    contradicted_by: tuple[str, ...] = ()
    same_fact_as: tuple[str, ...] = ()  # labels whose doubt a shared sentence passes on to this one
    yields_to_doubt: tuple[str, ...] = ()  # rules whose assertion a hedge by the label's other rules outweighs
    denied_by: tuple[str, ...] = ()  # rules whose plain negation contradicts the label's asserted evidence
    self_contradiction: bool = False
    site_agreement: dict[str, Any] | None = None  # {"field_rules": [...], "sites": {name: regex}}
    checkbox_agreement: tuple[str, ...] = ()  # narrative labels a ticked box must agree with
    opposed_at_same_site: bool = False  # contradicted_by counts only where both speak of one body site


@dataclass(frozen=True)
class Knowledge:
    directory: Path
    target_rules: tuple[TargetRule, ...]
    context_rules: tuple[ConTextRule, ...]
    section_rules: tuple[SectionRule, ...]
    sentence_config: dict[str, Any]
    rewrites: tuple[tuple[re.Pattern[str], str], ...]  # (pattern, meaning): the text the target rules read
    assertion: dict[str, dict[str, str]]
    section_context: dict[str, str]
    section_blocks: dict[str, dict[str, str]]
    section_field_reach: str
    text_blocks: tuple[tuple[re.Pattern[str], str], ...]  # (block pattern, ConText category)
    labels: dict[str, LabelInfo]
    document_kinds: dict[str, tuple[dict[str, str], ...]]
    earlier_document: dict[str, Any]  # {"heading_lines", "heading_length", "not_a_document_date", "context"}
    template_marks: dict[str, Any]  # {"ticked", "box", "smart_list", "tick_reach"}: labels.json template_marks
    body_sites: dict[str, dict[str, str]]  # {"sites": {name: regex}, "sides": {name: regex}}: labels.json body_sites
    vocabularies: dict[str, tuple[str, ...]]

    @property
    def hedge_flag(self) -> str:
        """The context flag of a hedge ("probably", "may"): ConText's POSSIBLE_EXISTENCE."""
        return self.assertion["POSSIBLE_EXISTENCE"]["flag"]

    @cached_property
    def frame_rules(self) -> frozenset[str]:
        """Rules that frame their sentence ("Reason for US: ...", "..., so ultrasound was used"):
        they say the sentence is the reason, so what the sentence says decides what they do."""
        return frozenset(rule.literal for rule in self.target_rules if (rule.metadata or {}).get("frames_sentence"))

    def credential_class(self, credential: str | None) -> str:
        """'physician', 'npp', 'unknown' (none given) or 'other', from the credential
        vocabularies; "MD, PhD", "PA-C" and "Nurse Practitioner" are all recognised."""
        if not credential or not credential.strip():
            return "unknown"
        parts = {_normal(part) for part in re.split(r"[,/;]", credential)} | {_normal(credential)}
        for cls, vocabulary in (("npp", "credentials_npp"), ("physician", "credentials_physician")):
            if parts & {_normal(term) for term in self.vocabularies.get(vocabulary, ())}:
                return cls
        return "other"

    def flag_effect(self, label: str, flag: str) -> str:
        """'discount', 'uncertain' or 'none': what a context flag does to a mention of this label."""
        for name, effect in self.labels[label].flag_effects:
            if name == flag:
                return effect
        for category in self.assertion.values():
            if category["flag"] == flag:
                return category["effect"]
        return "none"


def _normal(text: str) -> str:
    return re.sub(r"[.\s]", "", text.lower())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise KnowledgeError(f"{path}: {error}") from error


def load_vocabularies(directory: Path) -> dict[str, tuple[str, ...]]:
    vocabularies = {}
    for path in sorted((directory / "vocabularies").glob("*.json")):
        data = read_json(path)
        terms = data.get("terms")
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            raise KnowledgeError(f"{path}: 'terms' must be a list of non-empty strings")
        vocabularies[data.get("name", path.stem)] = tuple(terms)
    return vocabularies


def term_pattern(term: str) -> str:
    body = r"[\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", term))
    return f"(?-i:{body})" if term.upper() == term and any(c.isalpha() for c in term) else body


def expand_macros(pattern: str, vocabularies: dict[str, tuple[str, ...]], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, argument = match.groups()
        if kind == "gap":
            return GAP_TEMPLATE.format(n=int(argument))
        if argument not in vocabularies:
            raise KnowledgeError(f"{where}: unknown vocabulary {argument!r}; known: {sorted(vocabularies)}")
        terms = sorted(vocabularies[argument], key=len, reverse=True)
        return "(?:" + "|".join(term_pattern(t) for t in terms) + ")"

    return _MACRO.sub(replace, pattern)


def load_target_rules(directory: Path, vocabularies: dict[str, tuple[str, ...]]) -> tuple[TargetRule, ...]:
    rules = []
    seen: set[str] = set()
    for path in sorted((directory / "targets").glob("*.json")):
        for item in read_json(path).get("target_rules", []):
            where = f"{path.name}: rule {item.get('literal')!r}"
            if item.get("literal") in seen:
                raise KnowledgeError(f"{where}: duplicate rule name")
            seen.add(item["literal"])
            item = dict(item)
            if isinstance(item.get("pattern"), str):
                item["pattern"] = expand_macros(item["pattern"], vocabularies, where)
                _compile(item["pattern"], where)
            metadata = dict(item.get("metadata") or {})
            for key in ("sentence_requires", "sentence_excludes", "document_requires"):
                if key in metadata:
                    metadata[key] = expand_macros(metadata[key], vocabularies, where)
                    _compile(metadata[key], where)
            metadata["source"] = path.name
            item["metadata"] = metadata
            try:
                rules.append(TargetRule.from_dict(item))
            except (ValueError, TypeError) as error:
                raise KnowledgeError(f"{where}: {error}") from error
    return tuple(rules)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as error:
        raise KnowledgeError(f"{where}: bad regular expression: {error}") from error


def _context_rules(data: dict) -> tuple[ConTextRule, ...]:
    """ConText rules, each ended by the clause breaks (``clause_breaks``: a comma, a dictated
    "scratch that") unless its metadata says it crosses them. A TERMINATE rule ends every scope,
    but "Last month she had a massive, tense effusion" is about last month past its comma."""
    breaks = {category.upper() for category in data.get("clause_breaks", ())}
    rules = []
    for entry in data["context_rules"]:
        if isinstance(entry.get("pattern"), str):
            _compile(entry["pattern"], f"context.json: {entry.get('literal')!r}")
        rule = ConTextRule.from_dict(entry)
        if not (entry.get("metadata") or {}).get("crosses_clause_breaks"):
            rule.terminated_by.update(breaks)
        rules.append(rule)
    return tuple(rules)


def _section_rules(data: dict) -> tuple[SectionRule, ...]:
    for entry in data["section_rules"]:
        if isinstance(entry.get("pattern"), str):
            _compile(entry["pattern"], f"sections.json: {entry.get('literal')!r}")
    return tuple(SectionRule.from_dict(entry) for entry in data["section_rules"])


def load_knowledge(directory: Path | str = PIPELINES_DIR) -> Knowledge:
    return _load_knowledge(Path(directory).resolve())


@lru_cache(maxsize=4)
def _load_knowledge(directory: Path) -> Knowledge:
    if not directory.is_dir():
        raise KnowledgeError(f"{directory}: no pipelines directory")
    vocabularies = load_vocabularies(directory)
    try:
        context_rules = _context_rules(read_json(directory / "context.json"))
        section_rules = _section_rules(read_json(directory / "sections.json"))
    except (ValueError, TypeError, KeyError) as error:
        raise KnowledgeError(f"{directory}: context or section rules: {error}") from error
    label_data = read_json(directory / "labels.json")
    template_marks = label_data.get("template_marks") or {}
    for key in ("ticked", "box"):
        _compile(template_marks.get(key, ""), f"labels.json: template_marks: {key}")
    body_sites = {key: dict((label_data.get("body_sites") or {}).get(key) or {}) for key in ("sites", "sides")}
    for key, patterns in body_sites.items():
        for name, pattern in patterns.items():
            _compile(pattern, f"labels.json: body_sites: {key}: {name}")
    labels = {
        name: LabelInfo(name=name, looked_for=info["looked_for"],
                        flag_effects=tuple(sorted((info.get("flag_effects") or {}).items())),
                        contradicted_by=tuple(info.get("contradicted_by", ())),
                        same_fact_as=tuple(info.get("same_fact_as", ())),
                        yields_to_doubt=tuple(info.get("yields_to_doubt", ())),
                        denied_by=tuple(info.get("denied_by", ())),
                        self_contradiction=bool(info.get("self_contradiction", False)),
                        site_agreement=info.get("site_agreement"),
                        checkbox_agreement=tuple(info.get("checkbox_agreement", ())),
                        opposed_at_same_site=bool(info.get("opposed_at_same_site", False)))
        for name, info in label_data["labels"].items()
    }
    section_context = read_json(directory / "section_context.json")
    documents = read_json(directory / "documents.json")
    sentence_config = read_json(directory / "sentences.json")
    knowledge = Knowledge(
        directory=directory,
        target_rules=load_target_rules(directory, vocabularies),
        context_rules=context_rules,
        section_rules=section_rules,
        sentence_config=sentence_config,
        rewrites=_rewrites(sentence_config),
        assertion=read_json(directory / "assertion.json")["categories"],
        section_context=section_context["sections"],
        section_blocks=section_context.get("blocks", {}),
        section_field_reach=section_context.get("field_reach", "section"),
        text_blocks=_text_blocks(section_context.get("text_blocks", ())),
        labels=labels,
        document_kinds={kind: tuple(items) for kind, items in documents["kinds"].items()},
        earlier_document=documents.get("earlier_document") or {},
        template_marks=template_marks,
        body_sites=body_sites,
        vocabularies=vocabularies,
    )
    _check_cross_references(knowledge)
    return knowledge


def _rewrites(config: dict[str, Any]) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The [pattern, meaning] pairs of each list ``rewrites`` names, in that order (spoken
    punctuation, misheard words, shorthand ...), compiled; a bad pattern is an error at load."""
    pairs = []
    for key in config.get("rewrites", ()):
        for index, pair in enumerate(config.get(key, ())):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise KnowledgeError(f"sentences.json: {key}[{index}]: need [pattern, meaning]")
            pairs.append((_compile(pair[0], f"sentences.json: {key}[{index}]"), pair[1]))
    return tuple(pairs)


def _text_blocks(items: list[dict[str, str]]) -> tuple[tuple[re.Pattern[str], str], ...]:
    try:
        return tuple((re.compile(item["pattern"], re.IGNORECASE), item["context"]) for item in items)
    except (re.error, KeyError, TypeError) as error:
        raise KnowledgeError(f"section_context.json: text_blocks: {error}") from error


def _check_cross_references(knowledge: Knowledge) -> None:
    produced = {rule.category for rule in knowledge.target_rules}
    produced |= {item["label"] for items in knowledge.document_kinds.values() for item in items}
    for kind, items in knowledge.document_kinds.items():
        for item in items:
            for key in ("pending", "exam_date"):
                if key in item:
                    _compile(item[key], f"documents.json: {kind}: {key}")
    unknown = produced - set(knowledge.labels)
    unknown |= {l for info in knowledge.labels.values() for l in info.contradicted_by + info.same_fact_as} - set(knowledge.labels)
    unknown |= {l for info in knowledge.labels.values() for l in info.checkbox_agreement} - set(knowledge.labels)
    if unknown:
        raise KnowledgeError(f"labels.json lacks labels the rules produce: {sorted(unknown)}")
    rule_names = {rule.literal for rule in knowledge.target_rules}
    for name, info in knowledge.labels.items():
        if any(knowledge.labels[other].same_fact_as for other in info.same_fact_as):
            raise KnowledgeError(f"labels.json: {name}: same_fact_as names a label that has its own (no chains)")
        for key, named in (("yields_to_doubt", info.yields_to_doubt), ("denied_by", info.denied_by)):
            unknown_rules = set(named) - rule_names - {MODEL_RULE}
            if unknown_rules:
                raise KnowledgeError(f"labels.json: {name}: {key} names unknown rules {sorted(unknown_rules)}")
        if info.opposed_at_same_site and not knowledge.body_sites["sites"]:
            raise KnowledgeError(f"labels.json: {name}: opposed_at_same_site needs body_sites 'sites'")
        agreement = info.site_agreement
        if agreement is None:
            continue
        if set(agreement) != {"field_rules", "sites"} or not agreement["field_rules"] or not agreement["sites"]:
            raise KnowledgeError(f"labels.json: {name}: site_agreement needs 'field_rules' and 'sites'")
        if set(agreement["field_rules"]) - rule_names:
            raise KnowledgeError(f"labels.json: {name}: site_agreement names unknown rules "
                                 f"{sorted(set(agreement['field_rules']) - rule_names)}")
        for site, pattern in agreement["sites"].items():
            try:
                re.compile(pattern)
            except re.error as error:
                raise KnowledgeError(f"labels.json: {name}: site {site!r}: {error}") from error
    categories = {rule.category for rule in knowledge.context_rules if rule.direction not in ("TERMINATE", "PSEUDO")}
    if categories - set(knowledge.assertion):
        raise KnowledgeError(f"assertion.json lacks ConText categories: {sorted(categories - set(knowledge.assertion))}")
    block_contexts = {(name, block["context"]) for name, block in knowledge.section_blocks.items()}
    block_contexts |= {("text_blocks", category) for _, category in knowledge.text_blocks}
    for section, category in list(knowledge.section_context.items()) + sorted(block_contexts):
        if category not in knowledge.assertion:
            raise KnowledgeError(f"section_context.json: section {section!r} names unknown category {category!r}")
    earlier = knowledge.earlier_document
    if earlier and earlier.get("context") not in knowledge.assertion:
        raise KnowledgeError(f"documents.json: earlier_document names unknown category {earlier.get('context')!r}")
