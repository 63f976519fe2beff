"""Exports read the TEI back: TMX, VRT + CWB alignment, Moses, cesAlign, teiCorpus."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from zhen.document import (
    Document,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    Term,
    TermKind,
    TermMatch,
    TermStatus,
)
from zhen.errors import OutputError, TeiError
from zhen.exports.common import one_line
from zhen.exports.corpus import build_corpus
from zhen.exports.parallel import export_cesalign, export_moses, export_tmx
from zhen.exports.vrt import export_vrt
from zhen.settings import DecodingOptions
from zhen.tei.body import tei_bytes
from zhen.tei.names import TEI_NS, XML_ID, XML_LANG, en_id, zh_id
from zhen.tei.read import read_tei

NS = {"t": TEI_NS}

TERMS = {
    t.id: t
    for t in (
        Term("indo-pacific-strategy", "印太战略", "Indo-Pacific Strategy"),
        Term("us-japan-alliance", "日美同盟", "US-Japan alliance"),
        Term("extended-nuclear-deterrence", "延伸核威慑", "extended nuclear deterrence"),
        Term("defense", "国防", "defense"),
        Term("cptpp", "CPTPP", "", kind=TermKind.KEEP),
    )
}

PROVENANCE = Provenance(package_name="translate-zh_en", package_version="1.9",
                        pipeline_version="0.1.0", date="2026-11-26",
                        settings=DecodingOptions(compute_type="int8").to_record())


def occ(term_id: str, zh: str, en: str | None, status: TermStatus) -> TermMatch:
    """A term occurrence located by searching the term's forms in the two texts."""
    term = TERMS[term_id]
    start = zh.index(term.zh)
    match = TermMatch(term_id, start, start + len(term.zh), status=status)
    if en is not None and status is not TermStatus.MISSED:
        match.en_start = en.index(term.rendering)
        match.en_end = match.en_start + len(term.rendering)
    return match


def sentence(sid: str, zh: str, en: str | None, *terms: tuple[str, TermStatus]) -> Sentence:
    return Sentence(sid, zh, en, [occ(t, zh, en, st) for t, st in terms])


def make_docs() -> list[Document]:
    policy = Document(
        id="policy-a",
        title='印太 & "日美" <同盟>',
        source=SourceInfo("policy a&b.txt", "0" * 64, "utf-8"),
        provenance=PROVENANCE,
        terms=dict(TERMS),
        paragraphs=[
            Paragraph("p1", [
                sentence("p1.s1", "美国推进印太战略，日美同盟不断加强。",
                         "The United States is advancing the Indo-Pacific Strategy, and the "
                         "US-Japan alliance keeps strengthening.",
                         ("indo-pacific-strategy", TermStatus.MODEL),
                         ("us-japan-alliance", TermStatus.ENFORCED)),
                sentence("p1.s2", "他说：“<安全> & '稳定'”很重要。",
                         "He said \"<security> & 'stability'\"\tmatters\na lot."),
            ]),
            Paragraph("p2", [
                sentence("p2.s1", "日本寻求延伸核威慑。", "Japan seeks a nuclear umbrella.",
                         ("extended-nuclear-deterrence", TermStatus.MISSED)),
                sentence("p2.s2", "国防部长说CPTPP很重要。",
                         "The defense minister said CPTPP matters.",
                         ("defense", TermStatus.ENFORCED), ("cptpp", TermStatus.MODEL)),
            ]),
        ],
    )
    short = Document(
        id="brief-b",
        title="简报",
        source=SourceInfo("brief-b.txt", "1" * 64, "gb18030"),
        provenance=PROVENANCE,
        terms={"indo-pacific-strategy": TERMS["indo-pacific-strategy"]},
        paragraphs=[
            Paragraph("p1", [
                sentence("p1.s1", "印太战略是什么？", "What is the Indo-Pacific Strategy?",
                         ("indo-pacific-strategy", TermStatus.EDITED)),
                sentence("p1.s2", "尚未翻译。", ""),  # untranslated: no English text
            ]),
        ],
    )
    return [policy, short]


