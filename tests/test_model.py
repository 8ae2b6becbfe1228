"""The learned evidence model (nlp/model.py, nlp/training.py): reproducible training, a model
card that names its data, refusal of a file its card does not vouch for, and model evidence
that joins the rules' with its score and confidence band."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nlp import PIPELINES_DIR
from nlp.checker import Checker
from nlp.knowledge import load_knowledge
from nlp.model import ARTIFACT, CARD, ModelError, RULE_NAME, load_model, sha256_file
from nlp.records import record_from_dict
from nlp.training import TrainingError, train

ANNOTATED = Path(__file__).resolve().parent.parent / "annotated_notes"
NOTE = ("Procedure: right hip injection under fluoroscopy.\n"
        "Reason: BMI 49; the greater trochanter and the joint line cannot be palpated through the soft tissue.\n"
        "Ultrasound was tried first but the femoral head could not be seen at this depth.\n"
        "Needle tip in the superolateral joint; contrast outlined the joint. Images saved.")


@pytest.fixture(scope="module")
def splits(tmp_path_factory) -> tuple[Path, Path]:
    """A slice of the real train and dev splits, so training in a test takes seconds."""
    folder = tmp_path_factory.mktemp("splits")
    for name, count in (("train", 90), ("dev", 30)):
        lines = (ANNOTATED / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        (folder / f"{name}.jsonl").write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")
    return folder / "train.jsonl", folder / "dev.jsonl"


@pytest.fixture(scope="module")
def trained(splits, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("model")
    card = train(load_knowledge(), [splits[0]], [splits[1]], out)
    return out, card


def test_model_training_is_reproducible(splits, trained, tmp_path):
    again = train(load_knowledge(), [splits[0]], [splits[1]], tmp_path)
    assert again["artifact"]["sha256"] == trained[1]["artifact"]["sha256"]


def test_model_scores_are_the_calibrated_classifiers_probabilities(trained):
    model = load_model(trained[0])
    texts = [line for line in NOTE.splitlines()] + ["", "ultrasound could not show the joint"]
    scores = model.probabilities(texts)
    features = model.vectorizer.transform(texts)
    for label, classifier in model.classifiers.items():
        assert scores[label] == pytest.approx(classifier.predict_proba(features)[:, 1], abs=1e-9)


def test_model_card_names_its_data_seed_and_metrics(splits, trained):
    out, card = trained
    assert card["data"]["train"]["files"] == {"train.jsonl": sha256_file(splits[0])}
    assert card["seed"] == json.loads((PIPELINES_DIR / "model.json").read_text())["seed"]
    assert card["artifact"]["sha256"] == sha256_file(out / ARTIFACT)
    assert set(card["dev_metrics"]) == set(card["labels"]) and card["labels"]


def test_model_refuses_a_file_its_card_does_not_vouch_for(trained, tmp_path):
    shutil.copytree(trained[0], tmp_path / "m")
    with (tmp_path / "m" / ARTIFACT).open("ab") as artifact:
        artifact.write(b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(tmp_path / "m")


def test_model_refuses_a_file_without_card(trained, tmp_path):
    (tmp_path / "m").mkdir()
    shutil.copy(trained[0] / ARTIFACT, tmp_path / "m" / ARTIFACT)
    with pytest.raises(ModelError, match="no model card"):
        load_model(tmp_path / "m")


def test_model_absent_means_rules_only(tmp_path):
    checker = Checker(models_dir=tmp_path)
    assert load_model(tmp_path) is None and not checker.uses_model
    result = checker.check(_record(NOTE))
    assert result.error is None and result.results
    assert not any(f.rule == RULE_NAME for f in result.findings)


def test_model_training_without_spans_is_refused(tmp_path):
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"id": "a", "documents": [{"text": NOTE}]}) + "\n", encoding="utf-8")
    with pytest.raises(TrainingError, match="no record carries expected_evidence"):
        train(load_knowledge(), [plain], [plain], tmp_path / "out")


@pytest.fixture(scope="module")
def banded(trained, tmp_path_factory) -> Checker:
    """The trained model with a wide confidence band, so a note yields model evidence on both
    sides of 'accept'."""
    pipelines = tmp_path_factory.mktemp("pipelines") / "p"
    shutil.copytree(PIPELINES_DIR, pipelines)
    config = json.loads((pipelines / "model.json").read_text())
    (pipelines / "model.json").write_text(json.dumps({**config, "accept": 0.6, "uncertain": 0.02}))
    return Checker(pipelines, trained[0])


def _record(text: str):
    return record_from_dict({"id": "m1", "codes": ["77002", "20610"], "documents": [{"text": text}]}, "test")


def test_model_evidence_is_a_sentence_with_its_score(banded):
    model = [f for f in banded.check(_record(NOTE)).findings if f.rule == RULE_NAME]
    assert model, "the model scored no sentence of a note full of reasons above 0.02"
    for finding in model:
        assert NOTE[finding.start:finding.end] == finding.text and finding.text.strip() == finding.text
        assert 0.02 <= finding.score <= 1


def test_model_evidence_below_accept_is_uncertain(banded):
    model = [f for f in banded.check(_record(NOTE)).findings if f.rule == RULE_NAME]
    low = [f for f in model if f.score < 0.6]
    assert low, "expected some sentence in the band between 0.02 and 0.6"
    assert all("low_confidence" in f.context and f.status != "asserted" for f in low)
    assert all("low_confidence" not in f.context for f in model if f.score >= 0.6)


def test_model_sentence_saying_the_opposite_gives_no_evidence(banded):
    """The model reads whole sentences and a negation inside its span counts as part of what it
    says; model.json's sentence_excludes keep 'the needle tip was not seen' from localizing."""
    note = "Needle advanced toward the joint. The needle tip was not seen. Images saved."
    found = [f for f in banded.check(_record(note)).findings if f.rule == RULE_NAME]
    assert not [f for f in found if f.label in ("LOCALIZATION", "NEEDLE_LOCATION") and "not seen" in f.text]
    assert found, "with a band down to 0.02 the model scores some sentence of the note"


