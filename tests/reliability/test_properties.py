"""Property tests over arbitrary Unicode: whatever the text, zhen writes well-formed, valid TEI
whose Chinese side keeps every character XML allows, or refuses the file with one line.

The pipeline runs in-process (one shared BatchTranslator on the tiny model) on real files:
text with XML-forbidden characters, unpaired surrogates (written as UTF-8 with
'surrogatepass', so the bytes are invalid), very long lines, lines of punctuation only,
mixed scripts and right-to-left text, in several encodings, under file names made of
arbitrary bytes (which Python decodes with 'surrogateescape').  zhen's invariants are
checked for every example; tei_all (jing) once, over all the TEI files, at the end.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil

import pytest
from conftest import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from zhen.document import (
    Document,
    DocumentInfo,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    Term,
    TermKind,
    TermMatch,
    TermStatus,
)
from zhen.errors import InputError
from zhen.readers.text import TextStream, display_name, read_text_file
from zhen.settings import DecodingOptions
from zhen.tei.body import TeiWriter, tei_bytes
from zhen.tei.names import TEI_NS
from zhen.tei.validate import check_invariants

NS = {"t": TEI_NS}
# The oracle, written from the XML 1.0 Char production and the README's rules (one
# paragraph per non-blank line, stripped; forbidden characters dropped), not from reader.py.
XML_CHAR = re.compile("[\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
LINE_BREAK = re.compile("\r\n|\r|\n")
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CJK = "日本政府近日通过新版国家安全战略提出大幅提高防卫预算印太美日同盟经济框架"
PUNCT = "。，、；：？！…—“”‘’「」《》（）【】·.,;:?!'\"()[]{}<>&-_/\\|@#%^*+=~`"
RTL = "אבגדהוזחטיכלמנסעפצקרשתابتثجحخدذرسشصضطظعغفقكلمنهوي"
ODD = ("\x00\x01\x08\x0b\x0c\x0e\x1f\x7f\x85\x9f\ufeff\ufffe\uffff\u2028\u2029"
       "\u200b\u200e\u200f\u202a\u202e\u2066\u2069\u3000\xa0\u0301\U0001f600\U00020000")

chars = st.one_of(
    st.sampled_from(CJK), st.sampled_from(PUNCT), st.sampled_from(RTL), st.sampled_from(ODD),
    st.sampled_from(" \t\r\n"),
    st.characters(),  # any code point but surrogates
    st.characters(categories=["Cs"]),  # unpaired surrogates
)
line = st.one_of(
    st.text(chars, max_size=80),
    st.text(st.sampled_from(PUNCT + " 　"), min_size=1, max_size=30),  # punctuation only
    st.builds(lambda unit, n: unit * n, st.text(chars, min_size=1, max_size=12),
              st.integers(20, 250)),  # very long lines
)
texts = st.lists(st.tuples(line, st.sampled_from(["\n", "\r\n", "\r", "\n\n"])), max_size=6).map(
    lambda parts: "".join(a + b for a, b in parts))
file_names = st.binary(min_size=1, max_size=40).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b".."))


def encode(text: str, encoding: str) -> tuple[bytes, str, str]:
    """The file's bytes, the text a reader should find in them (a leading byte-order mark
    is an encoding's, not the text's) and the encoding used (UTF-8 if `encoding` cannot
    hold the text)."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
    if encoding == "utf-8":  # unpaired surrogates give bytes that are not UTF-8
        data = text.encode("utf-8", "surrogatepass")
        if data.startswith(b"\xef\xbb\xbf"):
            text = text[1:]
    return data, text, encoding


def expected_paragraphs(text: str) -> list[str]:
    kept = "".join(c for c in text if XML_CHAR.match(c))
    return [ln.strip() for ln in LINE_BREAK.split(kept) if ln.strip()]


