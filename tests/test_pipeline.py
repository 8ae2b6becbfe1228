"""The medspaCy pipeline built from pipelines/: sentences, sections and context on small real
phrasings, including the ConText traps listed in spec/architecture.md."""

import re

import pytest

from nlp.components import read_as_meant
from nlp.findings import findings_from_doc


@pytest.fixture(scope="module")
def extract(rules_checker):
    def run(text: str, label: str):
        doc = rules_checker.language(text)
        return [f for f in findings_from_doc(doc, 0, rules_checker.knowledge) if f.label == label]
    return run


def statuses(found):
    return {f.status for f in found}


def test_pipeline_components_in_order(rules_checker):
    assert rules_checker.language.pipe_names == [
        "guidecheck_sentences", "medspacy_sectionizer", "guidecheck_evidence", "medspacy_context"]


def test_pipeline_model_sits_before_context(checker):
    """Model evidence must be judged by ConText like the rules' (negation, history, hedges)."""
    assert checker.language.pipe_names == [
        "guidecheck_sentences", "medspacy_sectionizer", "guidecheck_evidence", "guidecheck_evidence_model",
        "medspacy_context"]


def test_pipeline_asserted_statement(extract):
    assert statuses(extract("Representative images were saved to PACS.", "PERMANENT_IMAGES")) == {"asserted"}


def test_pipeline_negated_statement(extract):
    found = extract("No images were saved to PACS.", "PERMANENT_IMAGES")
    assert found and statuses(found) == {"discounted"}
    assert "negated" in found[0].context


def test_pipeline_hypothetical_statement(extract):
    found = extract("Images will be saved to PACS after the visit.", "PERMANENT_IMAGES")
    assert statuses(found) == {"uncertain"}
    assert "hypothetical" in found[0].context


def test_pipeline_historical_statement(extract):
    found = extract("At her last visit images were archived.", "PERMANENT_IMAGES")
    assert statuses(found) == {"discounted"}
    assert "historical" in found[0].context


def test_pipeline_author_acting_after_a_comma_is_not_the_other_person(extract):
    text = "With the image intensifier driven by the radiographer, I applied the valgus stress to the ankle myself."
    assert statuses(extract(text, "PHYSICIAN_PRESENT")) == {"asserted"}


def test_pipeline_hedge_between_commas_hedges_its_clause(extract):
    found = extract("Dr. Ames was, I believe, still in the room during the fluoroscopy.", "PHYSICIAN_PRESENT")
    assert found and statuses(found) == {"uncertain"}


def test_pipeline_field_asked_of_this_visit_answered_no_is_negated(extract):
    found = extract("Radiographs obtained this visit: ( ) Yes  (\u2022) No", "OTHER_IMAGING")
    assert found and statuses(found) == {"discounted"}


@pytest.mark.parametrize("text,label", [("FL time 25 s", "FLUORO_DOSE"), ("1 mL Omni -> IA", "CONTRAST_CONFIRMATION"),
                                        ("FL used to guide the needle into the R hip jt", "FLUORO_GUIDANCE")])
def test_pipeline_scribe_shorthand_is_read_as_meant(extract, text, label):
    assert "asserted" in statuses(extract(text, label))


def test_pipeline_technologist_is_not_the_physician(extract):
    assert extract("The technologist was present in the room during fluoroscopy.", "PHYSICIAN_PRESENT") == []


def test_pipeline_physician_present(extract):
    assert statuses(extract("The radiologist was present in the room throughout the fluoroscopy.", "PHYSICIAN_PRESENT")) == {"asserted"}


def test_pipeline_physician_explicitly_absent(extract):
    """A sentence saying a physician was not present proves no presence, wherever the 'not'
    stands ('MD (images reviewed; not present)' puts a terminator between them)."""
    for text in ("The radiologist was not present in the room.",
                 "Attending: M. Feldman, MD (images reviewed; not present during the examination)"):
        assert "asserted" not in statuses(extract(text, "PHYSICIAN_PRESENT")), text


