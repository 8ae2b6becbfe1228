import json
from pathlib import Path

import pytest

from nlp.checker import Checker


@pytest.fixture(scope="session")
def checker() -> Checker:
    """The product: rules and, when models/ holds one, the evidence model."""
    return Checker()


@pytest.fixture(scope="session")
def rules_checker() -> Checker:
    """Rules alone, for tests of what the rules and ConText do."""
    return Checker(models_dir=None)


@pytest.fixture
def write(tmp_path):
    """write(name, content) -> path under tmp_path. A str or bytes is written as is; a list of
    records is JSON Lines for a .jsonl name and a JSON array otherwise; anything else is JSON."""
    def _write(name: str, content) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        elif isinstance(content, list) and name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(item) + "\n" for item in content), encoding="utf-8")
        else:
            path.write_text(json.dumps(content, indent=2), encoding="utf-8")
        return path
    return _write
