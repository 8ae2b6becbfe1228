"""Reading records (nlp/records.py): every input form, and every bad input becoming a
RecordError that names where it came from while the rest of the batch is still read."""

import io
import json
import re
import sys
from datetime import date

import pytest

from nlp.records import ClaimLine, NoteDefaults, Record, RecordError, parse_codes_option, read_records, record_from_dict

HIP = {
    "id": "hip-1",
    "codes": ["20610", {"code": "77002", "units": 1, "modifiers": ["RT"]}],
    "provider": {"credential": "MD", "specialty": "Physical Medicine and Rehabilitation"},
    "place_of_service": "11",
    "date_of_service": "2025-03-14",
    "payer": "ASH",
    "documents": [{"id": "d1", "kind": "procedure_note", "title": "Procedure note",
                   "text": "Right hip intra-articular injection under fluoroscopic guidance. Needle tip within the hip joint."}],
}
GANGLION = {
    "id": "ganglion-1",
    "codes": ["20612", "76942"],
    "documents": [
        {"kind": "procedure_note", "text": "Ultrasound-guided aspiration of a dorsal wrist ganglion; needle visualized in-plane."},
        {"kind": "radiology_report", "text": "ULTRASOUND REPORT\nIMPRESSION: 1.2 cm dorsal wrist ganglion."},
    ],
}
NOTE = "PROCEDURE NOTE\nLeft knee aspiration under fluoroscopic guidance. 30 mL straw-coloured fluid.\n"


def read(*paths, defaults=None):
    return list(read_records([str(p) for p in paths], defaults))


def only_error(items):
    assert len(items) == 1 and isinstance(items[0], RecordError), items
    return items[0]


def with_id(record_id, **changes):
    data = json.loads(json.dumps(HIP))
    data["id"] = record_id
    data.update(changes)
    return data


def test_records_jsonl_reads_every_field(write):
    path = write("batch.jsonl", [HIP, GANGLION])
    first, second = read(path)
    assert first == Record(
        id="hip-1",
        documents=(first.documents[0],),
        codes=(ClaimLine("20610"), ClaimLine("77002", 1, ("RT",))),
        credential="MD", specialty="Physical Medicine and Rehabilitation", place_of_service="11",
        date_of_service=date(2025, 3, 14), payer="ASH", source=f"{path}:1",
    )
    assert (first.documents[0].kind, first.documents[0].id, first.documents[0].title) == ("procedure_note", "d1", "Procedure note")
    assert first.documents[0].text == HIP["documents"][0]["text"]
    assert second.id == "ganglion-1" and second.source == f"{path}:2"
    assert [d.kind for d in second.documents] == ["procedure_note", "radiology_report"]
    assert second.credential is None and second.date_of_service is None


def test_records_jsonl_skips_blank_lines_and_counts_them(write):
    path = write("batch.jsonl", json.dumps(HIP) + "\n\n   \n" + json.dumps(GANGLION) + "\n")
    assert [(r.id, r.source) for r in read(path)] == [("hip-1", f"{path}:1"), ("ganglion-1", f"{path}:4")]


def test_records_json_single_object(write):
    path = write("one.json", HIP)
    (record,) = read(path)
    assert isinstance(record, Record) and record.id == "hip-1" and record.source == str(path)


def test_records_json_array_names_each_index(write):
    path = write("many.json", [HIP, GANGLION])
    records = read(path)
    assert [(r.id, r.source) for r in records] == [("hip-1", f"{path}[0]"), ("ganglion-1", f"{path}[1]")]


def test_records_directory_recurses_in_sorted_order(write, tmp_path):
    write("batch/z-notes/b.txt", NOTE)
    write("batch/m.jsonl", [with_id("m-1"), with_id("m-2")])
    write("batch/a/deeper/c.json", with_id("c-1"))
    write("batch/README.md", "not a record")
    write("batch/a/list.csv", "id,text\n")
    ids = [r.id for r in read(tmp_path / "batch")]
    assert ids == ["c-1", "m-1", "m-2", "b"]
    assert [r.id for r in read(tmp_path / "batch")] == ids


def test_records_stdin_json_lines(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(HIP) + "\n" + json.dumps(GANGLION) + "\n"))
    records = list(read_records(["-"]))
    assert [(r.id, r.source) for r in records] == [("hip-1", "<stdin>:1"), ("ganglion-1", "<stdin>:2")]


