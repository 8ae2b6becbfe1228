"""Building the medspaCy pipeline from ``pipelines/``.

Order matters: sentences first (ConText raises E030 without them), sections next, then the
evidence matcher writes target-rule spans to a span group (not ``doc.ents``: one phrase may be
evidence of two things, "knee aspiration" is both a knee and a joint procedure), and ConText
marks them.

medspaCy components keep their rules as added objects, so the pipeline is rebuilt from the
data at run time, never pickled; ``nlp.pipe(n_process=2)`` fails here (E871) for that reason.
"""

from __future__ import annotations

from pathlib import Path

import spacy
from medspacy.custom_tokenizer import create_medspacy_tokenizer
from spacy.language import Language

import medspacy  # noqa: F401  (registers medSpaCy's factories)

from . import components  # noqa: F401  (registers guidecheck's factories)
from .components import SPAN_GROUP
from .knowledge import Knowledge
from .model import ARTIFACT


def build_language(knowledge: Knowledge, models_dir: Path | None = None) -> Language:
    """Rules only, unless ``models_dir`` holds a trained evidence model: its sentence spans join
    the rules' before ConText, so context judges both alike."""
    language = spacy.blank("en")
    language.tokenizer = create_medspacy_tokenizer(language)
    language.add_pipe("guidecheck_sentences", config={"pipelines_dir": str(knowledge.directory)})
    sectionizer = language.add_pipe(
        "medspacy_sectionizer",
        config={"rules": None, "require_start_line": True, "span_attrs": None,
                "input_span_type": "group", "span_group_name": SPAN_GROUP},
    )
    sectionizer.add(list(knowledge.section_rules))
    language.add_pipe("guidecheck_evidence", config={"pipelines_dir": str(knowledge.directory)})
    if models_dir is not None and (Path(models_dir) / ARTIFACT).exists():
        language.add_pipe("guidecheck_evidence_model",
                          config={"models_dir": str(models_dir), "pipelines_dir": str(knowledge.directory)})
    context = language.add_pipe(
        "medspacy_context",
        config={"rules": None, "span_attrs": None, "input_span_type": "group", "span_group_name": SPAN_GROUP},
    )
    context.add(list(knowledge.context_rules))
    return language
