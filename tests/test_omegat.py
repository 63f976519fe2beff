"""zhen ↔ OmegaT: a ready project out, the translator's work back in, proven with OmegaT itself.

The round trip runs Debian's OmegaT 3.6 (`omegat PROJECT --mode=console-translate`, about
two seconds a run) on one exported project per module: once as exported, with a script
(tests/data/omegat-probe.groovy) that writes down what OmegaT made of it, and once after a
translator's work has been written into its project memory the way OmegaT records it.
The English comes from a random-weight model: the tests are about mechanics, never quality.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from zhen.cli import cli
from zhen.digests import normalise_sentence
from zhen.errors import InputError, OutputError, TeiError, ZhenError
from zhen.formats import omegat
from zhen.formats.xliff import XLIFF_NS, read_xliff
from zhen.memory.base import HumanTranslation
from zhen.memory.sqlite import SqliteMemory
from zhen.tei.omegat import import_omegat
from zhen.tei.read import read_tei

OMEGAT = shutil.which("omegat")
needs_omegat = pytest.mark.skipif(
    OMEGAT is None, reason="Debian's omegat is not installed (`make setup` installs it as "
    "root): the round trip through OmegaT itself is not tested")
PROBE = REPO / "tests" / "data" / "omegat-probe.groovy"
# A console run is short: the JVM's quick compiler and serial collector, as zhen runs jing.
JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
# A sentence ending in a closing quote and a space before the next one (the space must not
# be part of it anywhere), a repeated sentence, glossary terms.
ARTICLE = """美国与盟友

美国一些官员常说：“Allies must pay their fair share.” 在他们看来，印太地区的盟友投入不足。新黄金时代的说法再次出现。

