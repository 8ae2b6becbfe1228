"""The rules layer, without spaCy: statuses by kind, the decision, claim facts, contradictions."""

import pytest

import re

from nlp.evaluation import (BodySites, Facts, LabelContradictions, SameFact, SiteAgreement, TemplateMarks, Truth, decide,
                            evaluate_criterion, truth)
from nlp.findings import Finding
from nlp.knowledge import load_knowledge
from nlp.policy import Criterion
from nlp.records import ClaimLine

LOOKED_FOR = {"PERMANENT_IMAGES": "images", "KNEE_PROCEDURE": "knee", "PALPABLE_JOINT": "p", "PALPATION_NOT_POSSIBLE": "q"}


def finding(label="PERMANENT_IMAGES", status="asserted", context=(), rule="r1", start=0):
    return Finding(label, 0, start, start + 5, "saved", "Images saved.", None, context, rule, status)


ONE_FACT = {"PERMANENT_IMAGES": LabelContradictions(self_contradiction=True)}


def facts(*found, claim=(), credential="unknown", contradictions=ONE_FACT):
    return Facts.of(found, tuple(claim), credential, contradictions)


def criterion(kind="required", logic=None, **kw):
    return Criterion("X.y", kind, logic or {"label": "PERMANENT_IMAGES"}, "ASH p.1", "fix it", **kw)


@pytest.mark.parametrize("kind,status,expected", [
    ("required", "asserted", "met"), ("required", "uncertain", "uncertain"), ("required", "discounted", "not_met"),
    ("exclusion", "asserted", "excluded"), ("exclusion", "uncertain", "uncertain"), ("exclusion", "discounted", "met"),
    ("review", "asserted", "met"), ("review", "discounted", "not_met"),
    ("advisory", "asserted", "met"), ("advisory", "uncertain", "not_met"),
])
def test_evaluation_status_by_kind(kind, status, expected):
    result = evaluate_criterion(criterion(kind), facts(finding(status=status)), "76942", LOOKED_FOR)
    assert result.status == expected


def test_evaluation_nothing_found_says_what_was_looked_for():
    result = evaluate_criterion(criterion(), facts(), "76942", LOOKED_FOR)
    assert result.status == "not_met" and result.evidence == () and result.looked_for == ("images",)


def test_evaluation_negated_mention_is_kept_as_evidence():
    result = evaluate_criterion(criterion(), facts(finding(status="discounted", context=("negated",))), "76942", LOOKED_FOR)
    assert result.status == "not_met" and result.evidence[0].context == ("negated",)


def test_evaluation_same_statement_asserted_and_negated_is_uncertain():
    found = (finding(), finding(status="discounted", context=("negated",), start=20))
    assert evaluate_criterion(criterion(), facts(*found), "76942", LOOKED_FOR).status == "uncertain"


def test_evaluation_descriptive_label_is_not_contradicted_by_its_negation():
    found = (finding(), finding(status="discounted", context=("negated",), start=20))
    result = evaluate_criterion(criterion(), facts(*found, contradictions={}), "76942", LOOKED_FOR)
    assert result.status == "met"


def test_evaluation_different_statements_do_not_contradict():
    found = (finding(rule="in-plane"), finding(status="discounted", context=("negated",), rule="out-of-plane", start=20))
    assert evaluate_criterion(criterion(), facts(*found), "76942", LOOKED_FOR).status == "met"


def test_evaluation_history_does_not_contradict():
    found = (finding(), finding(status="discounted", context=("historical",), start=20))
    assert evaluate_criterion(criterion(), facts(*found), "76942", LOOKED_FOR).status == "met"


def test_evaluation_opposing_labels_make_both_uncertain():
    found = (finding("PALPABLE_JOINT"), finding("PALPATION_NOT_POSSIBLE", rule="r2"))
    opposed = {"PALPABLE_JOINT": LabelContradictions(opposed_by=("PALPATION_NOT_POSSIBLE",))}
    result = evaluate_criterion(criterion("exclusion", {"label": "PALPABLE_JOINT"}), facts(*found, contradictions=opposed), "77002", LOOKED_FOR)
    assert result.status == "uncertain"