@pytest.fixture
def tei_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "tei"
    folder.mkdir()
    paths = []
    for doc in make_docs():
        path = folder / f"{doc.id}.tei.xml"
        path.write_bytes(tei_bytes(doc))
        paths.append(path)
    return paths


def tei_pairs(paths: list[Path]) -> dict[str, tuple[str, str]]:
    """tuid → (Chinese, English) for every pair with text on both sides, from the TEI."""
    pairs = {}
    for path in paths:
        doc = read_tei(path)
        for s in doc.sentences():
            if s.zh.strip() and (s.en or "").strip():
                pairs[f"{doc.id}:{zh_id(s.id)}"] = (s.zh, s.en or "")
    return pairs


def edit_english(path: Path, sentence_xml_id: str, text: str) -> None:
    """What a translator does: replace the content of one English `s`, save the file."""
    tree = etree.parse(str(path))
    (s,) = tree.xpath("//t:s[@xml:id=$sid]", namespaces=NS, sid=sentence_xml_id)
    for child in list(s):
        s.remove(child)
    s.text = text
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


# -- TMX ---------------------------------------------------------------------------------


def test_tmx_pairs_read_by_translate_toolkit_equal_the_tei(tei_files, tmp_path):
    from translate.storage.tmx import tmxfile

    out = tmp_path / "out" / "memory.tmx"
    assert export_tmx(tei_files, out) == [out]
    store = tmxfile.parsestring(out.read_bytes())
    found = {}
    for unit in store.units:
        langs = {node.get(XML_LANG): node.findtext("seg") for node in unit.getlanguageNodes()}
        found[unit.getid()] = (langs["zh-CN"], langs["en"])
        assert (unit.source, unit.target) == (langs["zh-CN"], langs["en"])
    assert found == tei_pairs(tei_files)
    assert "brief-b:zh.p1.s2" not in found  # untranslated sentences are no TM entries


def test_tmx_header_and_props(tei_files, tmp_path):
    out = tmp_path / "memory.tmx"
    export_tmx(tei_files, out)
    root = etree.parse(str(out)).getroot()
    assert root.get("version") == "1.4"
    header = root.find("header")
    for name, value in {"creationtool": "zhen", "datatype": "plaintext", "segtype": "sentence",
                        "adminlang": "en", "srclang": "zh-CN"}.items():
        assert header.get(name) == value
    assert header.get("creationtoolversion") and header.get("o-tmf")
    (tu,) = root.xpath("//tu[@tuid='policy-a:zh.p1.s1']")
    assert tu.xpath("prop[@type='x-source']/text()") == ["policy-a.tei.xml"]
    assert tu.xpath("prop[@type='x-term']/text()") == ["indo-pacific-strategy",
                                                       "us-japan-alliance"]
    assert tu.xpath("prop[@type='x-origin']/text()") == ["machine"]
    assert tu.xpath("prop[@type='x-title']/text()") == ['印太 & "日美" <同盟>']
    assert [c.tag for c in tu] == ["prop"] * 5 + ["tuv", "tuv"]  # DTD order


# -- VRT ---------------------------------------------------------------------------------

TAG = re.compile(r"<(/?)(text|p|s)(?: [^>]*)?>\Z")


def read_vrt(path: Path) -> tuple[list[dict], list[list[str]]]:
    """Parse a VRT file: its `s` regions (attributes, tokens, start position) and all tags."""
    regions, tags, position, current, text = [], [], 0, None, None
    for line in path.read_text("utf-8").splitlines():
        match = TAG.match(line)
        if match:
            tags.append(line)
            if match.group(2) == "text" and not match.group(1):
                text = etree.fromstring(line + "</text>").get("id")
            if match.group(2) == "s" and not match.group(1):
                attrs = dict(etree.fromstring(line + "</s>").attrib)
                current = {"attrs": attrs, "tokens": [], "start": position, "text": text}
                regions.append(current)
            continue
        assert line and not line.startswith("<"), line
        assert re.fullmatch(r"(?:[^&<>]|&(?:amp|lt|gt);)*", line), line  # escaped
        fields = [etree.fromstring(f"<x>{f}</x>").text for f in line.split("\t")]
        current["tokens"].append(fields)
        position += 1
    return regions, tags


