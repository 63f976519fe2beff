"""A missing, corrupt or incompatible model package: one line saying what is wrong and how to
fix it, a non-zero exit, no traceback and no output.  Each package is a real copy of the
tiny synthetic package, damaged on disk and zipped again."""

from __future__ import annotations

import json
import random
import shutil
import struct
import zipfile
from pathlib import Path

import pytest

from reliability.conftest import write_corpus

REINSTALL = "install it again (e.g. `zhen model install translate-zh_en`)"


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **changes}), encoding="utf-8")


def model_bin(pkg: Path) -> Path:
    return pkg / "model" / "model.bin"


def truncate(pkg):
    data = model_bin(pkg).read_bytes()
    model_bin(pkg).write_bytes(data[: len(data) // 2])


def garbage(pkg):
    model_bin(pkg).write_bytes(random.Random(0).randbytes(4096))


def later_spec_revision(pkg):
    """model.bin as a later CTranslate2 would write it: the spec revision after the name."""
    data = model_bin(pkg).read_bytes()
    at = data.index(b"TransformerSpec\0") + len(b"TransformerSpec\0")
    model_bin(pkg).write_bytes(data[:at] + struct.pack("<I", 99) + data[at + 4:])


def later_binary_version(pkg):
    data = model_bin(pkg).read_bytes()
    model_bin(pkg).write_bytes(struct.pack("<I", 99) + data[4:])


# damage → what the one line must say (besides the package's path)
BROKEN = {
    "model.bin truncated": (truncate, "cannot load this model (Variable"),
    "model.bin garbage": (garbage, "cannot load this model (Unsupported model binary version"),
    "model.bin from a later CTranslate2": (later_binary_version,
                                           "cannot load this model (Unsupported model binary"),
    "spec revision from a later CTranslate2": (later_spec_revision,
                                               "cannot load this model (Unsupported model rev"),
    "model.bin missing": (lambda p: model_bin(p).unlink(),
                          f"package has no CTranslate2 model (model/model.bin missing); "
                          f"{REINSTALL}"),
    "no sentencepiece.model": (lambda p: (p / "sentencepiece.model").unlink(),
                               f"package has no sentencepiece.model; zhen supports "
                               f"SentencePiece packages (all current zh→en Argos packages "
                               f"are): {REINSTALL}"),
    "wrong language pair": (lambda p: edit_json(p / "metadata.json", from_code="ja"),
                            "package translates ja→en, zhen needs zh→en; install one with "
                            "`zhen model install translate-zh_en`"),
    "metadata.json not JSON": (lambda p: (p / "metadata.json").write_text("{oops"),
                               "unreadable package metadata (metadata.json: Expecting "),
    "no metadata.json": (lambda p: (p / "metadata.json").unlink(),
                         "not an Argos package (no metadata.json)"),
}
# Damage CTranslate2 only notices at the first translate_batch, not when the model loads:
# Translator.__init__ (pipeline/engines/translator.py) cannot turn it into a ModelError, and the
# RuntimeError/ValueError of translate_batch is not caught.  Reported; not fixed here.
LATE = {
    "config.json with a wrongly typed option": (
        lambda p: edit_json(p / "model" / "config.json", add_source_bos=1),
        "add_source_bos",
    ),
    "vocabulary smaller than the model": (
        lambda p: (p / "model" / "shared_vocabulary.json").write_text('["<unk>", "<s>", "</s>"]'),
        "vocabulary",
    ),
}


def damaged_archive(package_dir: Path, tmp_path: Path, damage) -> Path:
    work = tmp_path / "work"
    shutil.copytree(package_dir, work / package_dir.name)
    damage(work / package_dir.name)
    archive = tmp_path / "damaged.argosmodel"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(work.rglob("*")):
            zf.write(path, path.relative_to(work))
    return archive


def assert_one_clear_line(res, *expected: str) -> str:
    assert res.returncode == 1
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for text in expected:
        assert text in lines[0]
    assert lines[0].startswith("zhen: error: ")
    return lines[0]


@pytest.fixture
def source(tmp_path):
    return write_corpus(tmp_path / "in", 1)[0]


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_package_is_one_clear_line(zhen, tmp_path, package_dir, source, case):
    damage, expected = BROKEN[case]
    archive = damaged_archive(package_dir, tmp_path, damage)
    res = zhen.run("translate", source, "-o", tmp_path / "out", "--model", archive)
    line = assert_one_clear_line(res, expected)
    assert str(archive) in line or "packages" in line  # names the archive or its unpacked copy
    assert "install" in line  # … and says how to fix it
    assert not list((tmp_path / "out").glob("*.tei.xml"))


@pytest.mark.parametrize("case", list(LATE))
def test_damage_found_only_when_translating_is_one_clear_line(zhen, tmp_path, package_dir,
                                                              source, case):
    damage, _ = LATE[case]
    archive = damaged_archive(package_dir, tmp_path, damage)
    res = zhen.run("translate", source, "-o", tmp_path / "out", "--model", archive)
    assert not list((tmp_path / "out").glob("*.tei.xml"))
    assert_one_clear_line(res, "install")


def test_archive_problems_are_one_clear_line(zhen, tmp_path, package_dir, source):
    out = tmp_path / "out"
    not_zip = tmp_path / "not-zip.argosmodel"
    not_zip.write_text("<html>404 Not Found</html>", encoding="utf-8")
    good = damaged_archive(package_dir, tmp_path, lambda p: None)
    cut = tmp_path / "cut.argosmodel"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    cases = {
        not_zip: f"{not_zip}: not an .argosmodel (not a zip archive, or a truncated "
                 f"download); {REINSTALL}",
        cut: f"{cut}: not an .argosmodel (not a zip archive, or a truncated download); "
             f"{REINSTALL}",
        tmp_path / "missing.argosmodel": f"--model {tmp_path / 'missing.argosmodel'}: no such "
                                         "file",
    }
    for archive, line in cases.items():
        res = zhen.run("translate", source, "-o", out, "--model", archive)
        assert assert_one_clear_line(res) == f"zhen: error: {line}"
    assert not out.exists()


@pytest.mark.parametrize("member", ["../escape.txt", "/tmp/zhen-escape.txt"])
def test_archive_with_path_traversal_is_refused_and_writes_nothing_outside(
    zhen, tmp_path, package_dir, source, member
):
    archive = damaged_archive(package_dir, tmp_path, lambda p: None)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(member, "escaped")
    res = zhen.run("translate", source, "-o", tmp_path / "out", "--model", archive)
    assert_one_clear_line(
        res, f"{archive}: unsafe path {member!r} in the archive (it would be written outside "
             "the package folder); refusing it: this is not a genuine Argos package")
    cache = Path(zhen.env["ZHEN_CACHE_DIR"])
    assert not list(cache.rglob("escape.txt")) and not list(cache.parent.rglob("escape.txt"))
    assert not Path("/tmp/zhen-escape.txt").exists()


def test_corrupt_deflate_stream_is_one_clear_line(zhen, tmp_path, package_dir, source):
    archive = tmp_path / "deflated.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(package_dir.rglob("*")):
            zf.write(path, path.relative_to(package_dir.parent))
    with zipfile.ZipFile(archive) as zf:
        biggest = max(zf.infolist(), key=lambda i: i.compress_size)
    data = bytearray(archive.read_bytes())
    start = biggest.header_offset + 30 + len(biggest.filename.encode()) + 200
    for i in range(start, start + 512):  # damage the compressed bytes, not the zip directory
        data[i] ^= 0x5A
    archive.write_bytes(bytes(data))
    res = zhen.run("translate", source, "-o", tmp_path / "out", "--model", archive)
    assert_one_clear_line(res, f"{archive}: corrupt .argosmodel (", REINSTALL)
