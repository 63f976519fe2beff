"""Saved web pages (.html, .htm): the article's text, found by trafilatura, and the page's
metadata.

Decoding: a byte-order mark decides; else the charset the page declares (<meta charset>,
http-equiv, an XML declaration), taken as browsers take it (gb2312 and gbk are read as
GB18030); a page that does not decode with its declared charset, or whose text only looks
Chinese in another encoding, is refused: the declaration is wrong.  Without a declaration:
UTF-8, else GB18030 or Big5 (`decode_text`).

The article: trafilatura's main-text extraction, favouring precision (navigation, related
links, comment boxes, share bars, scripts and styles dropped; headings, paragraphs,
quotes and table cells kept in order; a page without an article gives nothing rather than
its furniture).  trafilatura runs offline here: it is given the text, never a URL.
The page's headline (an h1 with the page's title) leads the blocks when the extraction
left it out.  Metadata: trafilatura's (meta tags, OpenGraph, JSON-LD), with the meta
names of Chinese publishing systems (ArticleTitle, PubDate, SiteName, ContentSource,
Author) where it found nothing.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from pathlib import Path

from zhen.document import DocumentInfo, SourceInfo
from zhen.errors import InputError
from zhen.readers.base import Collector, Opened, Reader, read_limited, reads_as_heading
from zhen.readers.metadata import clean_value, normalise_date
from zhen.readers.text import decode_text, display_name, looks_chinese

MAX_BYTES = 32 << 20
# Chinese text is dense: trafilatura's default (250 characters) sends a short Chinese
# article to its fallbacks, which keep the page's chrome.
MIN_EXTRACTED_SIZE = 25
_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
# WHATWG Encoding Standard labels that Python names otherwise or decodes more narrowly.
_WHATWG = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "chinese": "gb18030",
    "csgb2312": "gb18030", "iso-ir-58": "gb18030", "gb_2312-80": "gb18030",
    "big5": "cp950", "big5-hkscs": "big5hkscs", "x-x-big5": "cp950",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252",
    "unicode": "utf-16", "utf-16": "utf-16",
}
_PROSE = re.compile(r"[。！？!?．]")  # an article has sentences
# Lines of news furniture that extraction keeps as paragraphs: the editor's credit.
_CREDIT = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|编辑|实习编辑|审核|校对|监制|值班编辑)\s*[:：]"
                     r"[^。！？]{0,30}[）)】\]]?$")
_SOURCE_LABEL = re.compile(r"^(?:来源|作者|出处)\s*[:：]\s*")
_CMS_META = {  # meta names of Chinese publishing systems (TRS and others)
    "title": ("articletitle",),
    "date": ("pubdate", "publishdate", "firstpublishedtime", "publish_date"),
    "publisher": ("sitename", "contentsource", "source"),
    "author": ("author", "contentauthor"),
}


def open_html(path: Path) -> Opened:
    name = str(path)
    data = read_limited(path, MAX_BYTES, "web page")
    if not data.strip():
        raise InputError(f"{name}: the file is empty (no page to translate)")
    text, encoding = decode_page(data, name)
    collector = Collector()
    info = extract(text, name, collector)
    if not collector.blocks:
        raise InputError(f"{name}: no article text found in the page (only navigation, "
                         "links or other page furniture); save the article's own page, or "
                         "copy its text into a .txt file")
    source = SourceInfo(display_name(Path(path).name), hashlib.sha256(data).hexdigest(),
                        encoding, collector.dropped)
    return Opened(collector.blocks, info, source)


# -- decoding ----------------------------------------------------------------------------


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first 4 KiB, lower case, or None."""
    m = _DECLARED.search(data[:4096])
    return (m[1] or m[2]).decode("ascii").lower() if m else None