def test_model_palpation_that_worked_is_no_palpation_problem(banded):
    note = "The femoral artery was located by palpation of the pulse."
    found = [f for f in banded.check(_record(note)).findings if f.rule == RULE_NAME]
    assert not [f for f in found if f.label == "PALPATION_NOT_POSSIBLE"]


def test_model_sentence_stating_a_condition_is_hypothetical(banded):
    note = "If the landmarks cannot be felt at the next visit, we will use fluoroscopy."
    found = [f for f in banded.check(_record(note)).findings if f.rule == RULE_NAME]
    assert found and all("hypothetical" in f.context and f.status != "asserted" for f in found)


def test_model_sentence_is_not_hedged_by_a_trigger_word_inside_it(banded):
    """'can be' inside a plain statement of fact is no plan: the sentence is the model's unit."""
    note = "Neither the patellar borders nor the joint lines can be found with the fingers today."
    found = [f for f in banded.check(_record(note)).findings if f.rule == RULE_NAME]
    assert found and not any("hypothetical" in f.context for f in found)


def test_model_refusal_is_a_clear_command_line_error(trained, tmp_path):
    from typer.testing import CliRunner

    from nlp.cli import app

    shutil.copytree(trained[0], tmp_path / "m")
    card = json.loads((tmp_path / "m" / CARD).read_text())
    card["artifact"]["sha256"] = "0" * 64
    (tmp_path / "m" / CARD).write_text(json.dumps(card))
    note = tmp_path / "note.txt"
    note.write_text(NOTE)
    result = CliRunner().invoke(app, ["check", str(note), "--models", str(tmp_path / "m")])
    assert result.exit_code == 2 and "refusing to unpickle" in result.output
