"""Human corrections: never lost, reused before any machine output, and round-tripped
through CAT tools (XLIFF 1.2 via translate-toolkit, TMX) — issue "Human corrections".

Every test runs the real CLI in a subprocess on the tiny synthetic model (its English is
noise: the tests are about mechanics, provenance and validity, never quality).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_zhen
from lxml import etree
from zhen.memory.sqlite import SqliteMemory
from zhen.tei.names import TEI_NS, XML_ID
from zhen.tei.read import read_tei

NS = {"t": TEI_NS}
ARTICLE = (REPO / "tests" / "data" / "coast-article.txt").read_text(encoding="utf-8")
SUMMARY = re.compile(
    r"(?P<sentences>\d+) sentences, (?P<human>\d+) from human translations, "
    r"(?P<memory>\d+) from memory, (?P<decoded>\d+) decoded"
)


@pytest.fixture
def work(tmp_path, tiny_model, zhen_env):
    """A folder with in/ (one unseen article), a copy of the glossary and the environment."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "coast.txt").write_text(ARTICLE, encoding="utf-8")
    glossary = tmp_path / "terms.tsv"
    glossary.write_bytes((REPO / "glossary" / "terms.tsv").read_bytes())
    return tmp_path, tiny_model, zhen_env, glossary


def translate(work, *inputs, extra=(), ok=True):
    tmp, model, env, glossary = work
    res = run_zhen(["translate", *inputs, "-o", tmp / "out", "--model", model,
                    "--glossary", glossary, "--beam-size", "1", "--num-hypotheses", "1",
                    *extra], env, cwd=tmp)
    if ok:
        assert res.returncode == 0, res.stderr
    return res


def numbers(stderr: str) -> dict[str, int]:
    match = SUMMARY.search(stderr)
    assert match, stderr
    return {k: int(v) for k, v in match.groupdict().items()}


