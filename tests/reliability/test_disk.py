"""A full disk or an unwritable output folder: one clear line naming the path, a non-zero
exit, earlier outputs intact and no temporary file left.  Real file systems: a small tmpfs
and a read-only bind mount (root only here: permission bits do not stop root)."""

from __future__ import annotations

import errno

import pytest

from reliability.conftest import temp_files, write_corpus


def error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def fill(folder) -> None:
    """Write a file into folder until the file system is full."""
    with open(folder / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    with pytest.raises(OSError):  # not even one more block
        (folder / "probe").write_bytes(b"x" * 8192)


def test_disk_full_names_the_output_and_keeps_earlier_outputs(zhen, tmp_path, mount_tmpfs,
                                                               tei_validator):
    disk = mount_tmpfs("512k")
    out = disk / "out"
    first, second, third = write_corpus(tmp_path / "in", 3)
    res = zhen.translate(first, out=out)
    assert res.returncode == 0, res.stderr
    earlier = (out / "doc000.tei.xml").read_bytes()
    fill(disk)

    res = zhen.translate(first, second, third, out=out)
    assert res.returncode == 1
    line = error_line(res.stderr)
    assert line == (f"zhen: error: {out / 'doc000.tei.xml'}: cannot write "
                    "(disk full; free some space and run again)")
    assert (out / "doc000.tei.xml").read_bytes() == earlier  # the old file, untouched
    assert sorted(p.name for p in out.iterdir()) == ["doc000.tei.xml"]  # no temp, no partial

    res = zhen.translate(first, second, third, out=out, extra=["--keep-going"])
    assert res.returncode == 1
    errors = [ln for ln in res.stderr.splitlines() if "cannot write (disk full" in ln]
    assert len(errors) == 3 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == "zhen: 3 of 3 file(s) failed"
    assert temp_files(out) == []

    (disk / "filler").unlink()  # space again: the same command now succeeds
    res = zhen.translate(first, second, third, out=out)
    assert res.returncode == 0, res.stderr
    tei_validator(*sorted(out.glob("*.tei.xml")))


def test_disk_full_while_a_large_file_spills_to_disk(zhen, tmp_path, mount_tmpfs):
    """A document too big for the in-memory spools spills them into the output folder
    (anonymous files); a full disk there is the same clear error, nothing left behind."""
    disk = mount_tmpfs("1m")
    big = tmp_path / "big.txt"
    line = "日本政府近日通过新版国家安全战略，提出大幅提高防卫预算。" * 4
    big.write_text("\n".join(f"{line}{n}" for n in range(2500)), encoding="utf-8")
    res = zhen.translate(big, out=disk / "out")
    assert res.returncode == 1
    assert error_line(res.stderr) == (f"zhen: error: {disk / 'out' / 'big.tei.xml'}: cannot "
                                      "write (disk full; free some space and run again)")
    assert list((disk / "out").iterdir()) == []


def test_read_only_output_folder_fails_before_any_work_and_keeps_outputs(
    zhen, tmp_path, read_only_bind
):
    source = write_corpus(tmp_path / "in", 1)[0]
    folder = tmp_path / "out"
    res = zhen.translate(source, out=folder)
    assert res.returncode == 0, res.stderr
    earlier = (folder / "doc000.tei.xml").read_bytes()
    read_only = read_only_bind(folder)

    res = zhen.translate(source, out=read_only)
    assert res.returncode == 1
    assert error_line(res.stderr) == (
        f"zhen: error: {read_only}: cannot write here "
        "(read-only file system; choose a writable output folder with -o)"
    )
    assert (read_only / "doc000.tei.xml").read_bytes() == earlier

    res = zhen.translate(source, out=read_only / "sub")
    assert res.returncode == 1
    assert error_line(res.stderr) == (
        f"zhen: error: {read_only / 'sub'}: cannot create the output folder "
        "(read-only file system; choose a writable output folder with -o)"
    )


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_output_folder_that_is_or_is_under_a_regular_file(zhen, tmp_path, where):
    source = write_corpus(tmp_path / "in", 1)[0]
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker if where == "file" else blocker / "out"
    res = zhen.translate(source, out=out)
    assert res.returncode == 1
    assert error_line(res.stderr) == (
        f"zhen: error: {out}: cannot create the output folder (a file is in the way where a "
        "folder is needed; choose another folder with -o)"
    )
    assert blocker.read_text(encoding="utf-8") == "not a folder"