def decode_page(data: bytes, name: str) -> tuple[str, str]:
    """(text, Python codec) of a page's bytes; InputError for binary data, an unknown or
    wrong declared charset, or bytes that decode as nothing zhen knows."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data, name)  # the byte-order mark decides
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _binary(name, nul)
    label = declared_charset(data)
    if label is None:
        try:
            return decode_text(data, name)
        except InputError as exc:
            binary = re.search(r"binary data at byte (\d+)", str(exc))
            if binary:
                raise _binary(name, int(binary[1])) from None
            raise
    codec = _WHATWG.get(label, label)
    try:
        codecs.lookup(codec)
    except LookupError:
        raise InputError(f"{name}: declares charset {label!r}, which zhen does not know; "
                         "correct the charset in its <meta> tag, or save the page as "
                         "UTF-8") from None
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _wrong_charset(name, label, data, f"invalid {label} at byte {exc.start}") \
            from None
    if not codec.startswith("utf") and not data.isascii() and _is_utf8(data):
        raise _wrong_charset(name, label, data, "its bytes are UTF-8")
    if not looks_chinese(text, codec):
        other = _other_decoding(data, name)
        if other is not None and other[1] != codec and looks_chinese(other[0], other[1]):
            raise _wrong_charset(name, label, data, "its text is not Chinese read that way")
    return text, codec


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _other_decoding(data: bytes, name: str) -> tuple[str, str] | None:
    try:
        return decode_text(data, name)
    except InputError:
        return None


def _wrong_charset(name: str, label: str, data: bytes, why: str) -> InputError:
    other = _other_decoding(data, name)
    hint = f"; it looks like {other[1].upper()}" if other else ""
    return InputError(f"{name}: declares charset {label} but is not {label} ({why}){hint}; "
                      "correct the charset in its <meta> tag, or re-save the page as UTF-8")


def _binary(name: str, offset: int) -> InputError:
    return InputError(f"{name}: not a web page (binary data at byte {offset}); give the page "
                      "saved as HTML, or name its real format with --format")


# -- extraction --------------------------------------------------------------------------


def extract(text: str, name: str, out: Collector) -> DocumentInfo:
    """Add the article's blocks of a decoded page to `out`; return the page's metadata."""
    import logging

    from lxml import etree
    from trafilatura import bare_extraction
    from trafilatura.settings import use_config

    for logger in ("trafilatura", "htmldate"):  # their notes, errors included ("empty
        logging.getLogger(logger).setLevel(logging.CRITICAL)  # HTML tree"), are not the user's
    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_EXTRACTED_SIZE))
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")  # no date guessed from the text
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml takes no declaration in a str
    try:
        result = bare_extraction(text, with_metadata=True, include_comments=False,
                                 include_tables=True, include_images=False,
                                 include_links=False, include_formatting=True,
                                 favor_precision=True, config=config)
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise InputError(f"{name}: cannot read the page as HTML ({exc}); open it in a "
                         "browser and save it again") from None
    page = _parse(text)
    meta = _cms_meta(page)
    info = DocumentInfo()
    if result is not None and result.body is not None:
        body = [b for b in _body_blocks(result.body) if not _CREDIT.match(b[1].strip())]
        if not any(_PROSE.search(t) for _, t, _ in body):
            body = []  # navigation or link lists (trafilatura's last resort), no article
        title = clean_value(result.title) or meta.get("title", "")
        headline = _headline(page, title)
        if body and headline and body[0][1].strip() != headline:
            out.add("head", headline, 1)
        for kind, block_text, level in body:
            out.add(kind, block_text, level)
        info = DocumentInfo(
            title=headline or title,
            author=clean_value(result.author) or meta.get("author", ""),
            date=_date(result.date) or _date(meta.get("date")),
            publisher=clean_value(result.sitename) or meta.get("publisher", ""),
            url=clean_value(result.url),
        )
    return info


def _body_blocks(body):
    """(kind, text, level) of trafilatura's output body, in order: heads with their rank
    (rend="h2" → 2), paragraphs with <lb/> as line breaks, list items, cells, quotes."""
    for el in body:
        tag = el.tag
        if tag == "head":
            rend = el.get("rend") or ""
            yield "head", _text(el, " "), int(rend[1:]) if re.fullmatch(r"h[1-6]", rend) else 2
        elif tag == "p" and _bold_only(el):  # a bold paragraph that reads as a heading
            yield "head", _text(el, " "), 2
        elif tag in ("p", "item", "cell"):
            yield "p", _text(el, "\n"), 0
        elif tag in ("list", "table", "row", "quote", "div"):
            yield from _body_blocks(el)
        elif tag in ("code", "graphic"):
            continue
        else:
            yield "p", _text(el, "\n"), 0


def _bold_only(p) -> bool:
    """A paragraph whose text is all in one bold run and reads as a heading (the subheads
    of many Chinese news sites: <p><strong>财政政策更加积极</strong></p>)."""
    children = [c for c in p if c.tag != "lb"]
    if len(children) != 1 or children[0].tag != "hi" or "#b" not in (children[0].get("rend") or ""):
        return False
    if (p.text or "").strip() or (children[0].tail or "").strip():
        return False
    return reads_as_heading(clean_value(_text(p, " ")))


def _text(el, line_break: str) -> str:
    """An element's text, <lb/> as `line_break`, nested lists and tables on their own lines."""
    parts = [el.text or ""]
    for child in el:
        if child.tag == "lb":
            parts.append(line_break)
        elif child.tag in ("list", "table", "item", "row", "cell"):
            parts.append("\n" + _text(child, "\n") + "\n")
        else:
            parts.append(_text(child, line_break))
        parts.append(child.tail or "")
    return "".join(parts)


def _parse(text: str):
    """The page as an lxml.html tree (None if it has none), for its h1 and meta tags."""
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None


def _headline(page, title: str) -> str:
    """The text of the page's h1 that is its title, or the title without the site's name
    ("标题_频道_网站"), white space collapsed; else ""."""
    if page is None or not title:
        return ""
    for h1 in page.iter("h1"):
        text = clean_value(h1.text_content())
        if text and (text == title or (len(text) >= 4 and title.startswith(text))):
            return text
    return ""


def _cms_meta(page) -> dict[str, str]:
    found: dict[str, str] = {}
    if page is None:
        return found
    by_name = {}
    for meta in page.iter("meta"):
        key = (meta.get("name") or "").strip().lower()
        if key and key not in by_name:
            by_name[key] = clean_value(meta.get("content"))
    for field_name, names in _CMS_META.items():
        value = next((by_name[n] for n in names if by_name.get(n)), "")
        value = _SOURCE_LABEL.sub("", value)  # 来源：人民网 → 人民网
        if value:
            found[field_name] = value
    return found


def _date(value: object) -> str:
    """A page's date in ISO 8601, or "" (a page's unreadable date is dropped, not fatal)."""
    if not value:
        return ""
    try:
        return normalise_date(value)
    except ValueError:
        return ""


READER = Reader("html", (".html", ".htm"), open_html,
                "a saved web page: the article's text and the page's metadata")