def english(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {el.get(XML_ID): el for el in root.xpath("//t:div[@xml:lang='en']//t:s",
                                                    namespaces=NS)}


def edit_english(path: Path, edits: dict[str, str]) -> None:
    """Change English sentences the way a person in a text editor would: only their text
    (term markup inside is dropped with the old text)."""
    data = path.read_text(encoding="utf-8")
    for sid, text in edits.items():
        data, n = re.subn(rf'(<s xml:id="{re.escape(sid)}"[^>]*>).*?(</s>)',
                          lambda m, t=text: m.group(1) + t + m.group(2), data, count=1)
        assert n == 1, sid
    path.write_text(data, encoding="utf-8")


EDITS = {
    "en.p1.s1": "Before the typhoon season, coastal cities stepped up dyke inspections.",
    "en.p2.s1": "Experts note that climate risk in the Indo-Pacific is rising.",
    "en.p5.s1": "Residents were also asked to prepare emergency kits.",
}


def test_corrections_survive_glossary_and_setting_changes(work, tei_validator):
    tmp, *_ = work
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    edit_english(out, EDITS)

    add = run_zhen(["glossary", "add", "防灾", "disaster prevention", "--glossary", work[3]],
                   work[2])
    assert add.returncode == 0, add.stderr
    res = translate(work, "in/coast.txt", extra=["--update"])
    assert "3 human edit(s) carried over, 0 no longer match" in res.stderr
    res = translate(work, "in/coast.txt", extra=["--update", "--max-length-ratio", "1.2"])
    assert numbers(res.stderr)["human"] == 3

    sentences = english(out)
    for sid, text in EDITS.items():
        assert "".join(sentences[sid].itertext()) == text
        assert sentences[sid].get("resp", "").startswith("#resp.human")
    assert sum(1 for el in sentences.values() if el.get("resp")) == 3
    tei_validator(out)
    doc = read_tei(out)
    assert doc.provenance.sentences_human == 3
    header = out.read_text(encoding="utf-8")
    assert "unrevised machine translation" not in header
    assert 'type="human-translation">3 of' in header
    # The corrected sentence with the Indo-Pacific term: re-located as EDITED, not enforced.
    (p3,) = [s for s in doc.sentences() if s.id == "p2.s1"]
    assert p3.human and [o.status.value for o in p3.terms] == ["edited"]
    assert p3.en[p3.terms[0].en_start:p3.terms[0].en_end] == "Indo-Pacific"


def test_a_second_document_reuses_the_human_translation(work):
    tmp, *_ = work
    translate(work, "in/coast.txt")
    edit_english(tmp / "out" / "coast.tei.xml", EDITS)
    translate(work, "in/coast.txt")  # the edits go into the memory here
    other = tmp / "in" / "other.txt"
    other.write_text("台风季节来临之前，沿海城市普遍加强了堤坝巡查。\n这是另一篇文章的新句子。\n",
                     encoding="utf-8")
    res = translate(work, "in/other.txt")
    counts = numbers(res.stderr)
    assert counts == {"sentences": 2, "human": 1, "memory": 0, "decoded": 1}
    (first, second) = read_tei(tmp / "out" / "other.tei.xml").sentences()
    assert first.human and first.en == EDITS["en.p1.s1"]
    assert not second.human


def test_an_edit_whose_source_sentence_changed_is_kept_in_the_memory(work):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    edit_english(tmp / "out" / "coast.tei.xml", {"en.p4.s1": "Sponge-city pilots began."})
    source = tmp / "in" / "coast.txt"
    source.write_text(ARTICLE.replace("一些城市开始试点", "许多城市开始试点"), encoding="utf-8")
    res = translate(work, "in/coast.txt")
    assert "0 human edit(s) carried over, 1 no longer match a source sentence: kept in the " \
        "memory" in res.stderr
    memory = SqliteMemory(Path(env["ZHEN_MEMORY"]))
    try:
        kept = memory.lookup_human(["一些城市开始试点海绵城市建设，让雨水就地消纳。"])
    finally:
        memory.close()
    assert [h.target for h in kept.values()] == ["Sponge-city pilots began."]


def test_without_a_memory_an_orphaned_edit_refuses_the_overwrite(work):
    tmp, *_ = work
    translate(work, "in/coast.txt", extra=["--no-memory"])
    out = tmp / "out" / "coast.tei.xml"
    edit_english(out, {"en.p4.s1": "Sponge-city pilots began."})
    before = out.read_bytes()
    (tmp / "in" / "coast.txt").write_text(ARTICLE.replace("一些", "许多"), encoding="utf-8")
    res = translate(work, "in/coast.txt", extra=["--no-memory"], ok=False)
    assert res.returncode == 1
    assert "1 human edit(s) in it no longer match" in res.stderr
    assert "Traceback" not in res.stderr
    assert out.read_bytes() == before


def test_xliff_round_trip_through_translate_toolkit(work, tei_validator):
    from translate.storage import xliff

    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    res = run_zhen(["export", "xliff", tmp / "out" / "coast.tei.xml", "-o", tmp / "xlf"], env)
    assert res.returncode == 0, res.stderr
    path = tmp / "xlf" / "coast.xlf"
    store = xliff.xlifffile.parsefile(str(path))
    units = {u.getid().split("\x04")[-1]: u for u in store.units if not u.isheader()}
    units["p3.s1"].target = "This year's budget raises disaster spending to 30 billion yuan."
    units["p4.s1"].target = "Some cities began piloting sponge cities."
    store.savefile(str(path))

    res = run_zhen(["import", "xliff", path, "-o", tmp / "out", "--translator", "Wang Fang"],
                   env)
    assert res.returncode == 0, res.stderr
    out = tmp / "out" / "coast.tei.xml"
    tei_validator(out)
    doc = read_tei(out)
    human = {s.id: s for s in doc.sentences() if s.human}
    assert set(human) == {"p3.s1", "p4.s1"}
    assert human["p4.s1"].en == "Some cities began piloting sponge cities."
    assert doc.provenance.translators == ("Wang Fang",)
    # and the memory has them for the next document
    memory = SqliteMemory(Path(env["ZHEN_MEMORY"]))
    try:
        assert len(memory.human_entries()) == 2
    finally:
        memory.close()


def test_xliff_import_refuses_a_stale_export(work):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    run_zhen(["export", "xliff", tmp / "out" / "coast.tei.xml", "-o", tmp / "xlf"], env)
    (tmp / "in" / "coast.txt").write_text(ARTICLE.replace("一些", "许多"), encoding="utf-8")
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    before = out.read_bytes()
    res = run_zhen(["import", "xliff", tmp / "xlf" / "coast.xlf", "-o", tmp / "out"], env)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "export the XLIFF again" in lines[0]
    assert out.read_bytes() == before


def test_tmx_from_translate_toolkit_is_used_on_the_next_run(work):
    from translate.storage import tmx

    tmp, _model, env, _g = work
    store = tmx.tmxfile(sourcelanguage="zh", targetlanguage="en")
    store.addtranslation("居民也被要求准备应急包，并熟悉最近的避难场所。", "zh",
                         "Residents were asked to prepare emergency kits and learn where the "
                         "nearest shelter is.", "en")
    store.addtranslation("Guten Tag.", "de", "Good day.", "en")
    path = tmp / "from-cat.tmx"
    path.write_bytes(bytes(store))
    res = run_zhen(["memory", "import", path], env)
    assert res.returncode == 0, res.stderr
    assert "1 added" in res.stderr
    res = translate(work, "in/coast.txt")
    assert numbers(res.stderr)["human"] == 1
    (s,) = [s for s in read_tei(tmp / "out" / "coast.tei.xml").sentences() if s.human]
    assert s.en.startswith("Residents were asked")

    exported = tmp / "back.tmx"
    res = run_zhen(["memory", "export", exported, "--human-only"], env)
    assert res.returncode == 0, res.stderr
    back = tmx.tmxfile.parsefile(str(exported))
    assert [u.target for u in back.units] == [s.en]


@pytest.mark.parametrize("kind", ["duplicate-id", "chinese-changed", "not-well-formed"])
def test_a_damaged_output_is_never_overwritten(work, kind):
    tmp, *_ = work
    (tmp / "in" / "b.txt").write_text("第二篇文章只有一句话。\n", encoding="utf-8")
    translate(work, "in/coast.txt", "in/b.txt")
    out = tmp / "out" / "coast.tei.xml"
    data = out.read_text(encoding="utf-8")
    if kind == "duplicate-id":
        data = data.replace('xml:id="zh.p2.s1"', 'xml:id="zh.p1.s1"', 1)
    elif kind == "chinese-changed":
        data = data.replace("堤坝巡查", "堤防巡查", 1)
    else:
        data = data.replace("</TEI>", "")
    out.write_text(data, encoding="utf-8")
    (tmp / "in" / "b.txt").write_text("第二篇文章改了一句话。\n", encoding="utf-8")

    res = translate(work, "in/coast.txt", "in/b.txt", extra=["--keep-going"], ok=False)
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if "coast.tei.xml" in line]
    assert len(errors) == 1 and "will not overwrite" in errors[0], res.stderr
    assert out.read_text(encoding="utf-8") == data  # untouched
    assert "改了" in (tmp / "out" / "b.tei.xml").read_text(encoding="utf-8")  # others go on


