"""Several zhen processes at once on overlapping inputs, into one output folder, sharing one
cache (the .argosmodel is unpacked by whichever gets there first) and one translation
memory: every process succeeds and every output is complete and valid."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import scratch_project
from zhen.readers.text import read_text_file
from zhen.tei.read import read_tei

from reliability.conftest import FAST, temp_files, write_corpus


def assert_complete(out, inputs):
    for source in inputs:
        doc = read_tei(out / f"{source.stem}.tei.xml")
        assert [p.zh for p in doc.paragraphs] == read_text_file(source)[0], source
        assert all(s.en for s in doc.sentences()), source


def test_two_processes_on_overlapping_inputs(zhen, tmp_path, tei_validator):
    inputs = write_corpus(tmp_path / "in", 48)
    out = tmp_path / "out"
    first = zhen.start(*zhen.translate_args(*inputs[:32], out=out))
    second = zhen.start(*zhen.translate_args(*inputs[16:], out=out))
    results = [p.communicate(timeout=300) + (p.returncode,) for p in (first, second)]
    for _, stderr, status in results:
        assert status == 0, stderr
        assert "Traceback" not in stderr
    outputs = sorted(out.glob("*.tei.xml"))
    assert [p.name for p in outputs] == [f"{p.stem}.tei.xml" for p in inputs]
    assert temp_files(out) == []
    assert_complete(out, inputs)
    tei_validator(*outputs)


def test_two_parallel_makes_in_one_project(zhen, tmp_path, tei_validator):
    """The Makefile's own batch job, `make -j4` twice at the same time in one scratch copy
    of the project: each runs one zhen process over every input, so both translate every
    file at once."""
    project = scratch_project(tmp_path / "project")
    inputs = write_corpus(project / "input", 8)
    venv = sys.prefix
    command = ["make", "-j4", f"VENV={venv}", f"MODEL={zhen.model}",
               f"ZHEN_FLAGS=--quiet {' '.join(FAST)}"]
    makes = [subprocess.Popen(command, cwd=project, env=zhen.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for make in makes:
        _, stderr = make.communicate(timeout=300)
        assert make.returncode == 0, stderr
    outputs = sorted((project / "output").glob("*.tei.xml"))
    assert len(outputs) == len(inputs)
    assert temp_files(project / "output") == []
    assert_complete(project / "output", inputs)
    tei_validator(*outputs)


def test_opening_the_memory_retries_when_sqlite_fails_a_lock_at_once(tmp_path, monkeypatch):
    """Two processes switching a new memory file to WAL at once can deadlock on its locks,
    and SQLite then fails one of them at once (seen in the test above as "database is
    locked" on opening): opening retries until its timeout, then says what to do."""
    import sqlite3

    from zhen.errors import OutputError
    from zhen.memory.sqlite import SqliteMemory

    real = SqliteMemory._connect
    failures = iter([sqlite3.OperationalError("database is locked")] * 3)

    def flaky(self, timeout):
        exc = next(failures, None)
        if exc is not None:
            raise exc
        return real(self, timeout)

    monkeypatch.setattr(SqliteMemory, "_connect", flaky)
    memory = SqliteMemory(tmp_path / "tm.sqlite3")
    assert memory.stats().entries == 0
    memory.close()

    def locked(self, timeout):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SqliteMemory, "_connect", locked)
    with pytest.raises(OutputError, match="tm.sqlite3: cannot open the translation memory"):
        SqliteMemory(tmp_path / "tm.sqlite3", timeout=0.2)
