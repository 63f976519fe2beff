"""Bounded parsing of every input (issue 22, point 3): what a small file can expand into is
capped (zhen.bounds), and each refusal is one line naming the file and the limit.

The issue's case first, as a user meets it: a 400-byte Markdown file whose YAML front
matter is a "billion laughs" of aliases, translated by the real CLI.
"""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from conftest import run_zhen
from zhen import bounds
from zhen.errors import GlossaryError, InputError
from zhen.readers import read_document
from zhen.readers.metadata import clean_value, external_fields
from zhen.tei.read import read_tei

BODY = "# 标题\n\n近年来，日美同盟的合作范围明显扩大。日本政府多次表示，将承担更多责任。\n"


def laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnopq"[: levels - 1]):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines)


def test_the_alias_bomb_markdown_is_translated_without_its_front_matter(tmp_path,
                                                                        tiny_model, zhen_env):
    """The issue's 400-byte file: more than 60 s with no output before; now seconds, one
    line saying the front matter was refused, and the text translated."""
    bomb = tmp_path / "bomb.md"
    bomb.write_text(f"---\n{laughs()}\n---\n\n近年来，合作范围明显扩大。\n", encoding="utf-8")
    assert len(bomb.read_bytes()) < 420
    start = time.monotonic()
    res = run_zhen(["translate", bomb, "-o", tmp_path / "out", "--model", tiny_model,
                    "--beam-size", "1"], zhen_env, timeout=60)
    took = time.monotonic() - start
    assert res.returncode == 0, res.stderr
    assert took < 30  # the model's load included; the refusal itself takes milliseconds
    refused = [line for line in res.stderr.splitlines() if "front matter refused" in line]
    assert len(refused) == 1 and str(bomb) in refused[0] and "aliases" in refused[0]
    assert "Traceback" not in res.stderr
    doc = read_tei(tmp_path / "out" / "bomb.tei.xml")
    assert [p.zh for p in doc.paragraphs][-1].startswith("近年来")
    assert "lol" not in (tmp_path / "out" / "bomb.tei.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("front, limit", [
    (laughs(3), "aliases"),  # even a small alias
    ("title: &t 标题\nauthor: *t", "aliases"),
    ("title: " + "[" * 40 + "]" * 40, "nested more than"),
    ("tags: [" + ", ".join(["x"] * 20_000) + "]", "more than 10,000 values"),
    ("title: " + "长" * 30_000, "bytes, more than"),
])
def test_front_matter_beyond_a_bound_is_left_out_with_one_line(tmp_path, caplog, front, limit):
    path = tmp_path / "doc.md"
    path.write_text(f"---\n{front}\n---\n\n{BODY}", encoding="utf-8")
    start = time.monotonic()
    blocks, info, _ = read_document(path)
    assert time.monotonic() - start < 5
    assert blocks[0].text == "标题" and not info.author
    lines = [r.getMessage() for r in caplog.records if "front matter refused" in r.getMessage()]
    assert len(lines) == 1 and limit in lines[0] and str(path) in lines[0]