def must_translate(text: str, data: bytes, encoding: str) -> bool:
    """Plain text that zhen may not refuse: decodable, no NUL, few control characters."""
    if encoding not in ("utf-8", "utf-8-sig", "utf-16"):
        return False  # legacy encodings are recognised only for Chinese-looking text
    controls = sum(1 for c in text if c < " " and c not in "\t\n\r" or "\x7f" <= c <= "\x9f")
    try:
        data.decode("utf-8" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError:
        return False
    return "\0" not in text and controls * 10 < len(text) and bool(expected_paragraphs(text))


def test_any_text_gives_valid_tei_keeping_every_xml_character(batch, tmp_path_factory,
                                                              tei_validator):
    root = tmp_path_factory.mktemp("props")
    keep = root / "for-jing"
    keep.mkdir()
    counter = itertools.count()

    @PROPERTY
    @given(text=texts, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gb18030"]),
           raw_name=file_names)
    @example("日本政府近日通过新版国家安全战略。\n\n印太经济框架 & <美日同盟>\n", "utf-8", b"a")
    @example("“三海联动”的提法。\r\n\t外交部发言人表示。\r", "utf-16", b"\xff name")
    @example("\ufeff新黄金时代\u200b的说法再次出现。\n", "utf-8-sig", b"x y.md")
    @example("日本政府近日通过新版国家安全战略，提出大幅提高防卫预算。\n", "gb18030", b"gb")
    def check(text, encoding, raw_name):
        n = next(counter)
        folder = root / f"case{n}"
        folder.mkdir()
        data, readable, encoding = encode(text, encoding)
        name = os.fsdecode(raw_name + b".txt")
        path = folder / name
        path.write_bytes(data)

        report = batch.run([path], folder / "out", keep_going=True, show_progress=False)
        (result,) = report.files
        if result.error:  # refused: one line naming the file, nothing written
            assert not must_translate(readable, data, encoding), result.error
            assert result.error.startswith(str(path))  # (the CLI escapes a \n in a name)
            assert "\n" not in result.error[len(str(path)):]
            assert not list((folder / "out").iterdir())
            return
        # strict parser: well-formed (bytes, as lxml cannot open a name with surrogates)
        tree = etree.ElementTree(etree.fromstring(result.output.read_bytes()))
        assert check_invariants(result.output, tree) == []
        zh = [("".join(p.itertext())) for p in tree.xpath(
            ".//t:div[@type='original']//*[self::t:p or self::t:head]", namespaces=NS)]
        if must_translate(readable, data, encoding):
            assert zh == expected_paragraphs(readable)
        filename = tree.findtext(".//t:sourceDesc/t:bibl/t:idno[@type='filename']",
                                 namespaces=NS)
        assert filename == display_name(name)
        shutil.copy(result.output, keep / f"{n:04d}.tei.xml")

    check()
    written = sorted(keep.iterdir())
    # The four explicit examples give TEI; so does a fair share of the random ones (22 to 43
    # of the 60 in repeated runs; many are empty, undecodable or mostly control characters).
    assert len(written) >= 4 + 12
    tei_validator(*written)


# -- the one TEI serialiser writes what libxml2 would ----------------------------------------

xml_text = st.text(st.one_of(st.sampled_from("<>&\"'\r\n\t \u3000中文"),
                             st.characters(codec="utf-8").filter(XML_CHAR.match)), max_size=20)
TERM_IDS = ["indo-pacific", "gdp", "r-and-d", "x.y_z"]


@st.composite
def sentences(draw, sid):
    zh, en = draw(xml_text), draw(st.one_of(st.none(), xml_text))
    terms = []
    # Term occurrences are never empty (a match has at least one character).
    for term_id in draw(st.lists(st.sampled_from(TERM_IDS), max_size=3 if zh else 0)):
        start = draw(st.integers(0, len(zh) - 1))
        match = TermMatch(term_id, start, draw(st.integers(start + 1, len(zh))),
                          status=draw(st.one_of(st.none(), st.sampled_from(TermStatus))))
        if en and draw(st.booleans()):
            match.en_start = draw(st.integers(0, len(en) - 1))  # may overlap others: kept
            match.en_end = draw(st.integers(match.en_start + 1, len(en)))
        terms.append(match)
    return Sentence(sid, zh, en, terms, draw(st.booleans()))


@st.composite
def documents(draw):
    paragraphs = []
    for p in range(1, draw(st.integers(0, 4)) + 1):
        count = draw(st.integers(0, 3))
        kind = draw(st.sampled_from(["p", "head"]))  # headings open (nested) sections
        paragraphs.append(Paragraph(f"p{p}", [draw(sentences(f"p{p}.s{s}"))
                                              for s in range(1, count + 1)],
                                    kind, draw(st.integers(0, 4)) if kind == "head" else 0))
    used = {o.term_id for para in paragraphs for s in para.sentences for o in s.terms}
    terms = {tid: Term(tid, draw(xml_text.filter(bool)), draw(xml_text),
                       tuple(draw(st.lists(xml_text, max_size=2))),
                       draw(st.sampled_from(TermKind)), draw(xml_text)) for tid in sorted(used)}
    provenance = Provenance("translate-zh_en", "1.9", draw(st.booleans()), "4.8.5",
                            draw(xml_text), "0" * 64, "0.1.0", "2026-11-26",
                            draw(st.integers(0, 9)), model_kind="argos", device="cpu",
                            settings=DecodingOptions(compute_type="int8").to_record())
    source = SourceInfo(draw(xml_text), "1" * 64, draw(st.sampled_from(["utf-8", "utf-8-sig",
                                                                          "gb18030", ""])),
                        draw(st.integers(0, 3)))
    info = DocumentInfo(*(draw(xml_text) for _ in range(2)),
                        draw(st.sampled_from(["", "2025", "2025-03-04"])),
                        *(draw(xml_text) for _ in range(3)),
                        tuple(draw(st.lists(st.tuples(xml_text, xml_text), max_size=2))),
                        draw(xml_text))
    return Document("doc", draw(xml_text), source, paragraphs, provenance, terms, info)


class _SmallSpools(TeiWriter):
    SPOOL_MEMORY = 64  # spill to the temporary files early


@pytest.mark.slow  # hundreds of documents through two serialisers
@settings(max_examples=examples(300), deadline=None)
@given(doc=documents())
def test_streamed_tei_is_what_libxml2_writes(doc):
    """The paragraphs are serialised by hand (bounded memory); libxml2 parsing and writing
    them again gives the same body, and the sentences' text is there."""
    writer = _SmallSpools()
    for para in doc.paragraphs:
        writer.add(para)
    out = io.BytesIO()
    writer.write(out, doc)
    writer.close()
    data = out.getvalue()
    assert data == tei_bytes(doc)
    tree = etree.ElementTree(etree.fromstring(data))
    body = tree.find(f"{{{TEI_NS}}}text/{{{TEI_NS}}}body")
    again = etree.tostring(body, encoding="UTF-8", xml_declaration=False, with_tail=False).replace(f' xmlns="{TEI_NS}"'.encode(), b"", 1)
    assert data[data.index(b"<body>"):data.index(b"</body>") + 7] == again
    ns = {"t": TEI_NS}
    for lang, text in (("zh", lambda s: s.zh_text), ("en", lambda s: s.en or "")):
        written = ["".join(el.itertext()) for el in
                   tree.xpath(f"//t:div[@xml:lang='{lang}']//t:s", namespaces=ns)]
        # (overlapping term spans, which the matcher never makes, repeat their overlap)
        assert [w for w, s in zip(written, doc.sentences()) if not s.terms] == \
            [text(s) for s in doc.sentences() if not s.terms]


# -- the streaming reader reads what read_text_file reads -------------------------------------


class SmallChunks(TextStream):
    CHUNK_BYTES = 5  # every multi-byte character and CRLF gets split somewhere


@settings(max_examples=examples(300), deadline=None)
@given(data=st.one_of(
    st.binary(max_size=60),
    st.tuples(texts, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "gb18030",
                                      "big5"])).map(lambda t: encode(*t)[0]),
))
def test_streaming_reader_matches_read_text_file(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "stream-input.txt"
    path.write_bytes(data)
    try:
        expected = read_text_file(path)
    except InputError as exc:
        expected = str(exc)
    try:
        stream = SmallChunks(path)
        got = (list(stream.paragraphs()), stream.info())
    except InputError as exc:
        got = str(exc)
    assert got == expected
