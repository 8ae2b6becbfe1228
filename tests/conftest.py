import pytest

from nlp.checker import Checker


@pytest.fixture(scope="session")
def checker() -> Checker:
    return Checker()