新黄金时代的说法再次出现。华盛顿要求东京增加预算。
"""
TRANSLATOR = "li.na"
# On one xdist worker (make test: --dist loadgroup): the project and OmegaT's runs are made once.
pytestmark = pytest.mark.xdist_group("omegat")


def run_omegat(project: Path, config: Path, script: Path | None = None) -> str:
    """OmegaT in console mode on `project`, with its own configuration folder."""
    args = [OMEGAT, str(project), "--mode=console-translate", f"--config-dir={config}",
            "--quiet"]
    if script is not None:
        args.append(f"--script={script}")
    done = subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C", "HOME": str(config),
                               "JDK_JAVA_OPTIONS": JVM_OPTIONS})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def probe(project: Path) -> dict[str, list[list[str]]]:
    rows: dict[str, list[list[str]]] = {}
    for line in (project / "omegat" / "zhen-probe.tsv").read_text(encoding="utf-8").splitlines():
        kind, *cells = line.split("\t")
        rows.setdefault(kind, []).append(cells)
    return rows


def stats(project: Path) -> dict[str, list[int]]:
    """The Total/Remaining/Unique rows of project_stats.txt: segments, words, characters
    without and with spaces, files."""
    found = {}
    for line in (project / omegat.STATS_FILE).read_text(encoding="utf-8").splitlines():
        match = re.match(r"(Total|Remaining|Unique|Unique Remaining):\s+(.*)", line)
        if match:
            found[match.group(1)] = [int(n) for n in match.group(2).split()]
    return found


@pytest.fixture(scope="module")
def work(tmp_path_factory, tiny_model):
    """Two articles translated with the tiny model, a memory with one person's translation
    of a sentence of theirs, and the environment every command here runs in."""
    root = tmp_path_factory.mktemp("omegat")
    (root / "input").mkdir()
    (root / "input" / "allies.txt").write_text(ARTICLE, encoding="utf-8")
    (root / "input" / "budget.txt").write_text("华盛顿要求东京增加预算。日本政府表示同意。\n",
                                              encoding="utf-8")
    env = {"ZHEN_MEMORY": str(root / "memory.sqlite3"), "ZHEN_CACHE_DIR": str(root / "cache"),
           "ZHEN_TRANSLATOR": ""}
    runner = CliRunner()
    done = runner.invoke(cli, ["translate", str(root / "input"), "-o", str(root / "output"),
                               "--model", str(tiny_model), "--glossary",
                               str(REPO / "glossary" / "terms.tsv"), "--beam-size", "1",
                               "--num-hypotheses", "1"], env=env)
    assert done.exit_code == 0, done.output
    with SqliteMemory(root / "memory.sqlite3") as memory:
        memory.store_human([
            HumanTranslation("日本政府表示同意。", "Tokyo agreed.", "wang", "test"),
            HumanTranslation("华盛顿要求东京大幅增加预算。", "Washington wants far more.", "wang",
                             "test"),  # similar to a sentence of both articles
        ])
    return root, env, runner


def zhen(work, *args, ok=True):
    root, env, runner = work
    done = runner.invoke(cli, [str(a) for a in args], env=env)
    if ok:
        assert done.exit_code == 0, (done.output, done.exception)
    return done


def tei_files(root: Path) -> list[Path]:
    return sorted((root / "output").glob("*.tei.xml"))


@pytest.fixture(scope="module")
def project(work):
    root, _, _ = work
    zhen(work, "export", "omegat", *tei_files(root), "-o", root / "proj")
    return root / "proj"


def test_export_writes_a_complete_project(work, project):
    root, _, _ = work
    for name in ("omegat.project", "omegat/filters.xml", "omegat/project_save.tmx",
                 "source/allies.xlf", "source/budget.xlf", "tm/mt/zhen-machine.tmx",
                 "glossary/zhen-glossary.txt", "tm/zhen-human.tmx"):
        assert (project / name).is_file(), name
    for folder in ("target", "tm/auto", "dictionary"):
        assert (project / folder).is_dir(), folder
    info = omegat.read_project(project)
    assert (info.source_language, info.target_language) == ("zh-CN", "en")
    text = (project / "omegat.project").read_text(encoding="utf-8")
    assert "<sentence_seg>false</sentence_seg>" in text
    assert "LuceneSmartChineseTokenizer" in text
    # the Rainbow convention: the target is a copy of the source; ids are zhen's
    docs = {read_tei(p).id: read_tei(p) for p in tei_files(root)}
    (part,) = read_xliff(project / "source" / "allies.xlf")
    sentences = docs["allies"].sentences()
    assert [u.id for u in part.units] == [s.id for s in sentences]
    assert all(u.target == u.source == s.zh_text for u, s in zip(part.units, sentences))
    # the memory's human translation is pre-filled, the machine English is not
    saved = omegat.read_project_save(project / "omegat" / "project_save.tmx")
    assert [(e.source, e.target, e.changeid) for e in saved
            if e.changeid != TRANSLATOR] == [("日本政府表示同意。", "Tokyo agreed.", "wang")]


def test_one_sentence_text_everywhere(work, project):
    """The space after a sentence is in none of its texts: the TEI's `s`, XLIFF, TMX, OmegaT
    (it stays in the TEI between two `s`: the Chinese side keeps every character)."""
    root, _, _ = work
    tei = root / "output" / "allies.tei.xml"
    doc = read_tei(tei)
    quoted = next(s for s in doc.sentences() if "fair share" in s.zh)
    assert quoted.zh_text.endswith("”") and quoted.zh == quoted.zh_text + " "
    tree = etree.parse(str(tei))
    ns = {"t": "http://www.tei-c.org/ns/1.0"}
    (s_el,) = tree.xpath(f"//t:s[@xml:id='zh.{quoted.id}']", namespaces=ns)
    assert "".join(s_el.itertext()) == quoted.zh_text and s_el.tail == " "
    zhen(work, "export", "tmx", *tei_files(root), "-o", root / "all.tmx")
    tmx = etree.parse(str(root / "all.tmx")).getroot()
    assert tmx.find("header").get("srclang") == "zh-CN"
    langs = {tuv.get("{http://www.w3.org/XML/1998/namespace}lang") for tuv in tmx.iter("tuv")}
    assert langs == {"zh-CN", "en"}
    assert quoted.zh_text in {seg.text for seg in tmx.iter("seg")}
    machine = etree.parse(str(project / "tm" / "mt" / "zhen-machine.tmx")).getroot()
    assert quoted.zh_text in {seg.text for seg in machine.iter("seg")}
    zhen(work, "export", "xliff", tei, "-o", root / "xliff")
    (part,) = read_xliff(root / "xliff" / "allies.xlf")
    assert quoted.zh_text in {u.source for u in part.units}


@pytest.fixture(scope="module")
def loaded(work, project):
    """OmegaT's own view of the project as exported (one console run with the probe)."""
    root, _, _ = work
    log = run_omegat(project, root / "omegat-config", PROBE)
    assert (project / "omegat" / "zhen-probe.tsv").is_file(), log
    return probe(project), stats(project)