BODY_SITES = BodySites(sites=(("knee", re.compile(r"\bknee|patell\w*", re.I)), ("hip", re.compile(r"\bhip\b", re.I))),
                       sides=(("left", re.compile(r"\bleft\b", re.I)), ("right", re.compile(r"\bright\b", re.I))))


@pytest.mark.parametrize("easy,expected", [
    ("The joint lines of the right knee were easily felt.", "met"),        # the other knee
    ("The hip landmarks were easily felt.", "met"),                          # another joint
    ("The joint lines of the left knee were easily felt.", "uncertain"),   # the same knee
    ("The joint lines were easily felt.", "uncertain"),                    # no site named: may be the same
])
def test_evaluation_opposing_label_counts_only_at_the_same_site(easy, expected):
    found = (said("PALPATION_NOT_POSSIBLE", "The left knee joint line cannot be felt.", "r1"), said("PALPABLE_JOINT", easy, "r2"))
    opposed = {"PALPATION_NOT_POSSIBLE": LabelContradictions(opposed_by=("PALPABLE_JOINT",), opposed_at=BODY_SITES)}
    result = evaluate_criterion(criterion("required", {"label": "PALPATION_NOT_POSSIBLE"}), facts(*found, contradictions=opposed),
                                "77002", LOOKED_FOR)
    assert result.status == expected


REASON = "Reason for US: the joint cannot be palpated today."
SAME_FACT = {"IMAGING_REASON": LabelContradictions(same_fact=SameFact(("PALPATION_NOT_POSSIBLE",), frozenset({"frame"}))),
             "PALPATION_NOT_POSSIBLE": LabelContradictions(opposed_by=("PALPABLE_JOINT",))}


def said(label, sentence, rule, status="asserted", context=()):
    return Finding(label, 0, 0, 5, sentence[:5], sentence, None, context, rule, status)


@pytest.mark.parametrize("reason_rule,reason_sentence,expected", [
    ("frame", REASON, Truth.UNKNOWN),  # the frame states what its sentence states: in doubt with it
    ("anatomy", REASON, Truth.TRUE),  # a rule naming its own fact stands
    ("frame", "Reason for US: deep target.", Truth.TRUE),  # a reason in another sentence stands
])
def test_evaluation_doubted_statement_passes_doubt_to_its_frame(reason_rule, reason_sentence, expected):
    found = (said("IMAGING_REASON", reason_sentence, reason_rule), said("PALPATION_NOT_POSSIBLE", REASON, "r"),
             said("PALPABLE_JOINT", "Exam: joint easily palpable.", "p"))
    assert facts(*found, contradictions=SAME_FACT).label("IMAGING_REASON") is expected


@pytest.mark.parametrize("flag,expected", [
    ("uncertain", Truth.UNKNOWN),  # "may have been ... unclear": a hedge, the frame is in doubt
    ("hypothetical", Truth.TRUE),  # "a blind pass would risk the artery": how a reason is stated
])
def test_evaluation_frame_over_its_own_labels_hedged_content_is_in_doubt(flag, expected):
    sentence = "Reason: I believe the request may have been to look for a loose body - unclear."
    found = (said("INDICATION", sentence, "heading"), said("INDICATION", sentence, "to-determine", "uncertain", (flag,)))
    frames = {"INDICATION": LabelContradictions(same_fact=SameFact((), frozenset({"heading"})))}
    assert facts(*found, contradictions=frames).label("INDICATION") is expected


def test_evaluation_undoubted_statement_leaves_its_frame_true():
    found = (said("IMAGING_REASON", REASON, "frame"), said("PALPATION_NOT_POSSIBLE", REASON, "r"))
    assert facts(*found, contradictions=SAME_FACT).label("IMAGING_REASON") is Truth.TRUE