def test_pipeline_other_person_with_credential(extract):
    found = extract("Injection performed by her mother, a nurse practitioner.", "PERFORMER_NPP")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_is_negative_for(extract):
    # medspacy#232: "is negative for X" must negate X.
    found = extract("Knee exam today is negative for large effusion.", "KNEE_PRESENTATION")
    assert statuses(found) == {"discounted"}


def test_pipeline_negation_after_heading_colon(extract):
    # medspacy#155: a value after "HEADER:" colon.
    found = extract("Images saved: No\nComplications: none", "PERMANENT_IMAGES")
    assert statuses(found) == {"discounted"}


def test_pipeline_unchecked_box_negates(extract):
    assert statuses(extract("[ ] Images saved to PACS\n[x] Needle visualized", "PERMANENT_IMAGES")) == {"discounted"}


def test_pipeline_checked_box_asserts(extract):
    assert statuses(extract("[x] Images saved to PACS\n[ ] Contrast used", "PERMANENT_IMAGES")) == {"asserted"}


def test_pipeline_negation_does_not_cross_a_line_break(extract):
    # medspacy#323: a newline with no space after it still ends the sentence.
    found = extract("No complications\nImages saved to PACS", "PERMANENT_IMAGES")
    assert statuses(found) == {"asserted"}


def test_pipeline_negation_inside_the_evidence_is_its_meaning(extract):
    assert statuses(extract("Ultrasound was not suitable because of hardware artifact.", "US_UNSUITABLE")) == {"asserted"}


def test_pipeline_consent_section_is_hypothetical(extract):
    text = "INFORMED CONSENT:\nRisks discussed include infection and epidural hematoma.\nPROCEDURE:\nRight hip injection."
    assert statuses(extract(text, "SPINE_PROCEDURE")) <= {"discounted"}


def test_pipeline_consent_field_lends_its_context_to_its_line_only(extract):
    """'Consent: obtained.' is a field, not a heading over the rest of the note."""
    text = "Consent: obtained, risks of bleeding discussed.\nRepresentative images were saved to PACS."
    assert statuses(extract(text, "PERMANENT_IMAGES")) == {"asserted"}


def test_pipeline_consent_field_still_hedges_its_own_line(extract):
    text = "Consent: images may be saved to PACS, explained.\nNeedle advanced."
    assert "hypothetical" in extract(text, "PERMANENT_IMAGES")[0].context


def test_pipeline_plan_heading_on_its_own_line_covers_its_section(extract):
    text = "PLAN:\nRepeat injection in 3 months.\nRepresentative images saved to PACS."
    assert "hypothetical" in extract(text, "PERMANENT_IMAGES")[0].context


def test_pipeline_offsets_point_into_the_original_text(checker):
    text = "PROCEDURE:  Left shoulder injection.\n\nImages   were archived in PACS."
    doc = checker.language(text)
    for finding in findings_from_doc(doc, 0, checker.knowledge):
        assert text[finding.start:finding.end] == finding.text


def test_pipeline_sentences_follow_layout(checker):
    text = "INDICATION:\nLeft knee pain\nPROCEDURE: The needle was advanced\ninto the joint. Dr. Smith was present."
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert "Left knee pain" in sentences
    assert "PROCEDURE: The needle was advanced\ninto the joint." in sentences
    assert "Dr. Smith was present." in sentences


def test_pipeline_sections_of_our_own(checker):
    doc = checker.language("INDICATION: pain\nIMPRESSION: effusion\n")
    assert [s.category for s in doc._.sections if s.category] == ["indication", "impression"]


def test_pipeline_negation_stops_at_a_comma(extract):
    # medspaCy's scope overlap test misses sentence-wide terminators; ours are narrow.
    found = extract("The hip is deep and not palpable, and ultrasound could not show the joint.", "US_UNSUITABLE")
    assert statuses(found) == {"asserted"}


def test_pipeline_list_items_are_sentences_even_indented(checker):
    text = "Checklist:\n   [x] Images saved\n   [ ] Contrast used\n  - needle visualized"
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert sentences == ["Checklist:", "[x] Images saved", "[ ] Contrast used", "- needle visualized"]