def test_records_stdin_json_array(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps([HIP, GANGLION], indent=2)))
    records = list(read_records(["-"]))
    assert [(r.id, r.source) for r in records] == [("hip-1", "<stdin>[0]"), ("ganglion-1", "<stdin>[1]")]


def test_records_stdin_pretty_printed_object(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(GANGLION, indent=2) + "\n"))
    (record,) = list(read_records(["-"]))
    assert isinstance(record, Record) and record.id == "ganglion-1"


def test_records_txt_note_takes_stem_and_defaults(write):
    path = write("knee-aspiration.txt", NOTE)
    fields = Record(id="", documents=(), codes=parse_codes_option("77002,20610") + parse_codes_option("76942x2"),
                    credential="PA-C", date_of_service=date(2024, 6, 3), payer="ash")
    defaults = NoteDefaults(fields, kind="procedure_note")
    (record,) = read(path, defaults=defaults)
    assert record.id == "knee-aspiration" and record.source == str(path)
    assert record.codes == (ClaimLine("77002"), ClaimLine("20610"), ClaimLine("76942", units=2))
    assert (record.credential, record.date_of_service, record.payer) == ("PA-C", date(2024, 6, 3), "ash")
    assert [(d.text, d.kind) for d in record.documents] == [(NOTE, "procedure_note")]


def test_records_codes_option_forms():
    assert parse_codes_option(" 77002 , 20610,,76942x2 ") == (
        ClaimLine("77002"), ClaimLine("20610"), ClaimLine("76942", units=2))
    assert parse_codes_option("j7325") == (ClaimLine("J7325"),)
    assert parse_codes_option(None) == () and parse_codes_option("") == ()


@pytest.mark.parametrize("text", ["7700", "76942x0", "77002X2"])
def test_records_codes_option_rejects_what_the_schema_rejects(text):
    try:
        lines = parse_codes_option(text)
    except ValueError:
        return
    assert all(re.fullmatch(r"[0-9A-Z]{5}", line.code) and line.units >= 1 for line in lines), lines


def test_records_invalid_json_line_is_reported_and_reading_goes_on(write):
    path = write("batch.jsonl", json.dumps(HIP) + "\n" + '{"id": "broken", "documents": [\n' + json.dumps(GANGLION) + "\n")
    first, error, third = read(path)
    assert isinstance(error, RecordError)
    assert error.source == f"{path}:2" and str(error).startswith(f"{path}:2:")
    assert "invalid JSON" in error.message
    assert isinstance(first, Record) and isinstance(third, Record) and third.id == "ganglion-1"


def test_records_invalid_json_file_names_the_line(write):
    path = write("one.json", '{\n  "id": "x",\n  "documents": [}\n')
    error = only_error(read(path))
    assert error.source == f"{path}:3" and "invalid JSON" in error.message


def test_records_schema_missing_documents(write):
    data = with_id("no-docs")
    del data["documents"]
    error = only_error(read(write("r.jsonl", [data])))
    assert error.id == "no-docs" and "'documents' is a required property" in error.message
    assert "'no-docs'" in str(error) and "documents" in str(error)


def test_records_schema_bad_code_pattern(write):
    error = only_error(read(write("r.jsonl", [with_id("bad-code", codes=["20610", "7700"])])))
    assert (error.id, error.field) == ("bad-code", "codes.1")
    assert "'7700'" in error.message
    assert "field 'codes.1'" in str(error) and "record 'bad-code'" in str(error)


def test_records_schema_zero_units(write):
    error = only_error(read(write("r.jsonl", [with_id("zero-units", codes=[{"code": "76942", "units": 0}])])))
    assert error.id == "zero-units" and error.field.startswith("codes.0")
    assert "'units': 0" in error.message


def test_records_schema_error_counts_further_problems(write):
    error = only_error(read(write("r.jsonl", [with_id("two-problems", codes=["7700"], place_of_service="office")])))
    assert error.field == "codes.0" and "(and 1 more problem(s))" in error.message


def test_records_non_object_line(write):
    error = only_error(read(write("r.jsonl", '["not", "a", "record"]\n')))
    assert error.id is None and error.field == "(record)" and "not of type 'object'" in error.message


