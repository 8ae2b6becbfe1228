"""The guidecheck command line (nlp/cli.py) on small realistic records: output formats, exit
codes, notes given as .txt, explain, validate, and no note text in the logs."""

import csv
import io
import json
import logging
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from nlp import SCHEMAS_DIR
from nlp.cli import app
from nlp.policy import select_policies
from nlp.records import Record, read_records
from nlp.report import CSV_FIELDS

SHARED_RESULT_SCHEMA = Path("/work/shared/schema/result.schema.json")

HIP = {
    "id": "hip-77002",
    "codes": ["20610", "77002"],
    "provider": {"credential": "MD", "specialty": "Physical Medicine and Rehabilitation"},
    "date_of_service": "2024-03-12",
    "documents": [{"kind": "procedure_note", "text": (
        "PROCEDURE NOTE: Right hip intra-articular injection under fluoroscopic guidance.\n"
        "Indication: right hip osteoarthritis. BMI 44; the hip landmarks could not be palpated through the soft tissue. "
        "Ultrasound was not suitable because the joint could not be seen at depth.\n"
        "A 22-gauge spinal needle was advanced under fluoroscopy; the needle tip was within the right hip joint at the "
        "femoral head-neck junction. 2 mL of contrast confirmed intra-articular spread. 40 mg triamcinolone with 4 mL "
        "ropivacaine injected.\nFluoro time 18 seconds.\nNo complications.\nJane Okafor, MD")}],
}
GANGLION = {
    "id": "ganglion-76942",
    "codes": ["20612", "76942"],
    "provider": {"credential": "MD"},
    "date_of_service": "2024-05-02",
    "documents": [
        {"kind": "procedure_note", "text": (
            "PROCEDURE NOTE: Ultrasound-guided aspiration of a dorsal wrist ganglion cyst.\n"
            "Reason for guidance: the cyst is deep to the extensor tendons and lies next to the radial artery.\n"
            "The needle was visualized in-plane throughout and the tip was seen within the cyst. 2 mL of thick gel aspirated.\n"
            "Images were saved to PACS.\nMark Lee, MD")},
        {"kind": "radiology_report", "text": (
            "ULTRASOUND REPORT\nFINDINGS: 1.2 cm anechoic multilocular cyst dorsal to the scapholunate ligament, "
            "extensor tendons intact, radial artery adjacent.\nIMPRESSION: Dorsal wrist ganglion, aspirated under ultrasound guidance.")},
    ],
}
# 77002 is an add-on code: billed with an E/M code only, its primary-procedure exclusion fires.
KNEE_NO_PRIMARY = {
    "id": "knee-no-primary",
    "codes": ["99214", "77002"],
    "provider": {"credential": "DO"},
    "date_of_service": "2025-01-20",
    "documents": [{"kind": "procedure_note", "text": (
        "Left knee aspiration under fluoroscopic guidance. The knee is massively swollen and the patella cannot be "
        "palpated. The needle tip was within the suprapatellar recess; 60 mL of straw-coloured fluid aspirated.")}],
}
LANDMARK_ONLY = {
    "id": "landmark-20610",
    "codes": ["20610", "99213"],
    "provider": {"credential": "MD"},
    "documents": [{"kind": "procedure_note", "text": (
        "Right knee injection by palpation of landmarks, superolateral approach. 40 mg triamcinolone injected.")}],
}
HIP_NOTE = (
    "PROCEDURE: Left hip intra-articular injection under fluoroscopic guidance.\n"
    "Indication: hip osteoarthritis; the greater trochanter cannot be palpated due to habitus.\n"
    "Needle tip within the left hip joint; contrast confirmed intra-articular spread.\n"
)


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def result_validator():
    path = SHARED_RESULT_SCHEMA if SHARED_RESULT_SCHEMA.exists() else SCHEMAS_DIR / "result.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def json_lines(output: str) -> list[dict]:
    lines = output.splitlines()
    assert lines and all(line.startswith("{") for line in lines), output
    return [json.loads(line) for line in lines]


def expected_results(checker, path: Path):
    return [checker.check(r) for r in read_records([str(path)]) if isinstance(r, Record)]


def test_cli_check_text_names_record_and_decision(runner, write, checker):
    path = write("batch.jsonl", [HIP, GANGLION])
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 0, result.output
    for expected in expected_results(checker, path):
        assert f"{expected.id}  [{path}:" in result.stdout
        for code in expected.results:
            assert f"  {code.code}  {code.decision.upper()}  (billed)" in result.stdout


def test_cli_check_text_shows_what_needs_attention(runner, write):
    result = runner.invoke(app, ["check", str(write("knee.jsonl", [KNEE_NO_PRIMARY]))])
    assert "  77002  FAIL  (billed)" in result.stdout
    assert "[x] 77002.with_primary_procedure  excluded" in result.stdout
    assert "basis: claim lines: 99214, 77002" in result.stdout


