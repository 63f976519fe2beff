"""Reading TMX memories: translate-toolkit's and zhen's own files, inline codes, hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest
from zhen.document import Document, Origin, Paragraph, Sentence, SourceInfo
from zhen.errors import InputError
from zhen.exports.common import TeiDoc
from zhen.exports.parallel import render_tmx
from zhen.formats import tmx as tmx_module
from zhen.formats.tmx import TmxUnit, read_tmx


def test_reads_a_memory_written_by_translate_toolkit(tmp_path):
    from translate.storage import tmx

    store = tmx.tmxfile(sourcelanguage="zh", targetlanguage="en")
    store.addtranslation("稀土很重要。", "zh", "Rare earths matter.", "en")
    store.addtranslation("“甲 & 乙”。", "zh", "“A & B”.", "en", comment="a note")
    path = tmp_path / "tt.tmx"
    path.write_bytes(bytes(store))  # has <!DOCTYPE tmx SYSTEM "tmx14.dtd">: not loaded
    assert read_tmx(path) == (
        [
            TmxUnit("稀土很重要。", "Rare earths matter.", None, None, None),
            TmxUnit("“甲 & 乙”。", "“A & B”.", None, None, None),
        ],
        0,
    )


def test_reads_zhens_own_tmx_export(tmp_path):
    doc = Document(
        id="brief",
        title="简报",
        source=SourceInfo("brief.txt", "0" * 64, "utf-8"),
        paragraphs=[
            Paragraph(
                "p1",
                [
                    Sentence("p1.s1", "第一句。", "First sentence."),
                    Sentence("p1.s2", "人工句。", "A human one.", origin=Origin.HUMAN),
                    Sentence("p1.s3", "未译。", None),  # not a pair: render_tmx leaves it out
                ],
            )
        ],
    )
    path = tmp_path / "zhen.tmx"
    path.write_bytes(render_tmx([TeiDoc("brief.tei.xml", doc)]))
    units, skipped = read_tmx(path)
    assert [(u.zh, u.en) for u in units] == [
        ("第一句。", "First sentence."),
        ("人工句。", "A human one."),
    ]
    assert skipped == 0


def tmx_doc(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
        '<header creationtool="t" creationtoolversion="1" segtype="sentence" o-tmf="x" '
        'adminlang="en" srclang="zh-CN" datatype="plaintext"/>\n'
        f"<body>\n{body}\n</body>\n</tmx>\n"
    )


def test_inline_codes_language_variants_props_and_skipped_units(tmp_path):
    body = """
<tu creationid="tu-author" changedate="20240101T000000Z">
  <prop type="x-origin">human</prop>
  <tuv lang="ZH-cn"><seg>甲<bpt i="1">&lt;b&gt;</bpt>乙<ept i="1">&lt;/b&gt;</ept>丙</seg></tuv>
  <tuv xml:lang="en-US" creationid="translator" changedate="20250202T020202Z">
    <seg>A<ph x="1">&lt;br/&gt;</ph>B<it pos="begin">&lt;i&gt;<sub>note</sub></it><hi type="em">C</hi><ut>{x}</ut>D</seg>
  </tuv>
</tu>
<tu creationid="tu-only">
  <tuv xml:lang="zh-Hans"><seg>简体</seg></tuv>
  <tuv xml:lang="de"><seg>Deutsch</seg></tuv>
  <tuv xml:lang="en"><seg>Simplified</seg></tuv>
</tu>
<tu><tuv xml:lang="zh"><seg>只有中文</seg></tuv><tuv xml:lang="fr"><seg>français</seg></tuv></tu>
<tu><tuv xml:lang="zh"><seg>空</seg></tuv><tuv xml:lang="en"><seg></seg></tuv></tu>
"""
    path = tmp_path / "inline.tmx"
    path.write_text(tmx_doc(body), encoding="utf-8")
    units, skipped = read_tmx(path)
    assert units == [
        TmxUnit("甲乙丙", "ABCD", "human", "translator", "20250202T020202Z"),
        TmxUnit("简体", "Simplified", None, "tu-only", None),
    ]
    assert skipped == 2


def test_an_empty_memory_is_no_error(tmp_path):
    path = tmp_path / "empty.tmx"
    path.write_text(tmx_doc(""), encoding="utf-8")
    assert read_tmx(path) == ([], 0)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE tmx [\n <!ENTITY lol "lol">\n'
    ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
    + tmx_doc(
        '<tu><tuv xml:lang="zh"><seg>&lol1;</seg></tuv><tuv xml:lang="en"><seg>x</seg></tuv></tu>'
    ).split("\n", 1)[1]
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (tmx_doc("<tu><tuv xml:lang='zh'><seg>x</seg></tu>"), r"bad\.tmx:\d+: not well-formed XML"),
        (BILLION_LAUGHS, "refusing a file whose DOCTYPE declares entities"),
        ("<xliff><file/></xliff>", r"not a TMX file \(root element <xliff>\)"),
        (
            tmx_doc(
                '<tu><tuv xml:lang="de"><seg>Hallo</seg></tuv>'
                '<tuv xml:lang="fr"><seg>Bonjour</seg></tuv></tu>'
            ),
            r"pairs other languages \(found: de, fr\); zhen's memory holds zh→en",
        ),
    ],
    ids=["not-well-formed", "entities", "root-not-tmx", "de-fr"],
)
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.tmx"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as exc:
        read_tmx(path)
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.tmx"
    path.write_text(tmx_doc(""), encoding="utf-8")
    monkeypatch.setattr(tmx_module, "MAX_TMX_BYTES", 10)
    with pytest.raises(InputError, match=r"big\.tmx: \d+ bytes is more than the 10 a TMX"):
        read_tmx(path)


def test_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="missing.tmx: file not found"):
        read_tmx(tmp_path / "missing.tmx")
