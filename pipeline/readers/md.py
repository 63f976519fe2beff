"""Markdown (.md, .markdown), through markdown-it-py (CommonMark, with tables): headings
and paragraphs in order, list items, quotes and table cells as paragraphs; the text
without its markup (emphasis, links, images, inline HTML); code blocks left out.  A YAML
front matter block (between --- lines at the top) is the document's metadata; one that
breaks zhen.bounds (anchors or aliases, too large, too deep) is left out with one warning
line, and the document is translated without it.

A line break inside a paragraph joins Chinese text without a space (as a browser shows
it) and other text with one; a hard break (two spaces, or a backslash) ends a paragraph.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from zhen.document import DocumentInfo, SourceInfo
from zhen.errors import InputError
from zhen.readers.base import Collector, Opened, Reader, read_limited
from zhen.readers.metadata import FIELDS, apply_fields, fields_from
from zhen.readers.text import decode_text, display_name

log = logging.getLogger("zhen")

MAX_BYTES = 32 << 20
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
                           re.S | re.M)
_WIDE = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


def open_md(path: Path) -> Opened:
    name = str(path)
    data = read_limited(path, MAX_BYTES, "Markdown file")
    text, encoding = decode_text(data, name)
    text = text.lstrip("\ufeff")
    front, body = split_front_matter(text, name)
    info = apply_fields(DocumentInfo(), fields_from(front, f"{name} (front matter)"))
    collector = Collector()
    markdown_blocks(body, collector)
    if not collector.blocks:
        raise InputError(f"{name}: the file is empty (no text to translate)")
    source = SourceInfo(display_name(Path(path).name), hashlib.sha256(data).hexdigest(),
                        encoding, collector.dropped)
    return Opened(collector.blocks, info, source)


def split_front_matter(text: str, name: str) -> tuple[dict, str]:
    """(front matter mapping, the rest) of a Markdown text; ({}, text) without one."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    import yaml
    from zhen.bounds import Refused, load_yaml_mapping

    try:
        value = load_yaml_mapping(m[1], f"{name} (front matter)")
    except Refused as exc:  # bounded: the text is translated, the front matter left out
        log.warning("%s: front matter refused: %s; the document is translated without it",
                    name, exc.reason)
        return {}, text[m.end():]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise InputError(f"{name}: the front matter is not valid YAML{where}; fix it (key: "
                         "value lines between --- lines)") from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InputError(f"{name}: the front matter is not a set of key: value lines; "
                         f"write e.g. title: …, {', '.join(FIELDS[1:])}")
    return value, text[m.end():]


def markdown_blocks(text: str, out: Collector) -> None:
    """The blocks of a Markdown text (without front matter) into `out`."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(text)
    heading = None  # the rank of the heading being read
    for token in tokens:
        if token.type == "heading_open":
            heading = int(token.tag[1:])
        elif token.type == "heading_close":
            heading = None
        elif token.type == "inline":
            out.add("p" if heading is None else "head", inline_text(token.children or []),
                    heading or 0)
        elif token.type == "html_block":
            out.add("p", _html_text(token.content))


def inline_text(children) -> str:
    """The text of inline tokens: markup dropped, a soft break joining Chinese text without
    a space, a hard break (or <br>) as a line break."""
    parts: list[str] = []
    for i, child in enumerate(children):
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            before = parts[-1][-1:] if parts and parts[-1] else ""
            after = children[i + 1].content[:1] if i + 1 < len(children) else ""
            parts.append("" if _WIDE.match(before) or _WIDE.match(after) else " ")
        elif kind == "hardbreak" or (kind == "html_inline"
                                     and re.match(r"<br\b", child.content, re.I)):
            parts.append("\n")
        elif kind == "image":
            continue  # its alt text describes a picture, it is not the article's text
    return "".join(parts)


def _html_text(html: str) -> str:
    """The text of a raw HTML block (scripts and styles dropped), line by line."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return ""
    for el in root.xpath(".//script | .//style | .//comment()"):
        el.drop_tree()
    return "\n".join(line for line in root.text_content().splitlines() if line.strip())


READER = Reader("md", (".md", ".markdown"), open_md,
                "Markdown with optional YAML front matter")