def test_vrt_sentence_ids_counts_and_alignment_equal_the_tei(tei_files, tmp_path):
    written = export_vrt(tei_files, tmp_path / "cwb", "zhen")
    names = [p.name for p in written]
    assert names == ["zhen.zh.vrt", "zhen.en.vrt", "zhen.zh-en.align", "zhen.en-zh.align"]
    zh_regions, zh_tags = read_vrt(written[0])
    en_regions, en_tags = read_vrt(written[1])
    docs = [read_tei(p) for p in tei_files]
    sentences = [s for d in docs for s in d.sentences()]
    assert [r["attrs"]["id"] for r in zh_regions] == [zh_id(s.id) for s in sentences]
    assert [r["attrs"]["id"] for r in en_regions] == [en_id(s.id) for s in sentences]
    paragraphs = [p for d in docs for p in d.paragraphs]
    assert sum(t.startswith("<p ") for t in zh_tags) == len(paragraphs)
    assert [t for t in zh_tags if t.startswith("<text")] == [
        t for t in en_tags if t.startswith("<text")]
    for tags in (zh_tags, en_tags):  # every start tag is closed
        for name in ("text", "p", "s"):
            assert sum(t.startswith(f"<{name}") for t in tags) == tags.count(f"</{name}>")

    # zh → en beads pair each Chinese s with its English s, by corpus position
    zh_at = {r["start"]: r for r in zh_regions}
    en_at = {r["start"]: r for r in en_regions}
    header, *beads = written[2].read_text("utf-8").splitlines()
    assert header.split("\t") == ["ZHEN_ZH", "s", "ZHEN_EN", "s"]
    paired = []
    for bead in beads:
        f1, l1, f2, l2, kind = bead.split("\t")
        assert kind == "1:1"
        zh_r, en_r = zh_at[int(f1)], en_at[int(f2)]
        assert int(l1) - int(f1) + 1 == len(zh_r["tokens"])
        assert int(l2) - int(f2) + 1 == len(en_r["tokens"])
        paired.append((zh_r["attrs"]["id"], en_r["attrs"]["id"]))
    expected = [(zh_id(s.id), en_id(s.id)) for s in sentences if (s.en or "").strip()]
    assert paired == expected  # the untranslated sentence has no bead
    inverse = written[3].read_text("utf-8").splitlines()
    assert inverse[0].split("\t") == ["ZHEN_EN", "s", "ZHEN_ZH", "s"]
    assert [b.split("\t")[2:4] + b.split("\t")[:2] for b in inverse[1:]] == [
        b.split("\t")[:4] for b in beads]


def test_vrt_terms_are_single_tokens_and_carry_term_ids(tei_files, tmp_path):
    zh_vrt, en_vrt, *_ = export_vrt(tei_files, tmp_path, "zhen")
    zh = {r["attrs"]["id"]: r["tokens"] for r in read_vrt(zh_vrt)[0] if r["text"] == "policy-a"}
    en = {r["attrs"]["id"]: r["tokens"] for r in read_vrt(en_vrt)[0] if r["text"] == "policy-a"}

    s1 = zh["zh.p1.s1"]
    assert ["印太战略", "indo-pacific-strategy", "model"] in s1
    assert ["日美同盟", "us-japan-alliance", "enforced"] in s1  # jieba alone splits 日美|同盟
    assert all(len(t) == 3 for t in s1)
    # never merged across a term boundary: jieba alone makes 国防部长 one word
    s4 = [t[0] for t in zh["zh.p2.s2"]]
    assert s4[:2] == ["国防", "部长"] and "CPTPP" in s4
    assert zh["zh.p2.s1"][2:] == [["延伸核威慑", "extended-nuclear-deterrence", "missed"],
                                   ["。", "_", "_"]]

    e1 = en["en.p1.s1"]
    assert [t for t in e1 if t[2] == "indo-pacific-strategy"] == [
        ["Indo-Pacific", "indo-pacific", "indo-pacific-strategy", "model"],
        ["Strategy", "strategy", "indo-pacific-strategy", "model"]]
    assert [t[0] for t in e1 if t[2] == "us-japan-alliance"] == ["US-Japan", "alliance"]
    assert all(t[2:] == ["_", "_"] for t in e1 if t[0] in ("The", ",", "."))
    assert all(t[1] == t[0].lower() for r in en.values() for t in r)
    assert not any(t[2] == "extended-nuclear-deterrence" for t in en["en.p2.s1"])
    assert en["en.p1.s2"] and zh["zh.p1.s2"]  # sentences without terms have tokens too
    assert en_tokens_text(en["en.p1.s1"]) == (
        "The United States is advancing the Indo-Pacific Strategy , and the US-Japan "
        "alliance keeps strengthening .")


