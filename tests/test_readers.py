"""The readers: web pages, Word files, Markdown and text to paragraphs and headings, their
metadata, the manifest and sidecar, dates; every bad input refused with one line."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree
from zhen.document import (
    Document,
    DocumentInfo,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
)
from zhen.errors import InputError
from zhen.readers import (
    check_manifests,
    formats,
    metadata_fingerprint,
    read_document,
    reader_for,
    suffixes,
)
from zhen.readers.base import Block, heading_rank, nest_headings
from zhen.readers.metadata import normalise_date
from zhen.tei.body import tei_bytes
from zhen.tei.names import TEI_NS
from zhen.tei.read import read_tei
from zhen.tei.validate import check_invariants

DATA = Path(__file__).parent / "data" / "documents"
NS = {"t": TEI_NS}
TITLE = "日美同盟的新变化与地区安全"
# The article in the fixtures, as (kind, text, section depth): what every reader must give.
ARTICLE = [
    ("head", TITLE, 1),
    ("p", "近年来，日美同盟的合作范围明显扩大，从传统的防务合作延伸到经济安全和技术领域。", 0),
    ("p", "日本政府多次表示，将在“印太”框架下承担更多责任。与此同时，美方希望盟友分担更多防卫费用。", 0),
    ("head", "一、合作范围扩大", 2),
    ("p", "双方在导弹防御、网络安全和太空领域的协调日益密切。分析人士认为，这反映了同盟重心的转移。", 0),
    ("p", "在经济安全方面，两国就关键矿产供应链和半导体出口管制加强了沟通。", 0),
    ("head", "二、地区反应", 2),
    ("p", "地区国家对此反应不一。有的国家表示欢迎，有的国家则担心地区局势因此更加紧张。", 0),
    ("p", "专家指出，各方应通过对话管控分歧，避免误判。", 0),
    ("head", "三、前景", 2),
    ("p", "展望未来，同盟的走向仍取决于两国国内政治和国际形势的变化。", 0),
]
URL = "https://www.donghai-review.example/world/2025/0304/a1234.html"
# Text of the page around the article: none of it may be read.
CHROME = ["登录", "首页", "国际频道", "您的位置", "2025年03月04日", "我要评论", "分享到", "责任编辑",
          "相关新闻", "外长会谈", "网友评论", "文明上网", "分析得很透彻", "希望地区保持和平",
          "热门排行", "广告", "版权所有", "脚本", "请启用脚本", "导航样式", "hm.src"]


def as_tuples(blocks: list[Block]) -> list[tuple[str, str, int]]:
    return [(b.kind, b.text, b.level) for b in blocks]


def make_docx(path: Path, blocks=ARTICLE, **core) -> Path:
    """A Word file made from the article with python-docx: the title in the Title style,
    sections in Heading 1, a table and a soft line break."""
    from docx import Document as Docx

    doc = Docx()
    props = {"title": TITLE, "author": "周立", "created": dt.datetime(2025, 3, 4, 8, 15)}
    props.update(core)
    for key, value in props.items():
        setattr(doc.core_properties, key, value)
    for kind, text, level in blocks:
        if kind == "head":
            doc.add_heading(text, level=0 if level == 1 else 1)
        else:
            para = doc.add_paragraph()
            half = len(text) // 2  # in two runs, the second bold: still one paragraph
            para.add_run(text[:half])
            para.add_run(text[half:]).bold = True
    doc.save(path)
    return path


# -- the same article from three formats --------------------------------------------------


def test_web_page_gives_exactly_the_article_and_its_metadata():
    blocks, info, source = read_document(DATA / "news-page.html")
    assert as_tuples(blocks) == ARTICLE
    text = "\n".join(b.text for b in blocks)
    assert not [c for c in CHROME if c in text]
    assert "<" not in text and "{" not in text  # no markup, script or style
    assert (info.title, info.author, info.date, info.publisher, info.url, info.format) == (
        TITLE, "周立", "2025-03-04", "东海评论网", URL, "html")
    assert (source.filename, source.encoding) == ("news-page.html", "utf-8")


def test_news_site_subheads_credits_and_source_labels(tmp_path):
    page = tmp_path / "finance.html"
    page.write_text(
        '<html><head><meta charset="utf-8"><title>专家：稳增长政策仍有发力空间_新浪财经</title>'
        '<meta name="PubDate" content="2025年02月20日 10:05">'
        '<meta name="ContentSource" content="来源：新浪财经"></head><body>'
        '<div class="nav"><a href="/">首页</a> <a href="/f">财经</a></div>'
        '<h1 class="main-title">专家：稳增长政策仍有发力空间</h1><div class="article" id="artibody">'
        "<p>　　多位经济学家认为，今年稳增长政策仍有较大发力空间。</p>"
        "<p>　　<strong>财政政策更加积极</strong></p>"
        "<p>　　专家表示，财政赤字率有望适当提高，专项债券规模也可能扩大。</p>"
        "<p>　　<strong>核心提示：降准仍有空间。</strong>这是一句正文。</p>"
        '<p class="article-editor">责任编辑：王五</p></div>'
        '<div id="comment_box">热门评论：<p>支持！希望经济越来越好。</p></div></body></html>',
        encoding="utf-8")
    blocks, info, _ = read_document(page)
    assert as_tuples(blocks) == [
        ("head", "专家：稳增长政策仍有发力空间", 1),
        ("p", "多位经济学家认为，今年稳增长政策仍有较大发力空间。", 0),
        ("head", "财政政策更加积极", 2),  # a bold paragraph that reads as a heading
        ("p", "专家表示，财政赤字率有望适当提高，专项债券规模也可能扩大。", 0),
        ("p", "核心提示：降准仍有空间。这是一句正文。", 0)]  # no credit line, no comment
    assert (info.title, info.date, info.publisher) == ("专家：稳增长政策仍有发力空间",
                                                       "2025-02-20", "新浪财经")


def test_word_file_gives_the_same_blocks(tmp_path):
    blocks, info, source = read_document(make_docx(tmp_path / "notes.docx"))
    assert as_tuples(blocks) == ARTICLE
    assert (info.title, info.author, info.date, info.format) == (TITLE, "周立", "2025-03-04",
                                                                  "docx")
    assert source.encoding == "" and len(source.sha256) == 64


def test_word_tables_notes_and_soft_breaks(tmp_path):
    from docx import Document as Docx

    doc = Docx()
    doc.add_paragraph("第一行。\n第二行。")  # a soft line break ends a paragraph
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "指标", "目标"
    table.cell(1, 0).merge(table.cell(1, 1)).text = "合并的单元格。"  # given once
    doc.add_paragraph("表后正文。")
    path = tmp_path / "t.docx"
    doc.save(path)
    blocks, info, _ = read_document(path)
    assert [b.text for b in blocks] == ["第一行。", "第二行。", "指标", "目标", "合并的单元格。",
                                        "表后正文。"]
    assert info.title == ""  # python-docx's template has none, and no heading leads


def test_markdown_gives_the_same_blocks_and_front_matter():
    blocks, info, _ = read_document(DATA / "news-notes.md")
    assert as_tuples(blocks) == ARTICLE
    assert (info.title, info.author, info.date, info.publisher, info.url) == (
        TITLE, "周立", "2025-03-04", "东海评论网", URL)
    assert info.extra == (("tags", "同盟, 安全"),)
    text = "\n".join(b.text for b in blocks)
    assert not any(mark in text for mark in ("*", "#", "[", "](", "<!--", "代码"))


def test_text_file_headings(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(f"{TITLE}\n\n导语一句。\n一、合作范围扩大\n正文。\n（一）细节\n细节正文。\n"
                    "二、地区反应\n结语。\n", encoding="utf-8")
    blocks, info, _ = read_document(path)
    assert as_tuples(blocks) == [("head", TITLE, 1), ("p", "导语一句。", 0),
                                 ("head", "一、合作范围扩大", 2), ("p", "正文。", 0),
                                 ("head", "（一）细节", 3), ("p", "细节正文。", 0),
                                 ("head", "二、地区反应", 2), ("p", "结语。", 0)]
    assert info.title == TITLE and info.format == "txt"


@pytest.mark.parametrize("text, rank", [
    ("一、背景", 2), ("（二）主要措施", 3), ("第三章 总则", 2), ("第一节 范围", 3),
    ("一、坚持统筹协调，建立健全体系。", None),  # a sentence, not a heading
    ("（一）明确责任。各地区要落实。", None), ("近年来，合作不断深化", None),
    ("一、" + "很长" * 30, None), ("二、主要进展：", None),
])
def test_numbered_headings(text, rank):
    assert heading_rank(text) == rank


def test_heading_ranks_nest_as_sections():
    blocks = [Block("head", "T", 0), Block("head", "A", 2), Block("p", "x"),
              Block("head", "A1", 3), Block("head", "B", 2), Block("head", "Z", 1)]
    assert [b.level for b in nest_headings(blocks)] == [1, 2, 0, 3, 2, 2]


# -- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize("value, iso", [
    ("2025-03-04", "2025-03-04"), ("2025/3/4", "2025-03-04"), ("2025.3.4", "2025-03-04"),
    ("20250304", "2025-03-04"), ("2025-03-04T09:30:00+08:00", "2025-03-04"),
    ("2025-03-04 09:30", "2025-03-04"), ("2025年3月4日", "2025-03-04"),
    ("２０２５年３月４日", "2025-03-04"), ("2025年03月04日 08:15", "2025-03-04"),
    ("二〇二五年三月四日", "2025-03-04"), ("二〇二四年十二月三十一日", "2024-12-31"),
    ("2025年3月", "2025-03"), ("2025-03", "2025-03"), ("2025", "2025"),
    (dt.date(2025, 3, 4), "2025-03-04"), (dt.datetime(2025, 3, 4, 23, 59), "2025-03-04"),
])
def test_dates_normalised_to_iso(value, iso):
    assert normalise_date(value) == iso


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "昨天", "March 4, 2025",
                                   "3/4/2025", "2025年13月", "", "99"])
def test_invalid_dates_refused(value):
    with pytest.raises(ValueError):
        normalise_date(value)


# -- metadata from outside the file -------------------------------------------------------


def test_manifest_and_sidecar_override_the_file(tmp_path):
    page = tmp_path / "page.html"
    page.write_bytes((DATA / "news-page.html").read_bytes())
    before = metadata_fingerprint(page)
    (tmp_path / "metadata.csv").write_text(
        "file,title,publisher,date,region\n"
        "page.html,,东海日报,2025年3月5日,华东\n", encoding="utf-8-sig")
    _, info, source = read_document(page)
    assert (info.title, info.publisher, info.date) == (TITLE, "东海日报", "2025-03-05")
    assert info.extra == (("region", "华东"),)
    assert source.meta_sha256 == metadata_fingerprint(page) != before
    (tmp_path / "page.meta.json").write_text(json.dumps(
        {"publisher": "东海晚报", "author": ["周立", "王静"]}, ensure_ascii=False))
    _, info, _ = read_document(page)
    assert (info.publisher, info.author, info.date) == ("东海晚报", "周立, 王静", "2025-03-05")
    assert metadata_fingerprint(page, "html") != metadata_fingerprint(page)


def test_manifest_in_tsv_with_chinese_headers(tmp_path):
    (tmp_path / "a.txt").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "metadata.tsv").write_text("文件\t标题\t日期\na.txt\t报告\t2024-12\n",
                                           encoding="utf-8")
    _, info, _ = read_document(tmp_path / "a.txt")
    assert (info.title, info.date) == ("报告", "2024-12")


def test_manifest_problems_are_one_line_each(tmp_path):
    (tmp_path / "a.txt").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text(
        "file,date\na.txt,2025-02-30\ngone.html,2025-01-01\nb.txt,2025-01-01\n",
        encoding="utf-8")
    with pytest.raises(InputError, match=r"metadata.csv:2 \(the row of a.txt\): date "
                                         r"'2025-02-30' is not a date"):
        read_document(tmp_path / "a.txt")
    assert read_document(tmp_path / "b.txt")[1].date == "2025-01-01"  # others unaffected
    (problem,) = check_manifests([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert "metadata.csv:3: names gone.html, which is not in" in str(problem)
    assert "\n" not in str(problem)


@pytest.mark.parametrize("sidecar, message", [
    ("{not json", "not valid UTF-8 JSON"),
    ('["a"]', "not a JSON object"),
    ('{"date": "上周"}', "date '上周' is not a date"),
])
def test_bad_sidecar_refused(tmp_path, sidecar, message):
    (tmp_path / "a.txt").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "a.meta.json").write_text(sidecar, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_document(tmp_path / "a.txt")


# -- the registry ------------------------------------------------------------------------


def test_registry_and_format_names_agree_with_the_cli():
    from zhen.readers import FORMAT_NAMES

    assert list(formats()) == list(FORMAT_NAMES)
    assert suffixes() == [".docx", ".htm", ".html", ".markdown", ".md", ".txt"]
    assert reader_for(Path("A.HTML")).name == "html"


def test_makefile_builds_one_output_from_every_suffix():
    from conftest import REPO

    line = next(x for x in (REPO / "Makefile").read_text().splitlines()
                if x.startswith("INPUT_SUFFIXES"))
    assert sorted("." + x for x in line.split(":=")[1].split()) == suffixes()


def test_files_read_whole_are_bounded(tmp_path, monkeypatch):
    from zhen.readers import docx, html

    monkeypatch.setattr(html, "MAX_BYTES", 1000)
    with pytest.raises(InputError, match=r"too large for a web page .* as \.txt"):
        read_document(DATA / "news-page.html")
    monkeypatch.setattr(docx, "MAX_UNPACKED", 1000)
    with pytest.raises(InputError, match="zip bomb"):
        read_document(make_docx(tmp_path / "a.docx"))


def test_format_override_and_unknown_suffix(tmp_path):
    saved = tmp_path / "page.txt"
    saved.write_bytes((DATA / "news-page.html").read_bytes())
    blocks, info, _ = read_document(saved, "html")
    assert as_tuples(blocks) == ARTICLE and info.format == "html"
    with pytest.raises(InputError, match=r"x\.pdf: not a format zhen reads \(\.pdf\).*--format"):
        read_document(tmp_path / "x.pdf")
    with pytest.raises(InputError, match="metadata file"):
        read_document(tmp_path / "x.meta.json")


# -- bad inputs --------------------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _page(charset: str, encoding: str) -> bytes:
    html = (DATA / "news-page.html").read_text(encoding="utf-8")
    return html.replace('charset="utf-8"', f'charset="{charset}"').encode(encoding, "ignore")


BAD_INPUTS = {
    "corrupt.docx": (lambda d: d[: len(d) // 2], "not a valid .docx package"),
    "encrypted.docx": (lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
                       + "EncryptionInfo".encode("utf-16-le") + bytes(512), "encrypted"),
    "old.docx": (lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2048), "Word 97-2003"),
    "bomb.docx": (lambda d: _zip({"[Content_Types].xml": b"<Types/>",
                                  "word/document.xml": b" " * (8 << 20)}), "zip bomb"),
    "no-document.docx": (lambda d: _zip({"hello.txt": b"hi"}), "no document part"),
    "noarticle.html": (lambda d: (
        '<html><head><meta charset="utf-8"><title>东海评论网</title></head><body>'
        '<ul class="nav"><li><a href="/">首页</a></li><li><a href="/w">国际</a></li></ul>'
        '<div class="comments">网友：写得很好，支持！</div><script>var a="正文。";</script>'
        "</body></html>").encode(), "no article text found in the page"),
    "declares-gbk.html": (lambda d: _page("gb2312", "utf-8"),
                          "declares charset gb2312 but is not gb2312.*looks like UTF-8"),
    "declares-utf8.html": (lambda d: _page("utf-8", "gbk"),
                           "declares charset utf-8 but is not utf-8.*looks like GB18030"),
    "declares-latin1.html": (lambda d: _page("iso-8859-1", "utf-8"),
                             "declares charset iso-8859-1 but is not"),
    "unknown-charset.html": (lambda d: _page("x-klingon", "utf-8"), "does not know"),
    "binary.html": (lambda d: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
                    "not a web page \\(binary data"),
    "empty.html": (lambda d: b"  \n", "empty"),
    "bad-front-matter.md": (lambda d: "---\ntitle: [unclosed\n---\n正文。\n".encode(),
                            "front matter is not valid YAML"),
    "bad-date.md": (lambda d: "---\ndate: 2025-02-30\n---\n正文。\n".encode(),
                    "date '2025-02-30' is not a date"),
    "empty.md": (lambda d: "---\ntitle: 空\n---\n\n".encode(), "empty"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_refused_with_one_line(tmp_path, name):
    make, message = BAD_INPUTS[name]
    docx = make_docx(tmp_path / "good.docx").read_bytes()
    path = tmp_path / name
    path.write_bytes(make(docx))
    with pytest.raises(InputError, match=message) as caught:
        read_document(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and "\n" not in text and len(text) < 300


def test_page_bytes_in_the_declared_charset_are_read(tmp_path):
    path = tmp_path / "gbk.html"
    path.write_bytes(_page("gb2312", "gbk"))  # gb2312 is read as browsers do: GB18030
    blocks, _, source = read_document(path)
    assert as_tuples(blocks) == ARTICLE and source.encoding == "gb18030"


# -- the TEI of headings and metadata -----------------------------------------------------


def document_with_headings() -> Document:
    paragraphs, numbers = [], {"p": 0, "head": 0}
    for kind, text, level in ARTICLE:
        numbers[kind] += 1
        pid = f"{'h' if kind == 'head' else 'p'}{numbers[kind]}"
        paragraphs.append(Paragraph(pid, [Sentence(f"{pid}.s1", text, en=f"English {pid}")],
                                    kind, level))
    info = DocumentInfo(TITLE, "周立", "2025-03-04", "东海评论网", URL + "?a b", "html",
                        (("region", "华东"),), "Changes in the US-Japan Alliance")
    return Document("news", TITLE, SourceInfo("news.html", "a" * 64, "utf-8-sig", 0,
                                              meta_sha256="b" * 64),
                    paragraphs, Provenance("p", "1", pipeline_version="0.1.0"), info=info)


def test_headings_are_heads_of_nested_sections_and_read_back(tmp_path):
    data = tei_bytes(document_with_headings())
    root = etree.fromstring(data)
    zh = root.xpath("//t:div[@type='original']", namespaces=NS)[0]
    top = zh.xpath("t:div[@type='section']", namespaces=NS)
    assert len(top) == 1 and top[0][0].get("{http://www.w3.org/XML/1998/namespace}id") == "zh.h1"
    assert [len(d.xpath("t:p", namespaces=NS)) for d in top[0].xpath("t:div", namespaces=NS)] \
        == [2, 2, 1]
    en_heads = root.xpath("//t:div[@type='translation']//t:head", namespaces=NS)
    assert [h.get("corresp") for h in en_heads] == ["#zh.h1", "#zh.h2", "#zh.h3", "#zh.h4"]
    assert check_invariants(tmp_path / "x", etree.ElementTree(root)) == []
    path = tmp_path / "news.tei.xml"
    path.write_bytes(data)
    back = read_tei(path)
    assert [(p.kind, p.zh, p.level) for p in back.paragraphs] == ARTICLE
    assert back.info == replace(document_with_headings().info, url=URL + "?a%20b")
    assert back.source.encoding == "utf-8-sig" and back.source.meta_sha256 == "b" * 64
    assert tei_bytes(back) == data


def test_header_in_english_with_the_source_metadata(tmp_path):
    root = etree.fromstring(tei_bytes(document_with_headings()))
    header = root.find("t:teiHeader", NS)
    assert header.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    titles = header.xpath("t:fileDesc/t:titleStmt/t:title", namespaces=NS)
    assert [(t.get("type"), t.text) for t in titles][:2] == [
        (None, TITLE), ("translated", "Changes in the US-Japan Alliance")]
    assert titles[2].get("type") == "sub" and "English" in titles[2].text
    bibl = header.find("t:fileDesc/t:sourceDesc/t:bibl", NS)
    assert bibl.findtext("t:author", namespaces=NS) == "周立"
    assert bibl.find("t:date", NS).get("when") == "2025-03-04"
    assert bibl.findtext("t:publisher", namespaces=NS) == "东海评论网"
    assert bibl.find("t:ptr", NS).get("target") == URL + "?a%20b"
    idno = {i.get("type"): i.text for i in bibl.findall("t:idno", NS)}
    assert (idno["format"], idno["encoding"], idno["metadata-sha256"]) == ("html", "UTF-8",
                                                                           "b" * 64)
    assert header.xpath("t:fileDesc/t:notesStmt/t:note[@type='byte-order-mark']",
                        namespaces=NS)
    assert bibl.find("t:note[@n='region']", NS).text == "华东"


def test_headings_and_metadata_are_valid_tei(tmp_path, tei_validator):
    path = tmp_path / "news.tei.xml"
    path.write_bytes(tei_bytes(document_with_headings()))
    tei_validator(path)


def test_invariants_want_a_head_first_in_a_section(tmp_path):
    root = etree.fromstring(tei_bytes(document_with_headings()))
    section = root.xpath("//t:div[@type='original']/t:div", namespaces=NS)[0]
    section.remove(section[0])  # the head
    problems = check_invariants(tmp_path / "x", etree.ElementTree(root))
    assert any("does not start with its head" in p.message for p in problems)
