"""Loading the extraction knowledge (nlp/knowledge.py): the macros of target-rule patterns,
credential classes, and the vocabulary files."""

import json
import re

import pytest

from nlp import PIPELINES_DIR
from nlp.knowledge import KnowledgeError, expand_macros, load_knowledge


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge()


def compiled(pattern, knowledge):
    return re.compile(expand_macros(pattern, knowledge.vocabularies, "test"), re.IGNORECASE)


def test_knowledge_loads(knowledge):
    assert knowledge.directory == PIPELINES_DIR.resolve()
    assert knowledge.target_rules and knowledge.context_rules and knowledge.section_rules
    assert {"US_GUIDANCE", "FLUORO_GUIDANCE", "PERMANENT_IMAGES"} <= set(knowledge.labels)
    assert {"joints", "credentials_npp", "credentials_physician"} <= set(knowledge.vocabularies)


def test_knowledge_macros_expanded_in_loaded_rules(knowledge):
    patterns = [r.pattern for r in knowledge.target_rules if isinstance(r.pattern, str)]
    assert patterns and not [p for p in patterns if re.search(r"\{(?:vocab|gap):", p)]


def test_knowledge_vocab_macro_is_an_alternation(knowledge):
    pattern = compiled(r"\b{vocab:joints}\b", knowledge)
    assert pattern.fullmatch("glenohumeral") and pattern.fullmatch("Glenohumeral")
    assert pattern.search("Injection of the right glenohumeral joint under fluoroscopy.")
    assert not pattern.search("Injection of the right humerus.")


def test_knowledge_vocab_terms_allow_spaces_or_hyphens(knowledge):
    pattern = compiled(r"{vocab:knee_terms}", knowledge)
    assert pattern.fullmatch("pes anserine") and pattern.fullmatch("pes-anserine") and pattern.fullmatch("pes  anserine")


def test_knowledge_gap_macro_spans_a_clause(knowledge):
    pattern = compiled(r"\bimages{gap:20}saved\b", knowledge)
    assert pattern.search("Representative images were saved to PACS.")


@pytest.mark.parametrize("text", [
    "Images were not saved to PACS.",
    "images never saved",
    "Images were sent without being saved.",
])
def test_knowledge_gap_macro_lets_no_negation_through(knowledge, text):
    assert not compiled(r"\bimages{gap:20}saved\b", knowledge).search(text)


@pytest.mark.parametrize("text", [
    "The needle wasn't visualized during the injection.",
    "The needle tip couldn't be visualized in the cyst.",
    "The needle cannot be visualized at this depth.",
])
def test_knowledge_gap_macro_lets_no_contracted_negation_through(knowledge, text):
    assert not compiled(r"\bneedle{gap:50}visualized\b", knowledge).search(text)


def test_knowledge_gap_macro_stays_in_one_sentence(knowledge):
    pattern = compiled(r"\bimages{gap:40}saved\b", knowledge)
    assert not pattern.search("Images reviewed. Report saved.")
    assert pattern.search("Images at 1.5 cm depth saved.")


def test_knowledge_gap_macro_respects_its_length(knowledge):
    pattern = compiled(r"\bimages{gap:10}saved\b", knowledge)
    assert pattern.search("images were saved")
    assert not pattern.search("images of the right shoulder were saved")


def test_knowledge_capitalised_term_is_case_sensitive(knowledge):
    pattern = compiled(r"{vocab:credentials_npp}", knowledge)
    assert pattern.fullmatch("PA-C")
    assert not pattern.fullmatch("pa-c") and not pattern.fullmatch("Pa-C")


def test_knowledge_lowercase_term_ignores_case(knowledge):
    pattern = compiled(r"{vocab:credentials_npp}", knowledge)
    assert pattern.fullmatch("Nurse Practitioner") and pattern.fullmatch("nurse practitioner")


def test_knowledge_unknown_vocabulary(knowledge):
    with pytest.raises(KnowledgeError, match=r"^modality\.json: rule 'x': unknown vocabulary 'jionts'"):
        expand_macros(r"\b{vocab:jionts}\b", knowledge.vocabularies, "modality.json: rule 'x'")