def test_pipeline_inline_heading_after_punctuation_starts_a_sentence(checker):
    text = "Sterile technique was used throughout the procedure,COMPLICATIONS: None."
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert sentences[-1] == "COMPLICATIONS: None."


def test_pipeline_bracketed_capitals_are_no_inline_heading(checker):
    text = "DIAGNOSTIC US R KNEE (PERFORMED TODAY): MODERATE SUPRAPATELLAR EFFUSION"
    assert len(list(checker.language(text).sents)) == 1


def test_pipeline_credential_closing_a_parenthesis_is_no_inline_heading(checker):
    text = "Mini C-arm (run by me, DPM) to find the retained fragment: 11 mm metallic fragment."
    assert len(list(checker.language(text).sents)) == 1


def test_pipeline_spoken_sentence_end_at_a_line_end_splits_a_dictation(checker):
    text = ("I thought the fluid might be a bit deep to feel reliably in her so I used the ultra sound period\n"
            "images stored colon no period\n"
            "the patient was prepped and draped in the usual sterile fashion period\n")
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert sentences[1] == "images stored colon no period"


def test_pipeline_spoken_sentence_end_splits_a_dictation(checker):
    text = "no images were saved period the needle tip was seen in the joint new paragraph fluoro time 41 seconds"
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert sentences == ["no images were saved period", "the needle tip was seen in the joint new paragraph",
                         "fluoro time 41 seconds"]


def test_pipeline_spoken_colon_reads_as_a_heading_and_keeps_offsets(extract):
    text = "reason colon locate the broken needle fragment in the heel period"
    (found,) = extract(text, "INDICATION")
    assert found.status == "asserted" and text[found.start:found.end] == found.text


def test_pipeline_misheard_word_is_read_as_meant_and_keeps_offsets(extract):
    text = "I ran the see arm myself the whole time"
    found = extract(text, "PHYSICIAN_PRESENT")
    assert found and all(f.status == "asserted" and text[f.start:f.end] == f.text for f in found)


@pytest.mark.parametrize("text,label", [("imgs \u2713 PACS", "PERMANENT_IMAGES"), ("GT/ASIS not palp", "PALPATION_NOT_POSSIBLE"),
                                        ("sep US rpt dictated", "SEPARATE_REPORT"), ("flora time 41 seconds", "FLUORO_DOSE")])
def test_pipeline_shorthand_and_misheard_words_are_read_as_meant(extract, text, label):
    found = extract(text, label)
    assert found and all(f.status == "asserted" and text[f.start:f.end] == f.text for f in found)


@pytest.mark.parametrize("text", ["collapsed.<br>\nKNEE US REPORT<br>\nFindings: 4 cm popliteal cyst.",
                                  "</p>\n<p><b>KNEE US REPORT</b></p>\n<p>Findings: 4 cm popliteal cyst.</p>",
                                  "\\par\n\\b KNEE US REPORT\\b0\\par\nFindings: 4 cm popliteal cyst."])
def test_pipeline_export_damage_does_not_hide_a_report_heading(extract, text):
    found = [f for f in extract(text, "SEPARATE_REPORT") if "REPORT" in f.text]
    assert found and statuses(found) == {"asserted"}


def test_pipeline_text_copied_forward_from_an_earlier_visit_is_historical(extract):
    text = 'HISTORY (copied forward from the 03/11/2021 orthopaedic visit): "R knee massively swollen and tense."'
    found = extract(text, "KNEE_PRESENTATION")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_meant_text_maps_back_to_the_original_offsets():
    meant = read_as_meant("flora time 41 s; imgs -> pack s", ((re.compile(r"\bflora\b"), "fluoro"),
                                                             (re.compile(r"\bimgs\b"), "images"),
                                                             (re.compile(r"\bpack s\b"), "PACS")))
    assert meant.text == "fluoro time 41 s; images -> PACS"
    start = meant.text.index("images")
    assert (meant.original(start), meant.original(start + len("images"))) == (17, 21)
    assert meant.original(len(meant.text)) == len("flora time 41 s; imgs -> pack s")
    assert meant.meant(17) == start