@needs_omegat
def test_omegat_loads_the_chinese_as_segments_with_zhen_ids(work, loaded):
    root, _, _ = work
    seen, counted = loaded
    assert seen["LANG"] == [["zh-CN", "en"]]
    docs = [read_tei(p) for p in tei_files(root)]
    sentences = [(d.id, s) for d in docs for s in d.sentences()]
    entries = [(file, sid, source) for file, sid, source, *_ in seen["ENTRY"]]
    assert entries == [(f"{doc_id}.xlf", s.id, s.zh_text) for doc_id, s in sentences]
    # project_stats.txt: a segment per sentence, the characters of the Chinese
    chars = sum(len(re.sub(r"\s", "", s.zh)) for _, s in sentences)
    assert counted["Total"][0] == len(sentences)
    assert counted["Total"][2] == chars
    # pre-filled: the one sentence the memory had; its comment names terms and QA findings
    translated = {sid: en for _, sid, _, en, _ in seen["ENTRY"] if en}
    assert translated == {"p1.s2": "Tokyo agreed."}
    comments = " ".join(c for *_, c in seen["ENTRY"])
    assert "term 新黄金时代 → New Golden Age" in comments


@needs_omegat
def test_omegat_offers_zhen_english_as_machine_translation_and_reads_the_glossary(work, loaded):
    root, _, _ = work
    seen, _ = loaded
    doc = read_tei(root / "output" / "allies.tei.xml")
    first = doc.sentences()[0]
    offers = [m for m in seen["MATCH"] if m[0] == first.id and m[3].endswith("tm/mt/zhen-machine.tmx")]
    assert offers and offers[0][1:3] == ["TM", "100"] and offers[0][4] == first.en.strip()
    budget = read_tei(root / "output" / "budget.tei.xml").sentences()[0]
    assert budget.zh_text == "华盛顿要求东京增加预算。"
    fuzzy = [m for m in seen["MATCH"] if m[0] == budget.id and m[3].endswith("tm/zhen-human.tmx")]
    assert fuzzy and fuzzy[0][1] == "TM" and 75 <= int(fuzzy[0][2]) < 100
    assert fuzzy[0][4] == "Washington wants far more."
    glossary = {(src, en) for _, src, en, _ in seen["GLOSSARY"]}
    assert ("新黄金时代", "New Golden Age") in glossary
    assert ("印太", "Indo-Pacific") in glossary


def translator_memory(project: Path, doc_id: str, sentences) -> None:
    """Play the translator: OmegaT's project memory with their translations, as OmegaT 3.6
    records them (a default translation, and an alternative one for a repeated sentence)."""
    saved = omegat.read_project_save(project / "omegat" / "project_save.tmx")
    first, repeated = sentences
    saved += [
        omegat.SavedTranslation(first.zh_text, "U.S. officials often say allies must pay.",
                                TRANSLATOR, TRANSLATOR, "20261201T230000Z"),
        omegat.SavedTranslation(repeated.zh_text, "The talk of a New Golden Age is back.",
                                TRANSLATOR, TRANSLATOR, "20261201T230100Z",
                                file=f"{doc_id}.xlf", id=repeated.id),
    ]
    (project / "omegat" / "project_save.tmx").write_bytes(omegat.render_project_save(saved))


