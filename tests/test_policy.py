"""Per-code policies as data (nlp/policy.py): they load, they match the criteria catalogue,
the right one is selected, and malformed policy data is refused at load time."""

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from nlp import PIPELINES_DIR
from nlp.knowledge import KnowledgeError, load_knowledge, read_json
from nlp.policy import PolicyNotFound, labels_in, load_policies, select_policies, validate_expression

CATALOGUE = Path("/work/shared/spec/criteria.md")
CODES = {"76000", "76942", "77002"}


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge()


@pytest.fixture(scope="module")
def policies(knowledge):
    return load_policies(knowledge.directory, set(knowledge.labels))


@pytest.fixture(scope="module")
def catalogue():
    """{code: {criterion id: kind}} from the tables of spec/criteria.md."""
    if not CATALOGUE.exists():
        pytest.skip(f"{CATALOGUE} is not here")
    wanted: dict[str, dict[str, str]] = {}
    heading = None
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            continue
        if not line.startswith("| `") or heading is None:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        criterion = cells[0].strip("`")
        if not re.fullmatch(r"(?:\d{5}|encounter)\.[a-z_]+", criterion):
            continue  # the status table of 'How a criterion resolves'
        kind = cells[1].split()[0]  # "required (knee only)" is required
        if heading.split()[0] in CODES:
            codes = [heading.split()[0]]
        else:
            codes = re.findall(r"reported under (\d{5}) and (\d{5})", cells[2])
            codes = list(codes[0]) if codes else []
        assert codes, f"catalogue row names no code: {line}"
        for code in codes:
            wanted.setdefault(code, {})[criterion] = kind
    return wanted


@pytest.fixture
def pipelines_copy(tmp_path):
    copy = tmp_path / "pipelines"
    shutil.copytree(PIPELINES_DIR, copy)
    return copy


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def test_policy_every_file_loads(policies):
    files = sorted(p.relative_to(PIPELINES_DIR).as_posix()
                   for p in (PIPELINES_DIR / "policies").rglob("*.json") if p.name != "encounter.json")
    assert files and sorted(p.source for p in policies) == files
    for policy in policies:
        assert policy.criteria and policy.title and policy.effective_from <= date.today()
        assert Path(policy.source).stem == policy.code


def test_policy_catalogue_parsed(catalogue):
    assert set(catalogue) == CODES
    assert catalogue["76942"]["encounter.both_guidance_codes"] == "review"
    assert catalogue["76000"]["encounter.fluoroscopy_dose"] == "advisory"
    assert catalogue["77002"]["77002.knee_presentation"] == "required"


@pytest.mark.parametrize("code", sorted(CODES))
def test_policy_criteria_match_catalogue(code, catalogue, policies):
    (policy,) = [p for p in policies if p.payer == "ASH" and p.code == code]
    assert {c.id: c.kind for c in policy.criteria} == catalogue[code]


def test_policy_criterion_ids_are_in_their_codes_policy_only(catalogue, policies):
    for policy in policies:
        for criterion in policy.criteria:
            prefix = criterion.id.split(".")[0]
            assert prefix in (policy.code, "encounter"), f"{criterion.id} in {policy.source}"


def test_policy_every_evidence_label_is_produced(knowledge, policies):
    produced = {rule.category for rule in knowledge.target_rules}
    produced |= {item["label"] for items in knowledge.document_kinds.values() for item in items}
    used = set()
    for policy in policies:
        for criterion in policy.criteria:
            used |= set(labels_in(criterion.logic))
            if criterion.applies_when:
                used |= set(labels_in(criterion.applies_when))
    coding = read_json(PIPELINES_DIR / "coding.json")
    for item in list(coding["describes"].values()) + coding["suggestions"]:
        used |= set(labels_in(item["when"]))
    assert used and used <= produced, sorted(used - produced)


def test_policy_select_default_is_ash(policies):
    chosen = select_policies(policies, None, date(2025, 3, 14))
    assert set(chosen) == CODES and {p.payer for p in chosen.values()} == {"ASH"}