def test_reindented_tei_is_formatting_not_content(work, tei_validator):
    tmp, *_ = work
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    data = out.read_text(encoding="utf-8")
    data = data.replace('</s><s xml:id="zh.', '</s>\n        <s xml:id="zh.')
    data = data.replace('<p xml:id="zh.p2"><s', '<p xml:id="zh.p2">\n        <s')
    out.write_text(data, encoding="utf-8")
    tei_validator(out)
    doc = read_tei(out)
    assert not any(s.human for s in doc.sentences())
    res = translate(work, "in/coast.txt", extra=["--update"])
    assert "0 file(s) written" in res.stderr  # nothing was edited: still up to date


def test_a_person_changing_a_term_is_not_reported_as_enforced(work, tmp_path):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    data = out.read_text(encoding="utf-8")
    # change the English term's text inside its markup, as a person in an XML editor would
    data, n = re.subn(r'(<term xml:id="en\.p2\.s1\.t1"[^>]*>)[^<]*(</term>)',
                      r"\1Asia-Pacific\2", data)
    assert n == 1
    out.write_text(data, encoding="utf-8")
    (s,) = [s for s in read_tei(out).sentences() if s.id == "p2.s1"]
    assert s.human and [o.status.value for o in s.terms] == ["missed"]
    res = run_zhen(["export", "vrt", out, "-o", tmp_path / "vrt"], env)
    assert res.returncode == 0, res.stderr
    vrt = (tmp_path / "vrt" / "zhen.zh.vrt").read_text(encoding="utf-8")
    assert re.search(r'<s id="zh\.p2\.s1" origin="human"[ >]', vrt)
    assert "印太\tindo-pacific\tmissed" in vrt
    res = run_zhen(["view", out, "-o", tmp_path / "v.html"], env)
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert 'id="p2.s1" data-origin="human"' in page