def en_tokens_text(tokens: list[list[str]]) -> str:
    return " ".join(t[0] for t in tokens)


def test_vrt_escapes_special_characters(tei_files, tmp_path):
    zh_vrt, en_vrt, *_ = export_vrt(tei_files, tmp_path, "zhen")
    raw = zh_vrt.read_text("utf-8")
    text_line = raw.splitlines()[0]
    assert text_line == ('<text id="policy-a" title="印太 &amp; &quot;日美&quot; &lt;同盟&gt;" '
                         'title_en="" author="" date="" year="" publisher="" url="" '
                         'source="policy a&amp;b.txt">')
    assert "&lt;\t_\t_" in raw.splitlines() and "&amp;\t_\t_" in raw.splitlines()
    regions, _ = read_vrt(en_vrt)  # read_vrt asserts every token line is escaped
    words = [t[0] for r in regions for t in r["tokens"]]
    assert "<" in words and "&" in words and '"' in words


def test_vrt_rejects_a_corpus_name_cwb_cannot_use(tei_files, tmp_path):
    with pytest.raises(OutputError, match="corpus name"):
        export_vrt(tei_files, tmp_path, "my corpus")
    assert not list(tmp_path.glob("*.vrt"))


@pytest.mark.skipif(shutil.which("cwb-encode") is None, reason="CWB is not installed")
def test_cwb_encodes_the_vrt_and_the_alignment(tei_files, tmp_path):
    files = export_vrt(tei_files, tmp_path / "vrt", "zhen")
    registry = tmp_path / "registry"
    registry.mkdir()
    columns = {"zh": ["-P", "term", "-P", "status"],
               "en": ["-P", "lower", "-P", "term", "-P", "status"]}
    for lang, vrt in (("zh", files[0]), ("en", files[1])):
        data = tmp_path / "data" / f"zhen_{lang}"
        data.mkdir(parents=True)
        subprocess.run(["cwb-encode", "-c", "utf8", "-x", "-s", "-B", "-d", str(data),
                        "-f", str(vrt), "-R", str(registry / f"zhen_{lang}"), *columns[lang],
                        "-S", "text:0+id+title+source", "-S", "p:0+id", "-S", "s:0+id+origin+qa+score"],
                       check=True)
        subprocess.run(["cwb-makeall", "-r", str(registry), "-V", f"ZHEN_{lang.upper()}"],
                       check=True, capture_output=True)
        decoded = subprocess.run(["cwb-s-decode", "-r", str(registry), f"ZHEN_{lang.upper()}",
                                  "-S", "s_id"], check=True, capture_output=True, text=True)
        ids = [line.split("\t")[2] for line in decoded.stdout.splitlines()]
        regions, _ = read_vrt(vrt)
        assert ids == [r["attrs"]["id"] for r in regions if r["tokens"]]
    with (registry / "zhen_zh").open("a") as fh:
        fh.write("\nALIGNED zhen_en\n")
    subprocess.run(["cwb-align-encode", "-r", str(registry), "-D", str(files[2])], check=True)


# -- Moses -------------------------------------------------------------------------------