def test_cli_check_json_lines_are_valid_results(runner, write, result_validator):
    path = write("batch.jsonl", [HIP, GANGLION, KNEE_NO_PRIMARY])
    result = runner.invoke(app, ["check", "--format", "json", str(path)])
    found = json_lines(result.stdout)
    assert [item["id"] for item in found] == ["hip-77002", "ganglion-76942", "knee-no-primary"]
    for item in found:
        errors = [e.message for e in result_validator.iter_errors(item)]
        assert errors == [], (item["id"], errors)
        assert item["results"] and item["error"] is None


def test_cli_check_json_lists_every_criterion_of_each_code(runner, write, checker):
    path = write("batch.jsonl", [HIP, GANGLION, KNEE_NO_PRIMARY])
    result = runner.invoke(app, ["check", "-f", "json", str(path)])
    policies = select_policies(checker.policies, None, date(2025, 1, 20))
    seen = set()
    for item in json_lines(result.stdout):
        for code in item["results"]:
            seen.add(code["code"])
            assert [c["id"] for c in code["criteria"]] == [c.id for c in policies[code["code"]].criteria]
            assert code["billed"] is True
    assert seen == {"76942", "77002"}


def test_cli_check_csv_one_row_per_record_code_and_criterion(runner, write, checker):
    path = write("batch.jsonl", [HIP, GANGLION, KNEE_NO_PRIMARY])
    result = runner.invoke(app, ["check", "--format", "csv", str(path)])
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames) == CSV_FIELDS
    rows = list(reader)
    expected = [(r.id, code.code, c.id, c.status) for r in expected_results(checker, path)
                for code in r.results for c in code.criteria]
    assert len(rows) == len(expected) == sum(len(code.criteria) for r in expected_results(checker, path) for code in r.results)
    assert [(row["record"], row["code"], row["criterion"], row["status"]) for row in rows] == expected


def test_cli_fail_on_fail_exits_1_on_a_failing_code(runner, write):
    path = write("batch.jsonl", [LANDMARK_ONLY, KNEE_NO_PRIMARY])
    result = runner.invoke(app, ["check", "--fail-on", "fail", "--format", "json", str(path)])
    assert result.exit_code == 1
    assert [code["decision"] for item in json_lines(result.stdout) for code in item["results"]] == ["fail"]


def test_cli_fail_on_fail_exits_0_when_nothing_fails(runner, write):
    path = write("batch.jsonl", [HIP, GANGLION, LANDMARK_ONLY])
    result = runner.invoke(app, ["check", "--fail-on", "fail", "--format", "json", str(path)])
    decisions = [code["decision"] for item in json_lines(result.stdout) for code in item["results"]]
    assert len(decisions) == 2 and "fail" not in decisions
    assert result.exit_code == 0


def test_cli_fail_on_fail_exits_0_with_no_guidance_code(runner, write):
    result = runner.invoke(app, ["check", "--fail-on", "fail", str(write("landmark.jsonl", [LANDMARK_ONLY]))])
    assert result.exit_code == 0
    assert "no claimed or described guidance code" in result.stdout


def test_cli_without_fail_on_a_failing_code_exits_0(runner, write):
    result = runner.invoke(app, ["check", str(write("knee.jsonl", [KNEE_NO_PRIMARY]))])
    assert "77002  FAIL" in result.stdout and result.exit_code == 0


def test_cli_bad_record_does_not_stop_the_batch(runner, write):
    path = write("batch.jsonl", json.dumps(HIP) + "\n" + '{"id": "broken", "codes": ["77002"\n' + json.dumps(GANGLION) + "\n")
    result = runner.invoke(app, ["check", "--format", "json", str(path)])
    assert result.exit_code == 2
    first, broken, third = json_lines(result.stdout)
    assert first["id"] == "hip-77002" and first["results"]
    assert third["id"] == "ganglion-76942" and third["results"]
    assert broken["id"] == f"{path}:2" and broken["results"] == [] and "invalid JSON" in broken["error"]


def test_cli_check_reads_stdin(runner):
    result = runner.invoke(app, ["check", "--format", "json", "-"], input=json.dumps(GANGLION) + "\n")
    (item,) = json_lines(result.stdout)
    assert item["id"] == "ganglion-76942" and item["source"] == "<stdin>:1"
    assert [code["code"] for code in item["results"]] == ["76942"]


def test_cli_txt_note_with_codes(runner, write):
    path = write("hip-note.txt", HIP_NOTE)
    result = runner.invoke(app, ["check", "--format", "json", "--codes", "77002,20610", "--credential", "MD",
                                 "--date-of-service", "2024-08-01", "--kind", "procedure_note", str(path)])
    (item,) = json_lines(result.stdout)
    assert item["id"] == "hip-note" and item["error"] is None
    (code,) = item["results"]
    assert code["code"] == "77002" and code["billed"] is True
    statuses = {c["id"]: c["status"] for c in code["criteria"]}
    assert statuses["77002.with_primary_procedure"] == "met"  # 20610 came from --codes
    assert statuses["encounter.both_guidance_codes"] == "met"


