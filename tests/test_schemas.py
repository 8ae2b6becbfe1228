"""The schemas shipped in the package are the shared contract, byte for byte."""

from pathlib import Path

import pytest

from nlp import SCHEMAS_DIR

SHARED = Path("/work/shared/schema")


def shared_schemas() -> list[Path]:
    return sorted(SHARED.glob("*.json")) if SHARED.is_dir() else []


def test_schemas_same_files():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here")
    assert [p.name for p in sorted(SCHEMAS_DIR.glob("*.json"))] == [p.name for p in shared_schemas()]
    assert {"record.schema.json", "result.schema.json"} <= {p.name for p in shared_schemas()}


@pytest.mark.parametrize("name", ["record.schema.json", "result.schema.json"])
def test_schemas_identical_to_shared(name):
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not here")
    assert (SCHEMAS_DIR / name).read_bytes() == (SHARED / name).read_bytes()
