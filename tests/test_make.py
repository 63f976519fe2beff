"""The Makefile's batch job in a scratch copy of the project: incremental and safe with -j."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from pipeline.validate import validate_files


@pytest.fixture
def project(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile",):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "glossary", tmp_path / "glossary")
    (tmp_path / "input").mkdir()
    for src in sorted((REPO / "input").glob("*.txt")):
        shutil.copy(src, tmp_path / "input" / src.name)
    shutil.copy(REPO / "tests" / "data" / "unseen-article.txt", tmp_path / "input")
    (tmp_path / "output").mkdir()
    return tmp_path


def make(project: Path, model: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    venv = Path(sys.executable).parent.parent
    return subprocess.run(
        ["make", f"VENV={venv}", f"MODEL={model}", "ZHEN_FLAGS=--quiet", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )


def test_make_translates_incrementally_and_in_parallel(project, tiny_model, zhen_env):
    first = make(project, tiny_model, zhen_env, "-j2")
    assert first.returncode == 0, first.stderr
    outputs = sorted((project / "output").glob("*.tei.xml"))
    assert [p.name for p in outputs] == sorted(
        p.stem + ".tei.xml" for p in (project / "input").glob("*.txt"))
    assert validate_files(outputs, schema=False) == []
    assert not list((project / "output").glob(".*.tmp"))

    again = make(project, tiny_model, zhen_env)
    assert again.returncode == 0 and "zhen" not in again.stdout  # nothing rebuilt

    one = project / "input" / "unseen-article.txt"
    os.utime(one, None)
    rebuilt = make(project, tiny_model, zhen_env)
    assert rebuilt.stdout.count(" translate ") == 1 and "unseen-article" in rebuilt.stdout

    os.utime(project / "glossary" / "terms.tsv", None)
    everything = make(project, tiny_model, zhen_env, "-j2")
    assert everything.stdout.count(" translate ") == len(outputs)