def test_memory_clear_keeps_human_translations(work):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    edit_english(tmp / "out" / "coast.tei.xml", EDITS)
    res = run_zhen(["memory", "import", tmp / "out" / "coast.tei.xml"], env)
    assert res.returncode == 0 and "3 added" in res.stderr, res.stderr
    res = run_zhen(["memory", "clear"], env)
    assert res.returncode == 0 and "kept 3 human translations" in res.stdout
    db = sqlite3.connect(env["ZHEN_MEMORY"])
    assert db.execute("SELECT COUNT(*) FROM tm").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM human").fetchone() == (3,)


def test_a_later_edit_replaces_the_earlier_and_history_keeps_both(work):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    edit_english(out, {"en.p1.s1": "First version."})
    translate(work, "in/coast.txt")
    edit_english(out, {"en.p1.s1": "Second version."})
    translate(work, "in/coast.txt")
    memory = SqliteMemory(Path(env["ZHEN_MEMORY"]))
    try:
        source = "台风季节来临之前，沿海城市普遍加强了堤坝巡查。"
        assert [h.target for h in memory.lookup_human([source]).values()] == ["Second version."]
        assert [h.target for h in memory.human_history(source)] == ["First version.",
                                                                    "Second version."]
    finally:
        memory.close()
    assert english(out)["en.p1.s1"].text == "Second version."


BAD_XLIFF = [
    b"<xliff version='1.2'",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xliff/>',
    b'<xliff xmlns="urn:oasis:names:tc:xliff:document:1.2" version="1.2"><file '
    b'original="coast.tei.xml" source-language="zh-CN" target-language="de" '
    b'datatype="plaintext"><body><trans-unit id="p1.s1"><source>x</source><target>y</target>'
    b"</trans-unit></body></file></xliff>",
]
BAD_TMX = [
    b"<tmx version='1.4'><body>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><tmx/>',
    b'<tmx version="1.4"><header srclang="de"/><body><tu><tuv xml:lang="de"><seg>Hallo</seg>'
    b'</tuv><tuv xml:lang="fr"><seg>Salut</seg></tuv></tu></body></tmx>',
]


@pytest.mark.parametrize("case", range(3), ids=["not-well-formed", "entities", "other-pair"])
def test_bad_xliff_and_tmx_change_nothing(work, case):
    tmp, _model, env, _g = work
    translate(work, "in/coast.txt")
    out = tmp / "out" / "coast.tei.xml"
    before = out.read_bytes()
    for name, content, args in (("bad.xlf", BAD_XLIFF[case], ["import", "xliff"]),
                                ("bad.tmx", BAD_TMX[case], ["memory", "import"])):
        path = tmp / name
        path.write_bytes(content)
        res = run_zhen([*args, path, *(["-o", tmp / "out"] if "xliff" in args else [])], env)
        assert res.returncode != 0, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        assert str(path) in lines[0]
    assert out.read_bytes() == before
    memory = SqliteMemory(Path(env["ZHEN_MEMORY"]))
    try:
        assert memory.human_entries() == []
    finally:
        memory.close()


def test_an_import_during_a_run_loses_nothing(work, tmp_path):
    from translate.storage import tmx

    tmp, model, env, glossary = work
    store = tmx.tmxfile(sourcelanguage="zh", targetlanguage="en")
    for n in range(200):
        store.addtranslation(f"第{n}句导入的句子。", "zh", f"Imported sentence {n}.", "en")
    path = tmp / "many.tmx"
    path.write_bytes(bytes(store))
    run = subprocess.Popen(
        [sys.executable, "-m", "zhen", "translate", "in/coast.txt", "-o", "out",
         "--model", str(model), "--glossary", str(glossary)],
        env=env, cwd=tmp, stderr=subprocess.PIPE, text=True)
    res = run_zhen(["memory", "import", path], env)
    assert run.wait(timeout=300) == 0, run.stderr.read()
    assert res.returncode == 0 and "200 added" in res.stderr, res.stderr
    db = sqlite3.connect(env["ZHEN_MEMORY"])
    assert db.execute("SELECT COUNT(*) FROM human").fetchone() == (200,)
    assert db.execute("SELECT COUNT(*) FROM tm").fetchone()[0] > 0