@pytest.fixture(scope="module")
def translated(work, project, loaded):
    """The translator's work in the project, OmegaT run on it (target/ written), imported."""
    root, _, _ = work
    doc = read_tei(root / "output" / "allies.tei.xml")
    by_text = {}
    for s in doc.sentences():
        by_text.setdefault(s.zh_text, []).append(s)
    quoted = next(s for s in doc.sentences() if "fair share" in s.zh)
    repeated = next(group[-1] for group in by_text.values() if len(group) > 1)
    translator_memory(project, "allies", (quoted, repeated))
    run_omegat(project, root / "omegat-config")
    first = zhen(work, "import", "omegat", project, "-o", root / "output")
    return quoted, repeated, first


@needs_omegat
def test_omegat_applies_the_translators_memory(work, project, translated):
    quoted, repeated, _ = translated
    (part,) = read_xliff(project / "target" / "allies.xlf")
    targets = {u.id: u.target for u in part.units}
    assert targets[quoted.id] == "U.S. officials often say allies must pay."
    assert targets[repeated.id] == "The talk of a New Golden Age is back."
    counted = stats(project)
    # translated: the translator's two, and the pre-filled one; the twin of the repeated
    # sentence is not (its alternative translation is its own)
    assert counted["Remaining"][0] == counted["Total"][0] - 3
    twin = next(u for u in part.units if u.source == repeated.zh_text and u.id != repeated.id)
    assert twin.target == twin.source


@needs_omegat
def test_import_makes_them_human_in_valid_tei_and_the_memory(work, translated, tei_validator):
    root, env, _ = work
    quoted, repeated, first = translated
    assert "allies.tei.xml: 2 sentence(s) from the translator, 0 unchanged" in first.output
    assert "budget.tei.xml: 1 sentence(s) from the translator, 0 unchanged" in first.output
    assert "3 human translation(s) applied to 2 file(s)" in first.output
    doc = read_tei(root / "output" / "allies.tei.xml")
    by_id = {s.id: s for s in doc.sentences()}
    assert by_id[quoted.id].human and by_id[quoted.id].translator == TRANSLATOR
    assert by_id[quoted.id].en == "U.S. officials often say allies must pay."
    assert by_id[repeated.id].en == "The talk of a New Golden Age is back."
    assert by_id[repeated.id].translator == TRANSLATOR
    # the twin of the repeated sentence kept its own English (the alternative is by id)
    twins = [s for s in doc.sentences() if s.zh_text == repeated.zh_text and s.id != repeated.id]
    assert twins and all(s.en != repeated.en or not s.human for s in twins)
    budget = read_tei(root / "output" / "budget.tei.xml")
    agreed = next(s for s in budget.sentences() if s.zh == "日本政府表示同意。")
    assert agreed.human and agreed.en == "Tokyo agreed." and agreed.translator == "wang"
    tei_validator(*tei_files(root))
    with SqliteMemory(root / "memory.sqlite3") as memory:
        found = memory.lookup_human([quoted.zh])[normalise_sentence(quoted.zh)]
    assert (found.target, found.translator) == ("U.S. officials often say allies must pay.",
                                                TRANSLATOR)


@needs_omegat
def test_importing_twice_changes_nothing(work, project, translated):
    root, _, _ = work
    before = {p: p.read_bytes() for p in tei_files(root)}
    again = zhen(work, "import", "omegat", project, "-o", root / "output")
    assert "0 human translation(s) applied" in again.output
    assert {p: p.read_bytes() for p in tei_files(root)} == before


# -- refusals: one line, nothing written -------------------------------------------------


@pytest.fixture
def spoilable(work, project, tmp_path):
    """A copy of the exported project and of the TEI files, to spoil."""
    root, _, _ = work
    shutil.copytree(project, tmp_path / "proj")
    shutil.copytree(root / "output", tmp_path / "output")
    return tmp_path / "proj", tmp_path / "output"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE tmx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<tmx version="1.1"><header/><body><tu><tuv lang="zh-CN"><seg>&b;</seg></tuv></tu></body></tmx>