def test_moses_files_are_line_aligned_pairs_of_the_tei(tei_files, tmp_path):
    zh_file, en_file = export_moses(tei_files, tmp_path / "train")
    assert (zh_file.name, en_file.name) == ("train.zh", "train.en")
    zh_lines = zh_file.read_bytes().decode("utf-8").split("\n")
    en_lines = en_file.read_bytes().decode("utf-8").split("\n")
    assert zh_lines[-1] == en_lines[-1] == ""  # each file ends with a newline
    pairs = list(tei_pairs(tei_files).values())
    assert len(zh_lines) - 1 == len(en_lines) - 1 == len(pairs) == 5
    assert zh_lines[:-1] == [zh for zh, _ in pairs]
    # the tab and the line break inside one English sentence became spaces
    assert en_lines[1] == "He said \"<security> & 'stability'\" matters a lot."
    assert en_lines[:-1] == [re.sub(r"[\t\n]", " ", en) for _, en in pairs]


def test_a_translators_edit_in_the_tei_flows_into_tmx_and_moses(tei_files, tmp_path):
    from translate.storage.tmx import tmxfile

    edited = "Security & stability <really> matter, he said."
    edit_english(tei_files[0], "en.p1.s2", edited)
    edit_english(tei_files[0], "en.p1.s1", "The US pursues its Indo-Pacific Strategy.")
    tmx = export_tmx(tei_files, tmp_path / "m.tmx")[0]
    units = {u.getid(): u for u in tmxfile.parsestring(tmx.read_bytes()).units}
    assert units["policy-a:zh.p1.s2"].target == edited
    assert units["policy-a:zh.p1.s1"].target == "The US pursues its Indo-Pacific Strategy."
    _, en_file = export_moses(tei_files, tmp_path / "train")
    lines = en_file.read_text("utf-8").splitlines()
    assert lines[:2] == ["The US pursues its Indo-Pacific Strategy.", edited]


# -- cesAlign ----------------------------------------------------------------------------


def test_cesalign_links_every_pair_to_opus_sentence_files(tei_files, tmp_path):
    out = tmp_path / "opus" / "zhen.xml"
    written = export_cesalign(tei_files, out)
    assert written[0] == out and all(p.exists() for p in written)
    root = etree.parse(str(out)).getroot()
    assert root.tag == "cesAlign" and root.get("version") == "1.0"
    groups = root.findall("linkGrp")
    docs = [read_tei(p) for p in tei_files]
    assert len(groups) == len(docs)
    for grp, doc in zip(groups, docs):
        assert grp.get("targType") == "s"
        assert (grp.get("fromDoc"), grp.get("toDoc")) == (f"zh/{doc.id}.xml", f"en/{doc.id}.xml")
        links = [link.get("xtargets") for link in grp.findall("link")]
        assert links == [f"{zh_id(s.id)};{en_id(s.id)}" for s in doc.sentences()]
        for lang in ("zh", "en"):
            sents = etree.parse(str(out.parent / grp.get("fromDoc" if lang == "zh" else "toDoc")))
            found = {s.get("id"): s.text or "" for s in sents.iter("s")}
            make_id = zh_id if lang == "zh" else en_id
            assert found == {make_id(s.id): one_line(s.zh if lang == "zh" else s.en or "")
                             for s in doc.sentences()}


def test_opustools_reads_the_cesalign_export(tei_files, tmp_path):
    opus_read = pytest.importorskip("opustools").OpusRead
    out = tmp_path / "opus" / "zhen.xml"
    export_cesalign(tei_files, out)
    result = tmp_path / "pairs.txt"
    opus_read(directory="zhen", source="zh", target="en", alignment_file=str(out),
              preprocess="raw", download_dir=str(out.parent), write=[str(result)],
              write_mode="moses").printPairs()
    lines = result.read_text("utf-8").splitlines()
    sentences = [s for p in tei_files for s in read_tei(p).sentences()]
    assert lines == [f"{one_line(s.zh)}\t{one_line(s.en or '')}" for s in sentences]


# -- teiCorpus ---------------------------------------------------------------------------