def test_pipeline_dictated_correction_takes_back_what_came_before(extract):
    found = extract("no images were saved scratch that images were saved to PACS", "PERMANENT_IMAGES")
    assert {f.context for f in found} == {("negated", "withdrawn"), ()}


def test_pipeline_hard_wrapped_line_goes_on_into_a_number(checker):
    text = ("On this morning's ultrasound the femoral head-neck junction sat about\n"
            "10 cm deep and never came into focus, so sonographic guidance was not workable.\n"
            "Fluoro time 0.3 min\n2 images saved")
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert sentences[0].endswith("not workable.") and sentences[1:] == ["Fluoro time 0.3 min", "2 images saved"]


def test_pipeline_terse_lines_are_sentences_even_in_lowercase(checker):
    text = ("HAND CLINIC\nglass cut L palm 2d ago @ work, ?retained shard\n"
            "no XR today (outside films neg per pt, not brought)\nmini C-arm, run by me, to look for radiopaque FB in thenar wound\n")
    sentences = [s.text.strip() for s in checker.language(text).sents]
    assert "no XR today (outside films neg per pt, not brought)" in sentences


def test_pipeline_period_as_a_word_is_no_sentence_end(checker):
    text = "After a period of rest the pain improved and the post op period was uneventful."
    assert len(list(checker.language(text).sents)) == 1


def test_pipeline_one_phrase_two_labels_keep_their_own_rules(checker):
    doc = checker.language("Ultrasound shows a hypoechoic collection.")
    rules = {(s.label_, s.kb_id_) for s in doc.spans["medspacy_spans"] if s.text == "hypoechoic"}
    assert rules == {("INTERPRETATION", "echo-finding"), ("REGION_EVALUATED", "echo-description")}


def test_pipeline_copied_forward_block_is_historical_across_its_headings(extract):
    text = ("Repeat injection today.\n---- copied from 08/14/2023 visit ----\nExam: tense effusion, landmarks not palpable.\n"
            "---- end copied text ----\nToday: knee unremarkable.")
    found = extract(text, "PALPATION_NOT_POSSIBLE")
    assert found and all(f.status == "discounted" and "copied_forward" in f.context for f in found)


def test_pipeline_block_between_bracketed_copy_lines_is_copied_forward(extract):
    text = ("[Copied from 01/12/2021 procedure note]\nKnee joint lines cannot be palpated.\n[End copied text]\n"
            "Today: joint lines cannot be palpated through the effusion.")
    found = extract(text, "PALPATION_NOT_POSSIBLE")
    assert sorted(f.status for f in found) == ["asserted", "discounted"]


def test_pipeline_text_after_a_copied_block_is_current(extract):
    text = "---- copied from prior note ----\nOld text.\n---- end copied text ----\nImages saved to PACS."
    assert statuses(extract(text, "PERMANENT_IMAGES")) == {"asserted"}


def test_pipeline_bracket_quoting_an_earlier_note_mid_line_is_copied_forward(extract):
    text = 'Interval: L knee OA. [Copied from 09/15/2020 visit: "L knee tense, landmarks obscured, dry tap."]'
    found = extract(text, "PALPATION_NOT_POSSIBLE")
    assert found and all(f.status == "discounted" and "copied_forward" in f.context for f in found)


def test_pipeline_quotation_a_copy_label_opens_is_copied_forward_to_its_close(extract):
    text = 'Copied forward from 03/23/2021 visit: "Both knees tensely swollen; joint lines not palpable." Today: no effusion.'
    found = extract(text, "PALPATION_NOT_POSSIBLE")
    assert found and all(f.status == "discounted" and "copied_forward" in f.context for f in found)


def test_pipeline_statement_quoted_and_declared_wrong_is_withdrawn_where_it_was_said(extract):
    text = ('Images stored to PACS. No complications.\n'
            'ADDENDUM: The statement "Images stored to PACS" above is therefore incorrect.')
    found = extract(text, "PERMANENT_IMAGES")
    assert {f.start for f in found} & {0} and all(f.status == "discounted" and "withdrawn" in f.context for f in found)


def test_pipeline_statement_quoted_without_a_verdict_stands(extract):
    text = 'Images stored to PACS.\nThe billing office asked about "Images stored to PACS" above.'
    assert "asserted" in statuses(extract(text, "PERMANENT_IMAGES"))