def test_records_bad_date_of_service(write):
    error = only_error(read(write("r.jsonl", [with_id("feb-30", date_of_service="2024-02-30")])))
    assert (error.id, error.field) == ("feb-30", "date_of_service")
    assert "'2024-02-30' is not a date" in error.message


@pytest.mark.parametrize("value", ["20240312", "2024-W11-2"])
def test_records_date_of_service_must_be_yyyy_mm_dd(write, value):
    error = only_error(read(write("r.jsonl", [with_id("basic-date", date_of_service=value)])))
    assert error.field == "date_of_service"


def test_records_empty_txt_note(write):
    path = write("blank.txt", "  \n\t\n")
    error = only_error(read(path))
    assert (error.id, error.field, error.source) == ("blank", "documents.0.text", str(path))
    assert "empty" in error.message


def test_records_non_utf8_file(write):
    path = write("latin1.jsonl", json.dumps(with_id("x")).replace("Right", "Righ\u00e9").encode("latin-1"))
    error = only_error(read(path))
    assert error.source == str(path) and "not UTF-8" in error.message


def test_records_non_utf8_does_not_stop_the_batch(write, tmp_path):
    write("batch/a.txt", b"Knee injection \xe9 under fluoroscopy.\n")
    write("batch/b.jsonl", [with_id("good")])
    error, good = read(tmp_path / "batch")
    assert isinstance(error, RecordError) and isinstance(good, Record) and good.id == "good"


def test_records_unknown_suffix(write):
    path = write("notes.csv", "id,text\nx,Knee injection\n")
    error = only_error(read(path))
    assert error.source == str(path) and "unknown file type '.csv'" in error.message


def test_records_missing_path(tmp_path):
    error = only_error(read(tmp_path / "nowhere.jsonl"))
    assert error.source == str(tmp_path / "nowhere.jsonl") and "no such file or directory" in error.message


def test_records_empty_directory(write, tmp_path):
    write("empty/README.md", "nothing to read here")
    error = only_error(read(tmp_path / "empty"))
    assert error.source == str(tmp_path / "empty") and "directory holds no" in error.message


def test_records_duplicate_id_names_first_source(write):
    first_path = write("a.jsonl", [with_id("dup")])
    second_path = write("b.json", with_id("dup"))
    first, second = read(first_path, second_path)
    assert isinstance(first, Record)
    assert isinstance(second, RecordError)
    assert (second.id, second.field, second.source) == ("dup", "id", str(second_path))
    assert f"first seen at {first_path}:1" in second.message


def test_records_duplicate_check_ignores_errors(write):
    bad = with_id("same", codes=["7700"])
    path = write("r.jsonl", [bad, with_id("same")])
    error, record = read(path)
    assert isinstance(error, RecordError) and isinstance(record, Record) and record.id == "same"


def _with_spans(spans) -> dict:
    return {**HIP, "expected": {"77002": {"decision": "pass"}}, "expected_evidence": spans}


def test_records_gold_spans_are_read():
    text = HIP["documents"][0]["text"]
    start = text.index("Needle tip")
    record = record_from_dict(_with_spans(
        [{"document": 0, "start": start, "end": len(text) - 1, "label": "NEEDLE_LOCATION", "text": text[start:-1]}]), "gold.jsonl:1")
    assert [(s.start, s.label) for s in record.expected_evidence] == [(start, "NEEDLE_LOCATION")]


def test_records_without_gold_spans_have_none():
    record = record_from_dict(HIP, "gold.jsonl:1")
    assert record.expected_evidence is None


@pytest.mark.parametrize(("span", "problem"), [
    ({"document": 1, "start": 0, "end": 4, "label": "X"}, "no document 1"),
    ({"document": 0, "start": 5, "end": 5000, "label": "X"}, "outside the text"),
    ({"document": 0, "start": 0, "end": 5, "label": "X", "text": "Left "}, "text does not match"),
    ({"document": 0, "start": 0, "label": "X"}, "needs document, start, end and label"),
    ({"document": 0, "start": "0", "end": 5, "label": "X"}, "must be integers"),
])
def test_records_bad_gold_span_names_the_span(span, problem):
    error = record_from_dict(_with_spans([{"document": 0, "start": 0, "end": 5, "label": "X"}, span]), "gold.jsonl:1")
    assert isinstance(error, RecordError)
    assert (error.id, error.field) == ("hip-1", "expected_evidence.1") and problem in error.message