def test_ordinary_front_matter_is_still_read(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("---\ntitle: 日美同盟\ndate: 2025年3月4日\nauthor: [张三, 李四]\n---\n\n"
                    + BODY, encoding="utf-8")
    _, info, _ = read_document(path)
    assert (info.title, info.date, info.author) == ("日美同盟", "2025-03-04", "张三, 李四")


def test_a_sidecar_nested_too_deep_is_one_line(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("近年来。\n", encoding="utf-8")
    (tmp_path / "doc.meta.json").write_text('{"title": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match=r"doc\.meta\.json: nested more than 32 levels"):
        external_fields(doc)


def test_list_values_are_bounded_in_depth_and_length():
    deep = ["a"]
    for _ in range(50):
        deep = [deep, "b"]
    assert len(clean_value(deep)) < 100
    wide = [["x" * 10] * 1000] * 1000  # a million strings, shared
    start = time.monotonic()
    assert len(clean_value(wide)) <= 2000
    assert time.monotonic() - start < 1


def test_a_huge_manifest_field_is_one_line(tmp_path):
    (tmp_path / "doc.txt").write_text("近年来。\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text('file,title\ndoc.txt,"' + "长" * 200_000 + '"\n',
                                           encoding="utf-8")
    with pytest.raises(InputError, match=r"metadata\.csv: not a valid CSV file"):
        external_fields(tmp_path / "doc.txt")


# -- XML: TBX, TMX, XLIFF, Word ----------------------------------------------------------------


def _deep(tag: str, depth: int) -> str:
    return f"<{tag}>" * depth + "深" + f"</{tag}>" * depth


XML_CASES = {
    "tmx": ("memory.tmx", '<tmx version="1.4"><header/><body><tu><tuv xml:lang="zh"><seg>{}'
                          "</seg></tuv></tu></body></tmx>", "zhen.formats.tmx", "read_tmx",
            InputError),
    "xlf": ("doc.xlf", '<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">'
                       '<file original="a" source-language="zh" target-language="en"><body>'
                       '<trans-unit id="1"><source>{}</source></trans-unit></body></file>'
                       "</xliff>", "zhen.formats.xliff", "read_xliff", InputError),
    "tbx": ("terms.tbx", '<martif type="TBX"><text><body><termEntry id="a"><langSet '
                         'xml:lang="zh"><tig><term>{}</term></tig></langSet></termEntry>'
                         "</body></text></martif>", "zhen.formats.tbx", "load_tbx",
            GlossaryError),
}


def _reader(kind):
    import importlib

    name, _, module, function, error = XML_CASES[kind]
    return name, getattr(importlib.import_module(module), function), error


@pytest.mark.parametrize("kind", sorted(XML_CASES))
def test_xml_nested_beyond_the_parsers_limit_is_one_line(tmp_path, kind):
    name, read, error = _reader(kind)
    path = tmp_path / name
    path.write_text(XML_CASES[kind][1].format(_deep("g", 100_000)), encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(error, match=rf"{name}:\d+: not well-formed XML \(.*[Dd]epth") as exc:
        read(path)
    assert "\n" not in str(exc.value) and time.monotonic() - start < 5


@pytest.mark.parametrize("kind", sorted(XML_CASES))
def test_xml_with_more_tags_than_the_cap_is_one_line(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(bounds, "XML_MAX_TAGS", 1000)
    name, read, error = _reader(kind)
    path = tmp_path / name
    path.write_text(XML_CASES[kind][1].format("<b/>" * 2000), encoding="utf-8")
    with pytest.raises(error, match=rf"{name}: more than 1,000 tags"):
        read(path)


@pytest.mark.parametrize("kind", sorted(XML_CASES))
def test_xml_entity_expansion_is_refused(tmp_path, kind):
    name, read, error = _reader(kind)
    path = tmp_path / name
    body = XML_CASES[kind][1].format("&c;")
    root = body[1:body.index(" ")]
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY a "lol">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c '
                    '"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + body, encoding="utf-8")
    with pytest.raises(error, match="DOCTYPE declares entities"):
        read(path)


def _docx_with(document_xml: bytes) -> bytes:
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    members["word/document.xml"] = document_xml
    new = io.BytesIO()
    with zipfile.ZipFile(new, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return new.getvalue()


def test_a_word_file_nested_beyond_the_parsers_limit_is_one_line(tmp_path):
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xml = (f'<w:document xmlns:w="{w}"><w:body>' + "<w:sdt><w:sdtContent>" * 5000
           + "<w:p><w:r><w:t>近年来。</w:t></w:r></w:p>" + "</w:sdtContent></w:sdt>" * 5000
           + "</w:body></w:document>").encode()
    path = tmp_path / "deep.docx"
    path.write_bytes(_docx_with(xml))
    start = time.monotonic()
    with pytest.raises(InputError, match=r"deep\.docx: the Word document is damaged") as exc:
        read_document(path)
    assert "\n" not in str(exc.value) and time.monotonic() - start < 5


def test_a_deeply_nested_web_page_is_read_in_bounded_time(tmp_path):
    path = tmp_path / "deep.html"
    path.write_text("<html><body>" + "<div>" * 100_000 + "<p>近年来，日美同盟的合作范围明显扩大。</p>"
                    + "</div>" * 100_000 + "</body></html>", encoding="utf-8")
    start = time.monotonic()
    try:
        read_document(path)
    except InputError as exc:
        assert "\n" not in str(exc)
    assert time.monotonic() - start < 10


# -- the time bound ------------------------------------------------------------------------------


def test_a_reader_still_busy_after_the_time_bound_is_stopped_with_one_line(tmp_path,
                                                                           monkeypatch):
    """Markdown made of brackets takes markdown-it seconds per 100 KB: the bound stops it."""
    monkeypatch.setattr(bounds, "READ_SECONDS", 0.5)
    path = tmp_path / "slow.md"
    path.write_text("[" * 400_000 + "近年来。", encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(InputError, match=r"slow\.md: reading it took more than 0\.5 s"):
        read_document(path)
    assert time.monotonic() - start < 3


def test_the_time_bound_outside_the_main_thread_lets_the_block_run(tmp_path):
    import threading

    done = []

    def work():
        with bounds.time_bound(0.01, "x"):
            time.sleep(0.05)
        done.append(True)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert done == [True]



# -- size caps of the formats read whole --------------------------------------------------------


def _size_case(kind, tmp_path):
    import importlib

    doc = tmp_path / "doc.txt"
    doc.write_text("近年来。\n", encoding="utf-8")
    cases = {
        "md": ("zhen.readers.md", "MAX_BYTES", "doc.md", BODY * 20,
               lambda p: read_document(p), r"too large for a Markdown file"),
        "docx": ("zhen.readers.docx", "MAX_BYTES", "doc.docx", None,
                 lambda p: read_document(p), r"too large for a Word document"),
        "manifest": ("zhen.readers.metadata", "MAX_MANIFEST_BYTES", "metadata.csv",
                     "file,title\ndoc.txt," + "长" * 500 + "\n",
                     lambda p: external_fields(doc), r"too large for a manifest"),
        "sidecar": ("zhen.readers.metadata", "MAX_SIDECAR_BYTES", "doc.meta.json",
                    json.dumps({"title": "长" * 500}), lambda p: external_fields(doc),
                    r"too large for a metadata file"),
        "tbx": ("zhen.formats.tbx", "MAX_FILE_BYTES", "terms.tbx",
                XML_CASES["tbx"][1].format("长" * 500), lambda p: _reader("tbx")[1](p),
                r"bytes is more than the 1000 a glossary"),
    }
    module, attr, name, text, read, message = cases[kind]
    path = tmp_path / name
    if text is None:
        path.write_bytes(_docx_with(b"<w:document/>") + b"\0" * 2000)
    else:
        path.write_text(text, encoding="utf-8")
    return importlib.import_module(module), attr, path, read, message


@pytest.mark.parametrize("kind", ["md", "docx", "manifest", "sidecar", "tbx"])
def test_a_file_over_its_formats_size_cap_is_one_line(tmp_path, monkeypatch, kind):
    module, attr, path, read, message = _size_case(kind, tmp_path)
    monkeypatch.setattr(module, attr, 1000)
    with pytest.raises((InputError, GlossaryError), match=message) as exc:
        read(path)
    assert str(path.name) in str(exc.value) and "\n" not in str(exc.value)