@pytest.mark.parametrize("payer", ["ash", " Ash "])
def test_policy_select_payer_ignores_case(policies, payer):
    assert select_policies(policies, payer, date(2025, 3, 14)) == select_policies(policies, "ASH", date(2025, 3, 14))


def test_policy_select_unknown_payer(policies):
    with pytest.raises(PolicyNotFound, match=r"no policy for payer 'Aetna'; known payers: ASH"):
        select_policies(policies, "Aetna", date(2025, 3, 14))


def test_policy_select_before_guideline_date(policies):
    with pytest.raises(PolicyNotFound, match="2016-02-17"):
        select_policies(policies, "ASH", date(2016, 2, 17))
    assert set(select_policies(policies, "ASH", date(2016, 2, 18))) == CODES


def test_policy_expression_unknown_operator():
    with pytest.raises(KnowledgeError, match=r"76942\.json: 76942\.x met_when: unknown operator 'some'"):
        validate_expression({"some": [{"label": "US_GUIDANCE"}]}, "76942.json: 76942.x met_when", {"US_GUIDANCE"})


def test_policy_expression_unknown_label_nested():
    expression = {"any": [{"label": "US_GUIDANCE"}, {"not": {"label": "US_GUIDANSE"}}]}
    with pytest.raises(KnowledgeError, match=r"^77002\.json: 77002\.x: unknown evidence label 'US_GUIDANSE'"):
        validate_expression(expression, "77002.json: 77002.x", {"US_GUIDANCE"})


@pytest.mark.parametrize("codes", [["7700"], ["20600-2061"], "20610"])
def test_policy_expression_bad_claim_has(codes):
    with pytest.raises(KnowledgeError, match=r"^coding\.json: suggestion 20611: 'claim_has'"):
        validate_expression({"claim_has": codes}, "coding.json: suggestion 20611", set())


def test_policy_expression_claim_has_number_is_rejected():
    with pytest.raises(KnowledgeError, match="claim_has"):
        validate_expression({"claim_has": ["20610", 20611]}, "coding.json: suggestion 20611", set())


def test_policy_expression_good_claim_has_range():
    validate_expression({"all": [{"claim_has": ["20600-20611", "J7325"]}, {"credential": "npp"}]}, "here", set())


def test_policy_expression_label_must_be_a_name():
    with pytest.raises(KnowledgeError, match="^76942.json"):
        validate_expression({"label": ["US_GUIDANCE", "PERMANENT_IMAGES"]}, "76942.json", {"US_GUIDANCE"})


def test_policy_unknown_criterion_key_is_rejected(pipelines_copy, knowledge):
    path = pipelines_copy / "policies" / "ash" / "76942.json"
    edit_json(path, lambda data: data["criteria"][2].update({"severity": "high"}))
    with pytest.raises(KnowledgeError, match=r"76942\.json: 76942\.permanent_images: unknown keys \['severity'\]"):
        load_policies(pipelines_copy, set(knowledge.labels))


def test_policy_unknown_label_in_file_is_rejected(pipelines_copy, knowledge):
    path = pipelines_copy / "policies" / "ash" / "77002.json"
    edit_json(path, lambda data: data["criteria"][0].update({"met_when": {"label": "WHY_FLUORO"}}))
    with pytest.raises(KnowledgeError, match=r"77002\.json: 77002\.reason_documented met_when: unknown evidence label"):
        load_policies(pipelines_copy, set(knowledge.labels))


def test_policy_bad_effective_date_is_rejected(pipelines_copy, knowledge):
    edit_json(pipelines_copy / "policies" / "ash" / "76000.json", lambda data: data.update({"effective_from": "18/02/2016"}))
    with pytest.raises(KnowledgeError, match=r"76000\.json: effective_from"):
        load_policies(pipelines_copy, set(knowledge.labels))


def test_policy_unknown_top_level_key_is_rejected(pipelines_copy, knowledge):
    edit_json(pipelines_copy / "policies" / "ash" / "76000.json", lambda data: data.update({"effective_until": "2020-01-01"}))
    with pytest.raises(KnowledgeError, match=r"76000\.json"):
        load_policies(pipelines_copy, set(knowledge.labels))