def test_corpus_embeds_each_tei_with_unique_ids(tei_files, tmp_path, request):
    out = tmp_path / "corpus.xml"
    assert build_corpus(tei_files, out) == [out]
    root = etree.parse(str(out)).getroot()  # well-formed
    assert root.tag == f"{{{TEI_NS}}}teiCorpus"
    teis = root.findall("t:TEI", NS)
    assert [t.get(XML_ID) for t in teis] == ["policy-a", "brief-b"]
    ids = [el.get(XML_ID) for el in root.iter() if el.get(XML_ID)]
    assert len(ids) == len(set(ids))
    for el in root.iter(etree.Element):  # every local pointer resolves
        for name in ("ref", "corresp", "ana", "target"):
            for token in (el.get(name) or "").split():
                assert token.lstrip("#") in ids, (name, token)
    docs = [read_tei(p) for p in tei_files]
    for tei, doc in zip(teis, docs):  # the text is carried unchanged
        zh = ["".join(s.itertext()) for s in tei.xpath(".//t:div[@type='original']//t:s",
                                                        namespaces=NS)]
        assert zh == [s.zh for s in doc.sentences()]
        assert tei.xpath(".//t:s/@xml:id", namespaces=NS)[0] == f"{doc.id}.zh.p1.s1"
    measures = {m.get("unit"): m.get("quantity") for m in root.iterfind(".//t:extent/t:measure",
                                                                        NS)}
    assert measures == {"documents": "2",
                        "sentences": str(sum(len(d.sentences()) for d in docs))}
    files = root.xpath("t:teiHeader//t:sourceDesc/t:bibl/t:idno[@type='filename']/text()",
                       namespaces=NS)
    assert files == [p.name for p in tei_files]
    assert_tei_all_valid(out, request)


def assert_tei_all_valid(path: Path, request: pytest.FixtureRequest) -> None:
    """jing against tei_all; zhen's per-document invariants do not apply to a teiCorpus."""
    request.getfixturevalue("tei_validator")  # skips when java is missing
    from zhen.tei.schema import fetch_tei_schema
    from zhen.tei.validate import validate_files

    problems = [p for p in validate_files([path], rng=fetch_tei_schema())
                if p.kind != "invariant"]
    assert not problems, "\n".join(map(str, problems))


def test_corpus_carries_a_translators_edit(tei_files, tmp_path):
    edit_english(tei_files[1], "en.p1.s2", "Not yet translated & <edited>.")
    out = build_corpus(tei_files, tmp_path / "corpus.xml")[0]
    root = etree.parse(str(out)).getroot()
    (s,) = root.xpath("//t:s[@xml:id='brief-b.en.p1.s2']", namespaces=NS)
    assert s.text == "Not yet translated & <edited>."


# -- errors ------------------------------------------------------------------------------


def test_two_files_with_the_same_document_id_are_refused(tei_files, tmp_path):
    twin = tmp_path / "elsewhere" / tei_files[0].name
    twin.parent.mkdir()
    twin.write_bytes(tei_files[0].read_bytes())
    with pytest.raises(TeiError, match="same document id"):
        export_tmx([tei_files[0], twin], tmp_path / "m.tmx")
    assert not (tmp_path / "m.tmx").exists()


def test_a_broken_tei_file_is_a_user_error_naming_it(tmp_path):
    bad = tmp_path / "bad.tei.xml"
    bad.write_text("<TEI><unclosed></TEI>", "utf-8")
    with pytest.raises(TeiError, match="bad.tei.xml"):
        export_moses([bad], tmp_path / "train")
    with pytest.raises(TeiError, match="no TEI files"):
        build_corpus([], tmp_path / "corpus.xml")


@pytest.mark.slow  # a real process: what it imports
def test_importing_the_exports_loads_no_tokenizer():
    code = ("import sys, zhen.exports; "
            "print(sorted(m for m in ('jieba', 'sacremoses') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"


def test_cli_export_names_are_the_registry():
    from zhen.cli.exchange import export
    from zhen.exports import FORMATS

    fmt = next(p for p in export.params if p.name == "fmt")
    assert list(fmt.type.choices) == sorted(FORMATS)