@pytest.mark.parametrize("line,expected", [
    ("Images saved to PACS: ( ) Yes  (\u2022) No", "discounted"),
    ("Images saved to PACS: (\u2022) Yes  ( ) No", "asserted"),
    ("Images saved to PACS:      Yes [X]   No [ ]", "asserted"),
])
def test_pipeline_yes_no_field_reads_the_selected_answer(extract, line, expected):
    assert statuses(extract(line, "PERMANENT_IMAGES")) == {expected}


def test_pipeline_general_statement_of_a_leaflet_is_not_this_patient(extract):
    text = "Imaging is sometimes used to guide the needle when the joint is hard to find."
    found = extract(text, "PALPATION_NOT_POSSIBLE")
    assert found and statuses(found) == {"discounted"} and "general" in found[0].context


def test_pipeline_imaging_put_off_to_a_later_visit_is_not_today(extract):
    found = [f for f in extract("No radiographs today; formal XR at the 1-week visit.", "OTHER_IMAGING") if f.text == "XR"]
    assert found and found[0].status == "discounted" and "later_visit" in found[0].context


def test_pipeline_visit_named_by_month_is_historical(extract):
    assert statuses(extract("At his March visit the knee was tense with a large effusion.", "KNEE_PRESENTATION")) == {"discounted"}


def test_pipeline_history_written_as_h_o_is_historical(extract):
    found = extract("h/o tense effusion + jt lines obscured", "PALPATION_NOT_POSSIBLE")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_sentence_opening_with_its_time_is_historical(extract):
    assert statuses(extract("Six weeks ago the knee was hugely swollen.", "KNEE_PRESENTATION")) == {"discounted"}


def test_pipeline_time_of_an_earlier_visit_crosses_a_comma(extract):
    found = extract("Six weeks ago the knee was hot, massively swollen and tense.", "KNEE_PRESENTATION")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_earlier_visit_named_by_its_date_crosses_and(extract):
    found = extract("At clinic on 17/12/2019 the L knee was hot, tense and grossly swollen.", "KNEE_PRESENTATION")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_and_still_ends_a_negation(extract):
    found = extract("No contrast was used and the needle tip was seen in the joint.", "NEEDLE_LOCATION")
    assert found and statuses(found) == {"asserted"}


def test_pipeline_today_still_ends_an_earlier_time(extract):
    found = extract("Seen 3 wks ago, today the knee is massively swollen.", "KNEE_PRESENTATION")
    assert statuses(found) == {"asserted"}


def test_pipeline_visit_named_by_its_date_is_historical(extract):
    found = extract("At his visit on 05/17/2016 he had a large, tense knee effusion.", "KNEE_PRESENTATION")
    assert found and statuses(found) == {"discounted"}


@pytest.mark.parametrize("text", ["Tip at the gluteus medius insertion, avoiding the trochanteric bursa; 1 mL injected.",
                                  "Needle advanced onto the enthesis, away from the bursa, and 2 mL injected."])
def test_pipeline_site_the_needle_avoids_is_not_its_site(extract, text):
    found = extract(text, "JOINT_PROCEDURE")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_differential_leaves_the_site_uncertain(extract):
    found = extract("Right groin collection, seroma versus distended iliopsoas bursa; aspirated to dryness.", "JOINT_PROCEDURE")
    assert found and statuses(found) == {"uncertain"}


def test_pipeline_could_not_tell_whether_is_doubt_not_denial(extract):
    text = "I could not tell whether the needle was still in the cyst or in the knee joint when 2 mL was injected."
    found = extract(text, "KNEE_PROCEDURE")
    assert found and statuses(found) == {"uncertain"}


def test_pipeline_staff_radiologist_is_the_physician(extract):
    text = "Fluoroscopy was performed personally by the undersigned staff radiologist, who was in the room."
    found = extract(text, "PHYSICIAN_PRESENT")
    assert found and statuses(found) == {"asserted"}