"""


def spoil_language(proj: Path) -> None:
    path = proj / "omegat.project"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "<target_lang>en</target_lang>", "<target_lang>de</target_lang>"), encoding="utf-8")


def spoil_source(proj: Path) -> None:
    path = proj / "source" / "allies.xlf"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("华盛顿要求东京增加预算。", "华盛顿要求首尔增加预算。"),
                    encoding="utf-8")


@pytest.mark.parametrize("spoil, message", [
    (lambda proj: shutil.rmtree(proj / "source") or (proj / "omegat.project").unlink(),
     "not an OmegaT project (it has no omegat.project)"),
    (spoil_language, "the project translates zh-CN → de; zhen imports Chinese → English"),
    (lambda proj: (proj / "omegat" / "project_save.tmx").write_text("<tmx><body><tu>"),
     "project_save.tmx:1: not well-formed XML"),
    (lambda proj: (proj / "omegat" / "project_save.tmx").write_text(BILLION_LAUGHS),
     "project_save.tmx: refusing a file whose DOCTYPE declares entities"),
    (spoil_source, "allies.xlf: segment p2.s2 has another Chinese sentence in"),
    (lambda proj: (proj / "source" / "budget.xlf").write_text(
        (proj / "source" / "budget.xlf").read_text(encoding="utf-8").replace(
            'id="p1.s2"', 'id="p9.s9"'), encoding="utf-8"),
     "budget.xlf: segment p9.s9 is not in it in"),
], ids=["not-a-project", "other-pair", "not-well-formed", "entities", "stale", "unknown-id"])
def test_bad_projects_are_refused_with_one_line_and_nothing_written(work, spoilable, spoil,
                                                                    message):
    proj, output = spoilable
    spoil(proj)
    before = {p: p.read_bytes() for p in output.iterdir()}
    done = zhen(work, "import", "omegat", proj, "-o", output, ok=False)
    assert done.exit_code != 0 and isinstance(done.exception, ZhenError), done.output
    assert message in str(done.exception) and "\n" not in str(done.exception)
    assert {p: p.read_bytes() for p in output.iterdir()} == before


def test_a_huge_project_memory_is_refused(work, spoilable, monkeypatch):
    proj, output = spoilable
    monkeypatch.setattr(omegat, "MAX_PROJECT_SAVE_BYTES", 100)
    with pytest.raises(InputError, match="bytes is more than the 100 an OmegaT project memory"):
        import_omegat(proj, output, None)


def test_a_missing_document_is_refused(work, spoilable):
    proj, output = spoilable
    (output / "budget.tei.xml").unlink()
    with pytest.raises(TeiError, match="its document budget.tei.xml is not in"):
        import_omegat(proj, output, None)


def test_export_never_overwrites_a_project(work, project):
    root, _, _ = work
    done = zhen(work, "export", "omegat", *tei_files(root), "-o", project, ok=False)
    assert isinstance(done.exception, OutputError)
    assert "exists and is not empty" in str(done.exception)


# -- the generic XLIFF, Rainbow convention -------------------------------------------------


def test_rainbow_xliff_copies_the_source_and_offers_the_english(work, tmp_path):
    root, _, _ = work
    zhen(work, "export", "xliff", "--rainbow", root / "output" / "budget.tei.xml",
         "-o", tmp_path / "x")
    xlf = tmp_path / "x" / "budget.xlf"
    ns = {"x": XLIFF_NS}
    units = etree.parse(str(xlf)).getroot().findall(".//x:trans-unit", ns)
    doc = read_tei(root / "output" / "budget.tei.xml")
    assert len(units) == len(doc.sentences())
    for unit, s in zip(units, doc.sentences()):
        target = unit.find("x:target", ns)
        assert unit.findtext("x:source", namespaces=ns) == target.text == s.zh_text
        assert target.get("state") == "needs-translation"
        (offer,) = [alt for alt in unit.findall("x:alt-trans", ns)
                    if alt.get("origin") != "zhen-human-memory"]  # not a fuzzy match
        assert offer.get("origin") == ("zhen-human" if s.human else "zhen-machine")
        assert offer.findtext("x:target", namespaces=ns) == s.en
    refused = zhen(work, "export", "tmx", "--rainbow", root / "output" / "budget.tei.xml",
                   "-o", tmp_path / "x.tmx", ok=False)
    assert refused.exit_code == 2 and "--rainbow is an option of the xliff export" in refused.output
    # an untouched Rainbow file changes nothing: a copy of the source is no translation
    before = (root / "output" / "budget.tei.xml").read_bytes()
    done = zhen(work, "import", "xliff", xlf, "-o", root / "output")
    assert "0 human translation(s) applied" in done.output
    assert (root / "output" / "budget.tei.xml").read_bytes() == before


def test_language_codes_are_read_back_in_any_case_or_region(tmp_path):
    from zhen.formats.tmx import read_tmx

    tmx = tmp_path / "x.tmx"
    tmx.write_text('<tmx version="1.4"><header srclang="ZH-CN"/><body>'
                   '<tu><tuv xml:lang="zh_Hans"><seg>一。</seg></tuv>'
                   '<tuv xml:lang="EN-GB"><seg>One.</seg></tuv></tu>'
                   '<tu><tuv lang="ZH-CN"><seg>二。</seg></tuv>'
                   '<tuv lang="en-us" changeid="ann"><seg>Two.</seg></tuv></tu>'
                   '<tu><tuv lang="ja"><seg>三。</seg></tuv>'
                   '<tuv lang="EN"><seg>Three.</seg></tuv></tu></body></tmx>', encoding="utf-8")
    units, skipped = read_tmx(tmx)
    assert [(u.zh, u.en) for u in units] == [("一。", "One."), ("二。", "Two.")] and skipped == 1
    saved = omegat.read_project_save(tmx)
    assert [(e.source, e.target, e.translator) for e in saved] == [
        ("一。", "One.", ""), ("二。", "Two.", "ann")]


def test_a_translated_file_in_target_counts_where_the_project_memory_has_nothing(work, spoilable):
    """OmegaT's translated documents (target/) are read too: a sentence translated there and
    not in the project memory is the translator's (named by --translator)."""
    proj, output = spoilable
    (proj / "omegat" / "project_save.tmx").unlink()
    doc = read_tei(output / "budget.tei.xml")
    first = doc.sentences()[0]
    source = (proj / "source" / "budget.xlf").read_text(encoding="utf-8")
    copy = f'<target state="needs-translation">{first.zh_text}</target>'
    assert copy in source
    shutil.rmtree(proj / "target")  # what OmegaT made of the translator's memory
    (proj / "target").mkdir()
    (proj / "target" / "budget.xlf").write_text(source.replace(
        copy, '<target state="needs-translation">Washington wants more from Tokyo.</target>'),
        encoding="utf-8")
    done = import_omegat(proj, output, None, translator="reviewer")
    assert done.from_target == 1
    back = {s.id: s for s in read_tei(output / "budget.tei.xml").sentences()}
    assert back[first.id].human and back[first.id].translator == "reviewer"
    assert back[first.id].en == "Washington wants more from Tokyo."


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text("中文。ab", min_size=1, max_size=6),
                          st.sampled_from(["", " ", "  ", "\u3000", "\t", "\r", "\n", " \n"])),
                min_size=1, max_size=4))
def test_the_space_after_a_sentence_is_between_the_s_elements(pieces):
    """Written and read back, every sentence is the same string; its `s` holds zh_text."""
    from zhen.document import Document, Paragraph, Sentence, SourceInfo
    from zhen.tei.body import tei_bytes
    from zhen.tei.read import parse_tei

    sentences = [Sentence(f"p1.s{n}", text + gap, "x")
                 for n, (text, gap) in enumerate(pieces, 1) if (text + gap).strip()]
    doc = Document("d", "t", SourceInfo("d.txt", "0" * 64, "utf-8"),
                   [Paragraph("p1", sentences)])
    root = etree.fromstring(tei_bytes(doc))
    back = parse_tei(root, "d.tei.xml").sentences()
    assert [s.zh for s in back] == [s.zh for s in sentences]
    written = root.xpath("//t:div[@xml:lang='zh']//t:s",
                         namespaces={"t": "http://www.tei-c.org/ns/1.0"})
    assert ["".join(el.itertext()) for el in written] == [s.zh_text for s in sentences]
