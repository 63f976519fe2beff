"""One bad file in a batch of many.  With --keep-going the others are translated, the bad one
is reported and the exit status is non-zero; without it the run stops at the bad file with
one clear line: the inputs before it are finished, none after it is touched."""

from __future__ import annotations

import pytest

from reliability.conftest import summary, temp_files, write_corpus

BAD = {  # how the bad file is made → what its error line says
    "binary": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
               "not a text file (binary data at byte 8); give a UTF-8 or GB18030 text file"),
    "empty": (lambda p: p.write_bytes(b"\xef\xbb\xbf \r\n\t\n"),
              "the file has only white space (no text to translate)"),
    "missing": (lambda p: p.unlink(), "no such file; check the path"),
    "folder": (lambda p: (p.unlink(), p.mkdir()),
               "is a folder with no input file in it; give .docx, .htm, .html, .markdown, "
               ".md, .txt files, or a folder that has some"),
}


@pytest.fixture(params=list(BAD))
def batch_with_a_bad_file(request, tmp_path):
    inputs = write_corpus(tmp_path / "in", 12)
    make_bad, message = BAD[request.param]
    bad = inputs[5]
    make_bad(bad)
    return inputs, bad, f"{bad}: {message}"


def test_keep_going_translates_the_others_and_exits_non_zero(zhen, tmp_path, tei_validator,
                                                             batch_with_a_bad_file):
    inputs, bad, message = batch_with_a_bad_file
    out = tmp_path / "out"
    res = zhen.translate(*inputs, out=out, extra=["--keep-going"])
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines[0] == f"zhen: ERROR: {message}"
    assert summary(res.stderr)["files"] == 11
    assert lines[-1] == "zhen: 1 of 12 file(s) failed"
    outputs = sorted(out.glob("*.tei.xml"))
    assert [p.stem for p in outputs] == [f"{p.stem}.tei" for p in inputs if p != bad]
    tei_validator(*outputs)


def test_without_keep_going_the_first_error_stops_the_run(zhen, tmp_path, tei_validator,
                                                          batch_with_a_bad_file):
    inputs, bad, message = batch_with_a_bad_file
    out = tmp_path / "out"
    out.mkdir()
    later = out / f"{inputs[8].stem}.tei.xml"  # an output of an earlier run, after the bad file
    later.write_bytes(b"<earlier/>")
    res = zhen.translate(*inputs, out=out)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"zhen: error: {message}"]
    before = [f"{p.stem}.tei.xml" for p in inputs[:5]]
    assert sorted(p.name for p in out.glob("*.tei.xml")) == sorted([*before, later.name])
    assert later.read_bytes() == b"<earlier/>"  # untouched
    assert temp_files(out) == []
    tei_validator(*(out / name for name in before))
