"""guidecheck: checks encounter records for the documentation that image-guided needle
placement (CPT 76942, 77002) and stand-alone fluoroscopy (76000) require.

The import package is called ``nlp`` (the design card's layout); never shadow it with the
customary ``nlp = spacy.load(...)``: this code calls its spaCy pipeline ``language``.
"""

from pathlib import Path

__version__ = "1.0.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PIPELINES_DIR = PROJECT_ROOT / "pipelines"
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