IMPLYING = {"LOCALIZATION": LabelContradictions(yields_to_doubt=frozenset({"plane-approach"}))}


@pytest.mark.parametrize("stated_rule,expected", [
    (None, Truth.UNKNOWN),  # only the approach asserted, the tip hedged: in doubt
    ("needle-visualized", Truth.TRUE),  # a rule stating the fact outweighs the hedge
])
def test_evaluation_implying_rule_yields_to_a_hedge(stated_rule, expected):
    found = [said("LOCALIZATION", "22 g needle, in-plane approach.", "plane-approach"),
             said("LOCALIZATION", "The tip was probably in the bursa.", "tip-position", "uncertain")]
    if stated_rule:
        found.append(said("LOCALIZATION", "Needle seen throughout its course.", stated_rule))
    assert facts(*found, contradictions=IMPLYING).label("LOCALIZATION") is expected


SITES = LabelContradictions(self_contradiction=True, site_agreement=SiteAgreement(
    ("field",), (("glenohumeral", re.compile(r"glenohumeral|humeral\s+head", re.I)),
                 ("subacromial", re.compile(r"subacromial", re.I)))))


def site(rule, text, sentence, status="asserted"):
    return Finding("NEEDLE_LOCATION", 0, 0, len(text), text, sentence, None, (), rule, status)


@pytest.mark.parametrize("narrative,expected", [
    ("The needle tip was in the glenohumeral joint at the inferomedial humeral head.", Truth.UNKNOWN),
    ("Needle tip in the subacromial bursa beneath the acromion.", Truth.TRUE),
    ("Needle tip within the lesion.", Truth.TRUE),  # names no known site: no contradiction
])
def test_evaluation_templated_site_field_contradicted_by_narrative(narrative, expected):
    field = site("field", "NEEDLE POSITION: Subacromial bursa", "NEEDLE POSITION: Subacromial bursa\nCONTRAST: yes")
    told = site("narrative", narrative, narrative)
    assert facts(field, told, contradictions={"NEEDLE_LOCATION": SITES}).label("NEEDLE_LOCATION") is expected


def test_evaluation_site_field_alone_or_hedged_narrative_is_not_a_contradiction():
    field = site("field", "NEEDLE POSITION: Subacromial bursa", "NEEDLE POSITION: Subacromial bursa")
    hedged = site("narrative", "tip in the glenohumeral joint", "Tip probably in the glenohumeral joint.", "uncertain")
    assert facts(field, contradictions={"NEEDLE_LOCATION": SITES}).label("NEEDLE_LOCATION") is Truth.TRUE
    assert facts(field, hedged, contradictions={"NEEDLE_LOCATION": SITES}).label("NEEDLE_LOCATION") is Truth.TRUE


def test_evaluation_claim_criterion_not_applicable_without_claim_lines():
    c = criterion("exclusion", {"claim_units_over": 1}, claim_scope=True)
    assert evaluate_criterion(c, facts(), "76942", LOOKED_FOR).status == "not_applicable"


def test_evaluation_units_sum_over_lines_of_the_code():
    c = criterion("exclusion", {"claim_units_over": 1}, claim_scope=True)
    claim = (ClaimLine("76942"), ClaimLine("76942"), ClaimLine("20612"))
    result = evaluate_criterion(c, facts(claim=claim), "76942", LOOKED_FOR)
    assert result.status == "excluded" and "76942" in result.basis


def test_evaluation_applies_when_false_is_not_applicable():
    c = criterion(applies_when={"label": "KNEE_PROCEDURE"})
    assert evaluate_criterion(c, facts(finding()), "77002", LOOKED_FOR).status == "not_applicable"


@pytest.mark.parametrize("code,expected", [("20610", Truth.TRUE), ("20612", Truth.FALSE), ("2061A", Truth.FALSE)])
def test_evaluation_claim_has_range(code, expected):
    assert truth({"claim_has": ["20600-20611"]}, facts(claim=(ClaimLine(code),)), "76942") is expected


