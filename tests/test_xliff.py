"""XLIFF 1.2 for CAT tools: rendering, reading back, translate-toolkit round trip, hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from zhen.document import (
    Document,
    Origin,
    Paragraph,
    Sentence,
    SourceInfo,
    Term,
    TermKind,
    TermMatch,
    TermStatus,
)
from zhen.errors import InputError
from zhen.formats import xliff as xliff_module
from zhen.formats.xliff import (
    XLIFF_NS,
    Suggestion,
    XliffFile,
    XliffUnit,
    read_xliff,
    render_xliff,
)

NS = {"x": XLIFF_NS}
ORIGINAL = "brief.tei.xml"


def make_doc() -> Document:
    terms = {
        "rare-earths": Term("rare-earths", "稀土", "rare earths"),
        "apec": Term("apec", "APEC", "APEC", kind=TermKind.KEEP),
        "cptpp": Term("cptpp", "全面与进步跨太平洋伙伴关系协定", "CPTPP"),
    }
    return Document(
        id="brief",
        title="简报",
        source=SourceInfo("brief.txt", "0" * 64, "utf-8"),
        terms=terms,
        paragraphs=[
            Paragraph(
                "p1",
                [
                    Sentence(
                        "p1.s1",
                        "稀土出口与APEC会议。",
                        "Rare earths exports and the APEC meeting.",
                        terms=[
                            TermMatch("rare-earths", 0, 2, 0, 11, TermStatus.ENFORCED),
                            TermMatch("apec", 5, 9, 29, 33, TermStatus.MODEL),
                        ],
                    ),
                    Sentence(
                        "p1.s2",
                        "加入全面与进步跨太平洋伙伴关系协定。",
                        "Joining the trans-Pacific pact.",
                        terms=[TermMatch("cptpp", 2, 17, status=TermStatus.MISSED)],
                        origin=Origin.MEMORY,
                    ),
                ],
            ),
            Paragraph(
                "p2",
                [
                    Sentence(
                        "p2.s1",
                        "“甲 < 乙 & 丙”。",
                        "  “A < B & C”,  said  twice. ",  # spaces must survive pretty printing
                        origin=Origin.HUMAN,
                        translator="Wang Fang",
                    ),
                    Sentence("p2.s2", "人工无名。", "Anonymous.", origin=Origin.HUMAN),
                    Sentence("p2.s3", "未译。", None),
                ],
            ),
        ],
    )


SUGGESTIONS = {
    "p1.s2": [
        Suggestion("加入协定。", "Joining the agreement.", 71.6),
        Suggestion("加入全面与进步跨太平洋伙伴关系协定了。", "Having joined the CPTPP.", 92.2),
    ]
}


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    path = tmp_path / "brief.xlf"
    path.write_bytes(render_xliff(make_doc(), ORIGINAL, SUGGESTIONS))
    return path


def unit(root: etree._Element, unit_id: str) -> etree._Element:
    return root.xpath(f"//x:trans-unit[@id='{unit_id}']", namespaces=NS)[0]


def test_render_then_read_gives_back_every_sentence(rendered):
    assert read_xliff(rendered) == [
        XliffFile(
            rendered,
            ORIGINAL,
            (
                XliffUnit(
                    "p1.s1",
                    "稀土出口与APEC会议。",
                    "Rare earths exports and the APEC meeting.",
                    "needs-review-translation",
                ),
                XliffUnit(
                    "p1.s2",
                    "加入全面与进步跨太平洋伙伴关系协定。",
                    "Joining the trans-Pacific pact.",
                    "needs-review-translation",
                ),
                XliffUnit("p2.s1", "“甲 < 乙 & 丙”。", "  “A < B & C”,  said  twice. ", "translated"),
                XliffUnit("p2.s2", "人工无名。", "Anonymous.", "translated"),
                XliffUnit("p2.s3", "未译。", None, None),
            ),
        )
    ]


def test_rendered_structure_follows_xliff_1_2(rendered):
    # No XLIFF 1.2 XSD ships in any wheel installed here (translate-toolkit has none), so the
    # content model is checked by hand: trans-unit = source, target?, note*, alt-trans*.
    root = etree.parse(str(rendered)).getroot()
    assert root.tag == f"{{{XLIFF_NS}}}xliff" and root.get("version") == "1.2"
    (file,) = root.findall("x:file", NS)
    assert dict(file.attrib) == {
        "original": ORIGINAL,
        "source-language": "zh-CN",
        "target-language": "en",
        "datatype": "plaintext",
        "tool-id": "zhen",
    }
    tool = file.find("x:header/x:tool", NS)
    assert tool.get("tool-id") == "zhen" and tool.get("tool-name") == "zhen"
    groups = file.findall("x:body/x:group", NS)
    assert [(g.get("id"), g.get("restype")) for g in groups] == [
        ("p1", "x-paragraph"),
        ("p2", "x-paragraph"),
    ]
    order = ["source", "target", "note", "alt-trans"]
    for tu in root.iter(f"{{{XLIFF_NS}}}trans-unit"):
        names = [etree.QName(c).localname for c in tu]
        assert names == sorted(names, key=order.index), names
        assert names.count("source") == 1 and names.count("target") <= 1
        assert tu.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
        assert tu.get("resname") == "en." + tu.get("id")


def test_states_notes_and_suggestions(rendered):
    root = etree.parse(str(rendered)).getroot()
    machine = unit(root, "p1.s1")
    target = machine.find("x:target", NS)
    assert target.get("state") == "needs-review-translation"
    assert target.get("state-qualifier") == "mt-suggestion"
    assert [(n.get("from"), n.get("annotates"), n.text) for n in machine.findall("x:note", NS)] == [
        ("zhen", "source", "term 稀土 → rare earths (enforced)"),
        ("zhen", "source", "term APEC → APEC (model)"),
    ]
    memory = unit(root, "p1.s2")
    assert memory.find("x:target", NS).get("state-qualifier") == "mt-suggestion"
    assert [n.text for n in memory.findall("x:note", NS)] == [
        "term 全面与进步跨太平洋伙伴关系协定 → CPTPP (missed)"
    ]
    alts = memory.findall("x:alt-trans", NS)
    assert [(a.get("match-quality"), a.get("origin")) for a in alts] == [
        ("92", "zhen-human-memory"),
        ("72", "zhen-human-memory"),
    ]
    assert alts[0].findtext("x:source", namespaces=NS) == "加入全面与进步跨太平洋伙伴关系协定了。"
    alt_target = alts[0].find("x:target", NS)
    assert alt_target.text == "Having joined the CPTPP."
    assert alt_target.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    human = unit(root, "p2.s1")
    target = human.find("x:target", NS)
    assert target.get("state") == "translated" and target.get("state-qualifier") is None
    assert [(n.get("annotates"), n.text) for n in human.findall("x:note", NS)] == [
        ("general", "human translation (Wang Fang)")
    ]
    assert unit(root, "p2.s2").findtext("x:note", namespaces=NS) == "human translation"
    untranslated = unit(root, "p2.s3")
    assert untranslated.find("x:target", NS) is None
    assert untranslated.find("x:note", NS) is None


def test_translate_toolkit_reads_edits_and_zhen_reads_its_edits(rendered, tmp_path):
    from translate.storage import xliff

    store = xliff.xlifffile.parsefile(str(rendered))
    units = [u for u in store.units if not u.isheader()]
    # getid() is the file's @original, "\x04", then the trans-unit @id: groups add nothing.
    assert [u.getid() for u in units] == [
        f"{ORIGINAL}\x04{i}" for i in ("p1.s1", "p1.s2", "p2.s1", "p2.s2", "p2.s3")
    ]
    assert [u.source for u in units][:2] == [
        "稀土出口与APEC会议。",
        "加入全面与进步跨太平洋伙伴关系协定。",
    ]
    assert [u.target for u in units] == [
        "Rare earths exports and the APEC meeting.",
        "Joining the trans-Pacific pact.",
        "  “A < B & C”,  said  twice. ",
        "Anonymous.",
        None,
    ]
    for u in units:
        if u.getid().endswith(("p1.s1", "p2.s3")):
            u.target = "Edited " + u.getid().rsplit("\x04", 1)[1]
    edited = tmp_path / "edited.xlf"
    store.savefile(str(edited))
    # What translate-toolkit 3.x writes when a target is set: trans-unit ids and groups are
    # kept; a unit below "translated" (needs-review-translation, or no target at all) gets
    # target/@state="translated" and trans-unit/@approved="yes", but a stale
    # state-qualifier="mt-suggestion" is left in place; a new target has no xml:lang.
    # A unit already "translated" keeps its state and gets no @approved.
    root = etree.parse(str(edited)).getroot()
    assert unit(root, "p1.s1").get("approved") == "yes"
    assert unit(root, "p1.s1").find("x:target", NS).get("state-qualifier") == "mt-suggestion"
    assert unit(root, "p2.s3").get("approved") == "yes"
    back = {u.id: u for u in read_xliff(edited)[0].units}
    assert back["p1.s1"] == XliffUnit(
        "p1.s1", "稀土出口与APEC会议。", "Edited p1.s1", "translated"
    )
    assert back["p2.s3"] == XliffUnit("p2.s3", "未译。", "Edited p2.s3", "translated")
    assert back["p1.s2"].state == "needs-review-translation"
    assert back["p2.s1"].target == "  “A < B & C”,  said  twice. "


def xliff_doc(body: str, *, source: str = "zh-CN", target: str = "en") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<xliff version="1.2" xmlns="{XLIFF_NS}">\n'
        f'<file original="a.txt" source-language="{source}" target-language="{target}" '
        f'datatype="plaintext"><body>\n{body}\n</body></file>\n</xliff>\n'
    )


def test_inline_codes_nested_groups_and_several_files(tmp_path):
    units = """