@pytest.mark.parametrize("credential,expected", [
    ("MD", "physician"),
    ("D.O.", "physician"),
    ("DPM", "physician"),
    ("MD, PhD", "physician"),
    ("PA-C", "npp"),
    ("nurse practitioner", "npp"),
    ("Nurse Practitioner", "npp"),
    ("FNP-BC", "npp"),
    (None, "unknown"),
    ("  ", "unknown"),
    ("RN", "other"),
    ("PT, DPT", "other"),
])
def test_knowledge_credential_class(knowledge, credential, expected):
    assert knowledge.credential_class(credential) == expected


@pytest.mark.parametrize("path", sorted((PIPELINES_DIR / "vocabularies").glob("*.json")), ids=lambda p: p.stem)
def test_knowledge_vocabulary_file_has_terms_and_source(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data.get("terms"), list) and data["terms"]
    assert all(isinstance(t, str) and t.strip() == t and t for t in data["terms"])
    assert isinstance(data.get("source"), str) and data["source"].strip()
    assert data.get("name", path.stem) == path.stem


def test_knowledge_vocabulary_files_found():
    assert len(list((PIPELINES_DIR / "vocabularies").glob("*.json"))) >= 8


def pipelines_with(tmp_path, file, edit):
    """A copy of pipelines/ whose ``file`` ``edit`` (a function of its JSON data) has changed."""
    import shutil
    copy = tmp_path / "pipelines"
    shutil.copytree(PIPELINES_DIR, copy)
    path = copy / file
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")
    return copy


def pipelines_with_labels(tmp_path, edit):
    """A copy of pipelines/ whose labels.json ``edit`` (a function of its labels) has changed."""
    return pipelines_with(tmp_path, "labels.json", lambda data: edit(data["labels"]))


def test_knowledge_site_agreement_names_known_rules(tmp_path):
    """labels.json 'site_agreement' must name existing field rules and compilable site patterns."""
    def misspell(labels):
        labels["NEEDLE_LOCATION"]["site_agreement"]["field_rules"] = ["needle-position-feild"]
    with pytest.raises(KnowledgeError, match=r"NEEDLE_LOCATION: site_agreement names unknown rules"):
        load_knowledge(pipelines_with_labels(tmp_path, misspell))



@pytest.mark.parametrize("label,key,value,message", [
    ("LOCALIZATION", "yields_to_doubt", ["plane-aproach"], r"LOCALIZATION: yields_to_doubt names unknown rules"),
    ("KNEE_PROCEDURE", "denied_by", ["knee-not-enterd"], r"KNEE_PROCEDURE: denied_by names unknown rules"),
    ("PALPATION_NOT_POSSIBLE", "same_fact_as", ["IMAGING_REASON"], r"same_fact_as names a label that has its own"),
])
def test_knowledge_label_relations_are_checked(tmp_path, label, key, value, message):
    """A misspelt rule, or a same_fact_as chain (which would recurse), is an error at load."""
    def relate(labels):
        labels[label][key] = value
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(pipelines_with_labels(tmp_path, relate))


@pytest.mark.parametrize("file,edit,message", [
    ("sentences.json", lambda data: data["shorthand"].append(["(?<=\\bno|\\bnot)palp", "palpable"]),
     r"sentences.json: shorthand\[\d+\]: bad regular expression"),
    ("context.json", lambda data: data["context_rules"].append(
        {"literal": "bad", "category": "HISTORICAL", "direction": "FORWARD", "pattern": "(?<=\\bMRI|\\bCT)\\d"}),
     r"context.json: 'bad': bad regular expression"),
    ("sections.json", lambda data: data["section_rules"].append(
        {"literal": "bad", "category": "copied_end", "pattern": "end|(?m)^copied"}),
     r"sections.json: 'bad': bad regular expression"),
    ("labels.json", lambda data: data["template_marks"].update(ticked="(?<=\\[|\\[ )x"),
     r"labels.json: template_marks: ticked: bad regular expression"),
    ("labels.json", lambda data: data["body_sites"]["sites"].update(knee="(?<=a|bc)knee"),
     r"labels.json: body_sites: sites: knee: bad regular expression"),
])
def test_knowledge_bad_pattern_in_data_is_an_error_at_load(tmp_path, file, edit, message):
    """A pattern the regex engine refuses (here a variable-width look-behind) names its file and
    entry when the pipelines are loaded, not when a note first reaches it."""
    with pytest.raises(KnowledgeError, match=message):
        load_knowledge(pipelines_with(tmp_path, file, edit))
