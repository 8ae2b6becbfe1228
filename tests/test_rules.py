"""Every target rule's own examples, in the spirit of semgrep rules that ship with code that must
and must not match.

Each rule in ``pipelines/targets/*.json`` carries ``metadata.examples``: ``match`` sentences the
rule should turn into *asserted* evidence of its label, and ``no_match`` near-misses (negated,
hypothetical, someone else, or another meaning) that must not give asserted evidence of that
label. The sentences run through the real pipeline, ConText included. A match is judged on the
label, not the rule: another rule of the same label may catch it.

``KNOWN_MISSES`` lists the realistic examples the rules get wrong today. Each is a strict xfail
whose reason names what the rule misses or wrongly catches, so fixing a rule makes its case
XPASS and fail until the entry is removed. Do not weaken an example to make it pass.
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from nlp import PIPELINES_DIR
from nlp.findings import ASSERTED, findings_from_doc
from nlp.knowledge import load_knowledge
from nlp.pipeline import build_language

TARGETS = sorted((PIPELINES_DIR / "targets").glob("*.json"))


def _rules() -> list[dict]:
    return [rule for path in TARGETS for rule in json.loads(path.read_text(encoding="utf-8"))["target_rules"]]


def _cases() -> list:
    cases = []
    for rule in _rules():
        examples = (rule.get("metadata") or {}).get("examples") or {}
        for kind in ("match", "no_match"):
            for index, text in enumerate(examples.get(kind, [])):
                key = (rule["literal"], text)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[key])] if key in KNOWN_MISSES else []
                cases.append(pytest.param(rule["literal"], rule["category"], kind, text,
                                          id=f"{rule['literal']}-{kind}-{index}", marks=marks))
    return cases


# (rule, example) -> what the rule misses (a match example) or wrongly catches (a no_match one).
# Where the cause lies outside the rule's pattern (ConText, a label's flag_effects, another rule
# of the same label), the reason says so.
KNOWN_MISSES: dict[tuple[str, str], str] = {
    # modality.json
    ("under-us", "Patient declined injection under ultrasound and preferred a landmark approach."):
        "context.json: 'declined' survives only as the BACKWARD 'absent backward' modifier, so 'declined <target>' is not negated",
    ("with-us-visualization", "The shoulder was examined with ultrasound, and no injection was given today."):
        "sentence_requires accepts any needle word in the sentence, even a negated one; a diagnostic scan 'with ultrasound' counts as guidance",
    ("needle-then-fluoro", "Needle placement under fluoroscopy will be scheduled with radiology."):
        "a plan stated after the phrase ('... will be scheduled') is not seen: ConText keeps the forward 'will be' and drops the backward 'be scheduled'",
    ("central-venous", "Central venous pressure was 8 mmHg on the monitor."):
        "'central venous' alone matches, so central venous pressure counts as central venous access",
    # performer.json
    ("npp-performer", "Referred by her primary care NP for a knee injection."):
        "'by' + up to 60 characters + NP catches a referring NP ('referred by her primary care NP')",
    ("npp-signature", "Signed,\nDerek M. Hall PA-C"):
        "a middle initial ('Derek M. Hall') breaks the name pattern ([A-Z][a-z]+ needs a lowercase letter after the capital)",
    ("physician-performer", "Dictated by J. Whitman, M.D. on 03/04."):
        "{gap:60} stops at any period, so an initial ('J.') or 'Dr.' between 'by' and the credential hides it",
    ("physician-performer", "Patient was referred by her rheumatologist, Anita Shah MD, for aspiration."):
        "'by' + up to 60 characters + MD catches a referring physician",
    ("physician-dash-signature", "Results faxed to referring physician -- Paul Singh, MD, Family Medicine."):
        "any '-- Name, MD' counts as a signature, also a recipient named after a dash",
    ("npp-dash-signature", "Note routed to PCP -- Tina Ruiz, NP."):
        "any '-- Name, NP' counts as a signature, also a recipient named after a dash",
    # procedure_site.json
    ("needle-procedure", "Patient declined the injection today."):
        "context.json: 'declined' survives only as the BACKWARD 'absent backward' modifier, so 'declined the injection' is not negated",
    ("needle-procedure", "A broken sewing needle is lodged in the plantar heel after she stepped on it."):
        "any 'needle' counts, also a foreign-body needle that is not a needle placement",
    ("knee-procedure", "Right shoulder injected today; her knee pain is unchanged."):
        "sentence_requires is judged on the whole sentence (a semicolon does not split it), so a knee mentioned beside another site's injection counts",
    ("foot-procedure", "The patient was supine with the foot in neutral and the ankle joint was injected anteromedially."):
        "any foot word in a sentence with an injection counts, also the foot's position during an ankle injection",
    ("spine-procedure", "Lumbar spine films show multilevel degenerative disc disease."):
        "no procedure is required: any spine term (imaging of the lumbar spine) counts as a spinal needle placement",
    ("trigger-point", "Patient declined trigger point injections today."):
        "context.json: 'declined' survives only as the BACKWARD 'absent backward' modifier, so 'declined trigger point injections' is not negated",
    ("easily-palpable", "A firm mass adjacent to the knee joint was easily palpable and was biopsied."):
        "sentence_excludes only sees a mass within 20 characters of 'easily'; a palpable mass near a named joint counts as a palpable joint",
    # documentation.json: separate report, permanent images
    ("report-heading", "Ultrasound report will be dictated by radiology tomorrow."):
        "any line that starts with 'Ultrasound report' counts as a heading, also a sentence saying the report is still to come",
    ("separately-reported", "Medications were reconciled and documented separately in the MAR."):
        "'documented separately' needs no imaging word: any separately documented item counts as a separate imaging report",
    ("report-dictated-separately", "Operative report dictated separately."):
        "any 'report dictated separately' counts (an operative report); separately-reported also catches 'dictated separately'",
    ("images-archived-verb", "Fluoroscopy time and spot images were saved to the permanent record."):
        "sentence_excludes drops the whole sentence for 'time' (or dose, lot, consent), even when images are saved in it",
    ("images-archived-verb", "Images were reviewed but not saved."):
        "the target is the bare verb, which lies inside ConText's 'not saved' modifier; without 'were not' the negation is lost",
    ("images-archived-verb", "Documentation of the procedure was sent to the referring physician."):
        "sentence_requires accepts 'documentation', so any documentation 'sent' counts as images permanently recorded",
    ("images-to-pacs", "Outside films were reviewed in PACS."):
        "any 'in PACS' counts, also reviewing outside studies in PACS",
    # imaging reason
    ("habitus", "Slender habitus; the joint was easily palpable and injected by landmarks."):
        "any 'habitus' counts as a reason, also a slender one",
    ("deep-target", "The deep peroneal nerve was identified and avoided under ultrasound."):
        "'deep' in an anatomical name (deep peroneal nerve) counts as a deep target",
    ("anatomy", "Patient reports difficult access to transportation for follow-up visits."):
        "'difficult access' needs no anatomical or needle context (access to transportation)",
    ("small-target", "The AC joint space is markedly narrowed, making a blind injection difficult."):
        "only adjective-before-noun ('narrow joint space'); 'joint space is markedly narrowed' is missed",
    ("small-target", "Small joint injection of the right index PIP performed by palpation."):
        "'small joint' as the procedure's class (small joint injection) counts as a small target",
    ("guidance-necessary-because", "Ultrasound guidance was used because the patient requested it."):
        "any 'used because' counts, also the patient's request, which the annotation guide says is no reason",
    ("so-under-imaging", "The patient prefers guided injections, so we injected under ultrasound."):
        "any 'so ... under ultrasound' counts, also patient preference",
    ("because-then-imaging", "As discussed with the patient, the injection was performed under ultrasound."):
        "'as' opens a reason clause, so boilerplate 'As discussed with the patient, ... under ultrasound' counts",
    ("connector-then-guidance", "Patient asked for the most accurate option, so ultrasound-guided injection."):
        "any 'so ultrasound-guided' counts, whatever precedes it (a patient request)",
    ("reason-field", "Reason for ultrasound guidance: improved accuracy."):
        "the boilerplate filter knows 'to improve ...' but not 'improved accuracy'",
    ("failed-attempt", "An unguided injection attempt earlier today was unsuccessful."):
        "only 'failed/unsuccessful' before the attempt; 'attempt ... was unsuccessful' is missed",
    ("failed-attempt", "Failed physical therapy, so injection offered today."):
        "'failed' + 30 characters + 'injection' catches failed conservative treatment",
    # ultrasound unsuitable
    ("us-cannot", "Ultrasound did not show any effusion."):
        "'did not show' counts, so a negative finding reads as ultrasound being unable to image",
    ("us-not-adj", "Diagnostic ultrasound not indicated today; the guidance scan was adequate."):
        "'ultrasound not indicated' counts even when it is the diagnostic study that is not indicated",
    ("us-not-used-because", "Ultrasound was not used because the joint was easily palpable."):
        "any reason after 'not used because' counts, also one that says ultrasound was merely unnecessary",
    ("us-machine-unavailable", "Ultrasound in use throughout the procedure to track the needle."):
        "'in use' counts as the unit being busy elsewhere, also ultrasound in use for this procedure",
    ("not-seen-sonographically", "A tear could not be identified on ultrasound; the tendon appears intact."):
        "a negative finding ('tear could not be identified on ultrasound') counts as the target being invisible",
    ("us-tried-failed", "Ultrasound was tried first and the bursa aspirated easily, fluid not purulent."):
        "any 'not' within 140 characters of 'ultrasound was tried' counts, also one about the fluid",
    ("us-considered-but", "Ultrasound was considered but was not necessary since the landmarks were clear."):
        "any 'considered but' counts, also 'but was not necessary'",
    ("us-not-used-reason", "Ultrasound not used: N/A"):
        "any word after 'not used:' counts, also 'N/A'",
    ("artifact-on-us", "Posterior acoustic shadowing consistent with a calcific deposit was noted on ultrasound."):
        "acoustic shadowing as a finding (a calcific deposit) counts as an artifact that defeats ultrasound",
    ("us-machine-away", "The ultrasound unit that was broken last month has been repaired."):
        "a unit broken in the past counts; the label's 'historical': 'none' keeps it, and the rule does not see 'has been repaired'",
    ("poor-us-window", "A limited ultrasound exam of the shoulder was performed."):
        "precludes-us catches 'limited ultrasound' (limit\\w*), reading a limited-scope exam as a limitation",
    ("us-unsuitable-adj", "The ultrasound was limited to the anterior shoulder."):
        "'ultrasound was limited' counts, also when 'limited to' describes the scope of the exam",
    ("precludes-us", "A sterile cover was applied to prevent ultrasound gel contamination of the field."):
        "'prevent ultrasound' counts with no sense of what is prevented (gel contamination)",
    ("unsuitable-for-us", "The tear was not visible on ultrasound, and the tendon appeared intact."):
        "a negative finding ('tear was not visible on ultrasound') counts as the target being invisible",
    # palpation not possible
    ("cannot-palpate", "Patient is unable to appreciate light touch over the lateral joint line after the block."):
        "'unable to appreciate' counts with a joint word anywhere in the sentence, also a sensory exam",
    ("cannot-be-palpated", "A pulse could not be felt in the dorsalis pedis."):
        "any 'could not be felt' counts, also an absent pulse",
    ("not-reliably-felt", "Patient reports she has not felt well since the fall."):
        "any 'not felt' counts, also 'has not felt well'",
    ("nonpalpable", "Spleen nonpalpable on abdominal exam."):
        "any 'nonpalpable' counts, also an abdominal exam finding",
    # knee presentation
    ("knee-swelling", "Large left knee effusion today."):
        "only side words allowed between adjective and noun are joint/soft tissue/...; 'large left knee effusion' is missed",
    ("knee-swelling", "Large effusion of the right shoulder today."):
        "sentence_requires accepts 'today' without 'knee', so another joint's effusion counts as the knee's",
    ("knee-swollen", "2+ pitting edema of both ankles noted on exam."):
        "sentence_requires accepts 'on exam' without 'knee', so ankle edema counts",
    ("knee-deformity", "Dupuytren contracture of the right hand noted on exam."):
        "any 'contracture' with 'on exam' counts, also the hand's",
    ("knee-failed-today", "Failed knee aspiration at urgent care today."):
        "only 'failed aspiration' with nothing between; 'failed knee aspiration' is missed",
    # localization
    ("needle-visualized", "Needle count confirmed correct at the end of the procedure."):
        "'confirmed' counts as visualized, so a needle count counts as localization",
    ("visualized-needle", "Poor visualization of the needle due to the steep angle."):
        "a qualifier before it (poor) is not seen: poor visualization counts as localization",
    ("tip-position", "She reports pain at the tip of the elbow in the morning."):
        "any 'tip ... in/at the' counts, not only a needle tip",
    ("plane-approach", "Short axis view of the median nerve was obtained for cross-sectional area measurement."):
        "a diagnostic 'short axis view' counts as a needle approach",
    ("localized", "A partial-thickness supraspinatus tear was identified on ultrasound."):
        "'identified on ultrasound' counts for any finding, not only the needle target",
    # interpretation, region evaluated
    ("us-findings", "Ultrasound findings will be reviewed at follow-up."):
        "the target is the noun; a plan after it ('will be reviewed') is out of ConText's forward scope",
    ("us-demonstrates", "Ultrasound did not show an effusion."):
        "{gap} forbids a negation between 'ultrasound' and 'show', so a negative finding is no interpretation",
    ("echo-finding", "No hypoechoic collection was identified around the tendon."):
        "a negated finding is discounted, though a negative result is still an interpretation",
    ("echo-finding", "An anechoic collection would be expected if this were a ganglion."):
        "a hypothetical after the term ('would ... if') is out of ConText's forward scope",
    ("impression-heading", "Impression: Right knee effusion, likely gout; aspiration today."):
        "a clinical impression naming an effusion counts as an imaging interpretation",
    ("us-evaluation", "Initial assessment in the ED showed a warm, swollen knee."):
        "'initial assessment' needs no imaging word: a clinical assessment counts",
    ("echo-description", "Doppler studies of the legs were ordered to rule out DVT."):
        "any 'Doppler' counts, also an ordered (future, separate) study",
    ("us-region-heading", "Ultrasound: N/A"):
        "any text after 'Ultrasound:' counts, also 'N/A'",
    ("on-ultrasound", "The patient was placed supine on the scan table."):
        "'on the scan' counts, also 'on the scan table'",
    ("findings-heading", "Findings: see separate report."):
        "no (?!see) as in impression-heading: 'Findings: see ...' counts as structures described",
    # needle location
    ("needle-in-structure", "It hurts mostly in the left hip joint at night."):
        "'it' counts as the needle, so any 'it ... in the hip joint' counts",
    ("needle-location-field", "Needle location: unable to confirm intra-articular joint placement."):
        "a field value that denies the location ('unable to confirm') counts, since a joint word follows",
    ("tip-contacted", "Unable to confirm that the tip reached the joint."):
        "'unable to confirm that' before the target is no ConText cue, and the rule takes any 'tip reached'",
    ("intra-articular-position", "Intra-articular placement could not be confirmed."):
        "the target is the noun phrase; 'could not be confirmed' after it is not seen",
    # contrast
    ("contrast-confirms", "Contrast spread along the tendon sheath rather than into the joint, so the needle was repositioned."):
        "'contrast spread' counts as confirmation, also spread outside the target",
    ("contrast-pattern", "If the needle is in the joint, contrast should show an intra-articular pattern."):
        "{gap} forbids negations but not hedges: 'should' inside the target is not applied",
    # physician present / absent
    ("physician-called-away", "The patient stepped out to use the restroom, and he returned before the procedure."):
        "sentence_requires accepts 'he', so anyone who 'stepped out' counts as the physician",
    ("personally-performed", "Dr. Reyes directly supervised the imaging from within the suite."):
        "ConText's OTHER_EXPERIENCER 'supervised' inside the target discounts the physician's own supervision",
    # indication
    ("determine-whether", "Called the insurer to check if the study was authorized."):
        "'check if' with 'study' anywhere counts, also an insurance check",
    ("to-determine", "A focused exam was done to assess the knee for instability."):
        "sentence_requires accepts 'exam', so a physical exam's purpose counts as the imaging indication",
    # dose
    ("dose-units", "Total dose of triamcinolone was 40 mg."):
        "'total dose' + a number counts, also a drug dose",
}


@pytest.fixture(scope="module")
def extract():
    knowledge = load_knowledge()
    language = build_language(knowledge)

    @cache
    def run(text: str):
        return tuple(findings_from_doc(language(text), 0, knowledge))
    return run


def describe(findings) -> str:
    return "; ".join(f"{f.rule}:{f.status}{list(f.context) or ''}:{f.text!r}" for f in findings) or "nothing"


@pytest.mark.parametrize(("rule", "label", "kind", "text"), _cases())
def test_rule_example(extract, rule, label, kind, text):
    found = [f for f in extract(text) if f.label == label]
    asserted = [f for f in found if f.status == ASSERTED]
    if kind == "match":
        assert asserted, f"{rule}: no asserted {label} in {text!r}; found {describe(found)}"
    else:
        assert not asserted, f"{rule}: {text!r} must not be asserted {label}; found {describe(asserted)}"


def test_every_rule_has_examples():
    """2-3 match and 1-2 no_match examples per rule."""
    wrong = []
    for rule in _rules():
        examples = (rule.get("metadata") or {}).get("examples") or {}
        if not (2 <= len(examples.get("match", [])) <= 3 and 1 <= len(examples.get("no_match", [])) <= 2):
            wrong.append(rule["literal"])
    assert wrong == []


def test_known_misses_name_existing_examples():
    """A stale entry (its example reworded or removed) would otherwise be silently ignored."""
    examples = {(rule["literal"], text)
                for rule in _rules()
                for texts in ((rule.get("metadata") or {}).get("examples") or {}).values()
                for text in texts}
    assert sorted(set(KNOWN_MISSES) - examples) == []