<group id="outer"><group id="inner">
  <trans-unit id="a">
    <source>甲<g id="1">乙<mrk mtype="term">丙</mrk></g><bpt id="2">&lt;b&gt;</bpt>丁<ept id="2">&lt;/b&gt;</ept><ph id="3">{0}</ph>戊<x id="4"/>己<it id="5" pos="open">&lt;i&gt;</it>庚</source>
    <seg-source><mrk mtype="seg" mid="1">segmented</mrk></seg-source>
    <target state="final">A<bx id="6"/>B<ex id="6"/><g id="1">C</g><ph id="3">{0}<sub>sub</sub></ph>D</target>
    <alt-trans><target>not this one</target></alt-trans>
  </trans-unit>
</group></group>
<trans-unit id="b"><source>只有原文</source><alt-trans><target>proposal</target></alt-trans></trans-unit>
"""
    text = xliff_doc(units).replace(
        "</file>",
        '</file><file original="b.txt" source-language="ZH" target-language="EN-gb" '
        'datatype="plaintext"><body><trans-unit id="a"><source>再</source>'
        "<target>Again</target></trans-unit></body></file>",
    )
    path = tmp_path / "inline.xlf"
    path.write_text(text, encoding="utf-8")
    first, second = read_xliff(path)
    assert first.original == "a.txt"
    assert first.units == (
        XliffUnit("a", "甲乙丙丁戊己庚", "ABCD", "final"),
        XliffUnit("b", "只有原文", None, None),
    )
    assert second.units == (XliffUnit("a", "再", "Again", None),)  # ids are unique per file


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE xliff [\n <!ENTITY lol "lol">\n'
    ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">\n]>\n'
    + xliff_doc('<trans-unit id="a"><source>&lol2;</source></trans-unit>').split("\n", 1)[1]
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (xliff_doc("<trans-unit id='a'><source>x</source>"), r"bad\.xlf:\d+: not well-formed XML"),
        (BILLION_LAUGHS, "refusing a file whose DOCTYPE declares entities"),
        (
            '<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="zh" '
            'trgLang="en"><file id="f"><unit id="u"><segment><source>x</source></segment>'
            "</unit></file></xliff>",
            "XLIFF 2.0; zhen reads XLIFF 1.2: export XLIFF 1.2 from the CAT tool",
        ),
        ("<html><body/></html>", r"not an XLIFF 1\.2 file \(root element <html>\)"),
        (
            xliff_doc('<trans-unit id="a"><source>x</source></trans-unit>', target="de-DE"),
            "pairs zh-CN→de-DE",
        ),
        (
            xliff_doc('<trans-unit id="a"><source>x</source></trans-unit>', source="ja"),
            "pairs ja→en",
        ),
        (
            xliff_doc('<group><trans-unit><source>x</source></trans-unit></group>'),
            r"bad\.xlf:4: trans-unit without an id",
        ),
        (
            xliff_doc(
                '<trans-unit id="a"><source>x</source></trans-unit>\n'
                '<group><trans-unit id="a"><source>y</source></trans-unit></group>'
            ),
            r"bad\.xlf:5: trans-unit id 'a' also on line 4",
        ),
    ],
    ids=["not-well-formed", "entities", "xliff-2", "html", "zh-de", "ja-en", "no-id", "dup-id"],
)
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.xlf"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as exc:
        read_xliff(path)
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


def test_oversized_file_is_refused(rendered, monkeypatch):
    monkeypatch.setattr(xliff_module, "MAX_XLIFF_BYTES", 100)
    with pytest.raises(InputError, match=r"brief\.xlf: \d+ bytes is more than the 100") as exc:
        read_xliff(rendered)
    assert "\n" not in str(exc.value)