def test_pipeline_nurse_practitioner_named_as_performer_is_no_other_person(extract):
    found = extract("Procedure performed by: Aoife Brennan, Advanced Nurse Practitioner", "PERFORMER_NPP")
    assert found and statuses(found) == {"asserted"}


def test_pipeline_reason_frame_takes_the_hedge_of_its_sentence(extract):
    text = "From this semi-recumbent position the effusion may be hard to localise, so I brought the portable ultrasound."
    found = [f for f in extract(text, "IMAGING_REASON") if f.rule == "so-under-imaging"]
    assert found and statuses(found) == {"uncertain"}


def test_pipeline_what_a_blind_pass_would_likely_hit_is_a_reason(extract):
    text = "Reason for US: a persistent median artery runs between the fascicles; a blind injection would likely hit it."
    found = [f for f in extract(text, "IMAGING_REASON") if f.rule == "reason-field"]
    assert found and statuses(found) == {"asserted"}


@pytest.mark.parametrize("text", ["No radiographs today; outside elbow radiographs were available for comparison.",
                                  "Radiographs: the series dated 01/02/2024 was reviewed today."])
def test_pipeline_earlier_or_outside_study_is_not_todays(extract, text):
    found = extract(text, "OTHER_IMAGING")
    assert found and statuses(found) == {"discounted"}


def test_pipeline_procedure_done_by_landmarks_is_not_the_guided_one(extract):
    found = extract("Trigger point injections, right upper trapezius x2, by palpation of taut bands.", "TRIGGER_POINT")
    assert found and statuses(found) == {"discounted"} and all("unguided" in f.context for f in found)


def test_pipeline_imaging_from_yesterday_is_not_todays(extract):
    assert statuses(extract("XR from ED yesterday, reviewed today.", "OTHER_IMAGING")) == {"discounted"}


@pytest.mark.parametrize("text", ["Technique: No new radiographs were obtained today.", "- No x-rays taken today."])
def test_pipeline_no_after_a_colon_or_dash_negates_what_follows(extract, text):
    assert statuses(extract(text, "OTHER_IMAGING")) == {"discounted"}


@pytest.mark.parametrize("text", ["Images saved: No", "Images stored: none - unit left in demo mode."])
def test_pipeline_field_answered_no_negates_its_label(extract, text):
    assert statuses(extract(text, "PERMANENT_IMAGES")) == {"discounted"}


@pytest.mark.parametrize("text", ["Images saved: ___", "Images saved: ***", "Images saved: {BLANK}"])
def test_pipeline_field_left_unfilled_is_not_evidence(extract, text):
    assert "asserted" not in statuses(extract(text, "PERMANENT_IMAGES"))


def test_pipeline_trochanteric_facet_is_not_the_spine(extract):
    assert extract("Needle advanced to the lateral facet of the greater trochanter.", "SPINE_PROCEDURE") == []


@pytest.mark.parametrize("text", ["Right L4-5 lumbar facet injection under fluoroscopy.",
                                  "Sacrococcygeal joint injection under fluoroscopy.",
                                  "Ganglion impar block under fluoroscopic guidance."])
def test_pipeline_spinal_and_paraspinous_targets_are_the_spine(extract, text):
    assert statuses(extract(text, "SPINE_PROCEDURE")) == {"asserted"}


@pytest.mark.parametrize("text", [
    "Reason for US guidance: the nerve crosses the compartment and a blind injection misses the subsheath.",
    "Why ultrasound guidance was needed: the sheath sits deep to a thick deltoid.",
])
def test_pipeline_labelled_reason_field(extract, text):
    assert statuses(extract(text, "IMAGING_REASON")) == {"asserted"}


def test_pipeline_boilerplate_reason_field_is_not_a_reason(extract):
    assert extract("Reason for image guidance: to ensure accurate needle placement", "IMAGING_REASON") == []


@pytest.mark.parametrize("text", [
    "ULTRASOUND NOT USED - PLATE AND SCREWS CAUSE ARTIFACT THAT OBSCURES THE JOINT ON US.",
    "Ultrasound was considered but heterotopic ossification casts acoustic shadowing over the joint.",
    "The lesion is intraosseous and therefore not accessible to ultrasound.",
    "Our ultrasound machine was at the satellite clinic today so it was not available.",
])
def test_pipeline_ultrasound_unsuitable_phrasings(extract, text):
    assert statuses(extract(text, "US_UNSUITABLE")) == {"asserted"}