def test_evaluation_three_valued_logic():
    f = facts(finding(status="uncertain"))
    assert truth({"any": [{"label": "PERMANENT_IMAGES"}, {"claim_has": ["99999"]}]}, f, "x") is Truth.UNKNOWN
    assert truth({"not": {"label": "PERMANENT_IMAGES"}}, f, "x") is Truth.UNKNOWN
    assert truth({"all": [{"label": "PERMANENT_IMAGES"}, {"claim_has": ["99999"]}]}, f, "x") is Truth.FALSE


@pytest.mark.parametrize("status,expected", [("uncertain", Truth.UNKNOWN), ("asserted", Truth.FALSE), (None, Truth.FALSE)])
def test_evaluation_uncertain_operator_never_meets(status, expected):
    """A promised report ("to follow") leaves a criterion uncertain; a report in hand or none
    says nothing about it."""
    f = facts(finding(status=status)) if status else facts()
    assert truth({"uncertain": {"label": "PERMANENT_IMAGES"}}, f, "x") is expected


@pytest.mark.parametrize("status,expected", [("uncertain", Truth.FALSE), ("asserted", Truth.TRUE), (None, Truth.FALSE)])
def test_evaluation_stated_operator_leaves_no_doubt(status, expected):
    """Code inference reads fluoroscopy "not stated to guide a needle" as 76000 even when a
    ticked box and the narrative disagree about the needle: a doubted fact is not stated."""
    f = facts(finding(status=status)) if status else facts()
    assert truth({"stated": {"label": "PERMANENT_IMAGES"}}, f, "x") is expected


def test_evaluation_credential_operator():
    assert truth({"credential": "npp"}, facts(credential="npp"), "76942") is Truth.TRUE
    assert truth({"credential": "npp"}, facts(credential="physician"), "76942") is Truth.FALSE


def _result(kind, status):
    return evaluate_criterion(criterion(kind), facts(finding(status=status)), "x", LOOKED_FOR)


def test_evaluation_decision_fail_beats_review():
    assert decide([_result("required", "discounted"), _result("required", "uncertain")]) == "fail"


def test_evaluation_decision_review_on_uncertain():
    assert decide([_result("required", "asserted"), _result("exclusion", "uncertain")]) == "review"


def test_evaluation_decision_review_criterion_not_met():
    assert decide([_result("required", "asserted"), _result("review", "discounted")]) == "review"


def test_evaluation_decision_advisory_never_counts():
    assert decide([_result("required", "asserted"), _result("advisory", "discounted")]) == "pass"


MARKS = TemplateMarks.of(load_knowledge().template_marks)


def test_ticked_box_reads_the_box_a_finding_stands_in():
    ticked_box = MARKS.ticked_box

    def finding(text, sentence):
        return Finding("X", 0, 0, len(text), text, sentence, None, (), "r", "asserted")

    assert ticked_box(finding("Synvisc", "[x] hylan G-F 20 (Synvisc)  [ ] other"))
    assert not ticked_box(finding("Synvisc", "[x] Kenalog  [ ] Synvisc"))
    assert ticked_box(finding("Joint landmarks:", "Joint landmarks: [x] easily palpable"))
    assert not ticked_box(finding("Synvisc", "Synvisc-One 6 mL injected into the knee."))


def test_smartlist_value_is_template_text():
    smartlist_value = MARKS.smart_list_value

    def finding(text, sentence):
        return Finding("X", 0, 0, len(text), text, sentence, None, (), "r", "asserted")

    assert smartlist_value(finding("Trigger point injection", "Procedure: {Trigger point injection}"))
    assert not smartlist_value(finding("Trigger point injection", "Trigger point injection {x2} given."))
    assert not smartlist_value(finding("Trigger point injection", "{Kenalog} Trigger point injection"))