def test_cli_txt_note_units_from_codes_option(runner, write):
    path = write("hip-note.txt", HIP_NOTE)
    result = runner.invoke(app, ["check", "--format", "json", "--codes", "20610,77002x2", str(path)])
    (code,) = json_lines(result.stdout)[0]["results"]
    assert {c["id"]: c["status"] for c in code["criteria"]}["77002.one_unit"] == "excluded"


def test_cli_bad_date_of_service_option(runner, write):
    result = runner.invoke(app, ["check", "--date-of-service", "12/03/2024", str(write("n.txt", HIP_NOTE))])
    assert result.exit_code == 2 and "--date-of-service" in result.output


def test_cli_explain_lists_every_criterion_with_citation(runner, checker):
    result = runner.invoke(app, ["explain", "77002"])
    assert result.exit_code == 0
    policy = select_policies(checker.policies, None, None)["77002"]
    assert result.stdout.startswith("77002  Fluoroscopic guidance for needle placement")
    for criterion in policy.criteria:
        line = next(l for l in result.stdout.splitlines() if l.strip().startswith(criterion.id + " "))
        assert line.strip().endswith(f"; {criterion.citation})") and f"({criterion.kind}" in line
        assert criterion.message in result.stdout
    assert {"77002.knee_presentation", "encounter.both_guidance_codes", "encounter.fluoroscopy_dose"} <= {
        c.id for c in policy.criteria}


def test_cli_explain_unknown_code(runner):
    result = runner.invoke(app, ["explain", "99999"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no policy for 99999" in result.stderr


def test_cli_explain_before_guideline_date(runner):
    result = runner.invoke(app, ["explain", "76942", "--on", "2015-06-01"])
    assert result.exit_code == 2 and "2015-06-01" in result.stderr


def test_cli_validate_good_file(runner, write):
    result = runner.invoke(app, ["validate", str(write("batch.jsonl", [HIP, GANGLION]))])
    assert result.exit_code == 0 and result.stdout == "2 valid, 0 invalid\n"


def test_cli_validate_bad_file_names_file_and_line(runner, write):
    bad = dict(GANGLION, id="bad-units", codes=["20612", {"code": "76942", "units": 0}])
    path = write("batch.jsonl", [HIP, bad])
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert f"invalid: {path}:2: record 'bad-units' field 'codes.1'" in result.stdout
    assert result.stdout.endswith("1 valid, 1 invalid\n")


def test_cli_validate_invalid_json_names_file_and_line(runner, write):
    path = write("batch.jsonl", json.dumps(HIP) + "\n" + json.dumps(GANGLION)[:-1] + "\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and f"invalid: {path}:2: invalid JSON" in result.stdout


@pytest.mark.parametrize("command", [[], ["check"], ["explain"], ["validate"], ["evaluate"], ["train"]])
def test_cli_help(runner, command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_cli_note_text_not_logged(runner, write, caplog):
    caplog.set_level(logging.INFO)
    marker = "Zyxquorbital"
    note = dict(HIP, id="marker-note", documents=[{"kind": "procedure_note", "text": HIP["documents"][0]["text"]
                                                   + f"\nPatient name {marker} on the label."}])
    bad = dict(note, id="marker-bad", codes=["7700"])
    path = write("batch.jsonl", [note, bad])
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 2
    assert "1 record(s) could not be checked" in caplog.text  # the logs are captured
    assert marker not in caplog.text
    assert marker not in result.stderr


def _gold(record: dict, decision: str) -> dict:
    return dict(record, expected={code: {"decision": decision} for code in ("77002",)})


def test_cli_evaluate_text_reports_accuracy_and_the_miss(runner, write):
    path = write("gold.jsonl", [_gold(HIP, "fail")])
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 0, result.output
    assert "decision accuracy        0.000  (0/1)" in result.stdout
    assert "hip-77002 77002: gold fail, checker pass" in result.stdout


def test_cli_evaluate_json_for_scripts(runner, write):
    path = write("gold.jsonl", [_gold(HIP, "pass")])
    result = runner.invoke(app, ["evaluate", str(path), "--format", "json"])
    data = json.loads(result.stdout)
    assert (data["decision_accuracy"], data["pass_precision"], data["fail_recall"]) == (1.0, 1.0, None)


def test_cli_evaluate_bad_record_is_named_and_exits_2(runner, write):
    path = write("gold.jsonl", "{\"id\": \"x\"}\n" + json.dumps(_gold(HIP, "pass")) + "\n")
    result = runner.invoke(app, ["evaluate", str(path)])
    assert result.exit_code == 2 and f"{path}:1" in result.stderr and "(1/1)" in result.stdout


def test_cli_train_without_spans_is_a_clear_error(runner, write, tmp_path):
    path = write("gold.jsonl", [_gold(HIP, "pass")])
    result = runner.invoke(app, ["train", "--train", str(path), "--dev", str(path), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "no record carries expected_evidence" in result.stderr
    assert not (tmp_path / "m").exists()