def test_pipeline_radiograph_views_today_are_other_imaging(extract):
    text = "AP pelvis and frog-leg lateral views of the right hip obtained in clinic today."
    assert statuses(extract(text, "OTHER_IMAGING")) == {"asserted"}


def test_pipeline_fluoroscopic_views_are_not_other_imaging(extract):
    assert extract("AP and lateral fluoroscopic views were obtained to confirm the needle.", "OTHER_IMAGING") == []


def test_pipeline_physician_called_away(extract):
    text = "Dr. Ilves was called out to an urgent consult before the exam started."
    assert statuses(extract(text, "PHYSICIAN_ABSENT")) == {"asserted"}


def test_pipeline_landmarks_palpable_field_no(extract):
    assert statuses(extract("Landmarks palpable: No", "PALPATION_NOT_POSSIBLE")) == {"asserted"}


def test_pipeline_bracketed_copied_heading_is_copied_forward(extract):
    text = ('HISTORY (copied from 2020-02-11 clinic note): "Large tense effusion right knee, unable to fully extend."\n'
            "TODAY: no effusion, full extension.")
    found = extract(text, "KNEE_PRESENTATION")
    assert found and all(f.status == "discounted" for f in found)


def test_pipeline_soap_heading_ends_a_prior_imaging_section(extract):
    text = ("S: retained metal fragment in the forearm.\nPrior imaging: CT 2016 showed a 7 mm fragment.\n"
            "O: Tinel positive.\nDynamic fluoro: I ran the mini C-arm myself while he made a fist.")
    found = extract(text, "PHYSICIAN_PRESENT")
    assert found and all(f.status == "asserted" for f in found)


def test_model_skips_a_field_name_standing_alone(checker):
    """'Landmarks palpable:' with its '[x] yes' split off says nothing on its own."""
    from nlp.model import RULE_NAME
    doc = checker.language("Landmarks palpable:\n[x] yes  [ ] no\nUltrasound not appropriate.")
    assert not [s for s in doc.spans["medspacy_spans"] if s.kb_id_ == RULE_NAME and s.text.rstrip().endswith(":")]


def test_pipeline_not_possible_is_no_hedge(extract):
    """'not possible' says something could not be done; only a bare 'possible' hedges."""
    found = extract("Palpation of the joint line was not possible through the pannus.", "PALPATION_NOT_POSSIBLE")
    assert found and all(f.status == "asserted" for f in found)
    hedged = extract("Possible effusion; the joint line could not be palpated.", "PALPATION_NOT_POSSIBLE")
    assert hedged and all(f.status == "asserted" for f in hedged)


def test_pipeline_counterfactual_would_not_show_is_asserted(extract):
    text = "Ultrasound would not show the capsule at this depth, so fluoroscopy was used."
    assert statuses(extract(text, "US_UNSUITABLE")) == {"asserted"}


def test_pipeline_might_not_show_stays_hedged(extract):
    assert statuses(extract("Ultrasound might not show the joint well given her size.", "US_UNSUITABLE")) == {"uncertain"}


def test_pipeline_no_further_negates(extract):
    assert statuses(extract("No further radiographs were taken today.", "OTHER_IMAGING")) == {"discounted"}


def test_pipeline_letter_aside_to_the_reader_is_not_a_plan(extract):
    text = "As you will remember the landmarks could not be palpated through the swelling."
    assert statuses(extract(text, "PALPATION_NOT_POSSIBLE")) == {"asserted"}


def test_pipeline_needle_not_clearly_seen_is_hedged_localization(extract):
    found = extract("The needle tip was not clearly seen on the screen, but fluid returned freely.", "LOCALIZATION")
    assert statuses(found) == {"uncertain"}


def test_pipeline_needle_not_seen_is_no_localization(extract):
    assert "asserted" not in statuses(extract("The needle tip was not seen.", "LOCALIZATION"))
