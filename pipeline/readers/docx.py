"""Word documents (.docx), through python-docx: body paragraphs and headings in order,
tables' cell text as paragraphs, then footnotes and endnotes; title, author and date from
the core properties.

The package is checked before python-docx opens it, so that what cannot be read costs
nothing: not a ZIP (an old .doc, an encrypted document — a Compound File — or damage),
encrypted members, or more than MAX_UNPACKED bytes unpacked (a zip bomb; members are read
no further than their declared size, so the declared sizes bound the memory).  XML is
parsed without entities or network (python-docx's own parser).

A paragraph's text is that of its runs wherever they sit (hyperlinks, tracked insertions,
content controls, fields), deleted text left out; a soft line break ends a paragraph.
Headings: the styles Title (rank 0) and Heading 1–9, or an outline level.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from pathlib import Path

from zhen.document import DocumentInfo, SourceInfo
from zhen.errors import InputError
from zhen.readers.base import Collector, Opened, Reader, read_limited
from zhen.readers.metadata import clean_value, normalise_date
from zhen.readers.text import display_name

MAX_BYTES = 64 << 20
MAX_UNPACKED = 256 << 20  # all members together
MAX_RATIO = 200  # unpacked / packed, for members over 1 MiB unpacked
MAX_MEMBERS = 10_000
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: .doc or an encrypted .docx
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_SKIP = {f"{{{W}}}del", f"{{{W}}}moveFrom", f"{{{MC}}}Fallback"}


def open_docx(path: Path) -> Opened:
    name = str(path)
    data = read_limited(path, MAX_BYTES, "Word document")
    check_package(data, name)
    document = _open(data, name)
    collector = Collector()
    try:
        for item in document.iter_inner_content():
            _add_item(item, collector)
        for part_name in ("footnotes", "endnotes"):
            _add_notes(document, part_name, collector, name)
        info = _core_info(document)
    except (KeyError, ValueError, AttributeError, TypeError) as exc:
        raise _damaged(name, exc) from None
    if not collector.blocks:
        raise InputError(f"{name}: the document has no text to translate")
    source = SourceInfo(display_name(Path(path).name), hashlib.sha256(data).hexdigest(), "",
                        collector.dropped)
    return Opened(collector.blocks, info, source)


def check_package(data: bytes, name: str) -> None:
    """Refuse (InputError) what is not a ZIP package of sane size, before it is unpacked."""
    import io

    if data.startswith(_CFB):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise InputError(f"{name}: the document is encrypted (password-protected); save "
                             "a copy without a password in Word and translate that")
        raise InputError(f"{name}: an old Word 97-2003 document (.doc), not .docx; save it "
                         "as .docx in Word")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            members = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(f"{name}: not a Word document (not a valid .docx package: {exc}); "
                         "open it in Word and save it again as .docx") from None
    if len(members) > MAX_MEMBERS:
        raise _bomb(name, f"{len(members)} members")
    if any(m.flag_bits & 0x1 for m in members):
        raise InputError(f"{name}: the document is encrypted; save a copy without a "
                         "password in Word and translate that")
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED:
        raise _bomb(name, f"{total:,} bytes unpacked")
    for m in members:
        if m.file_size > 1 << 20 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise _bomb(name, f"{m.filename} unpacks {m.file_size // max(m.compress_size, 1)}"
                              " times its size")
    if "word/document.xml" not in {m.filename for m in members} and \
            not any(m.filename.endswith("document.xml") for m in members):
        raise InputError(f"{name}: not a Word document (no document part in the package); "
                         "give a .docx file, or name its real format with --format")


def _open(data: bytes, name: str):
    import io

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    try:
        return Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile,
            etree.LxmlError, OSError, EOFError,
            zlib.error,  # a member's deflate stream is corrupt
            NotImplementedError) as exc:  # a compression method zipfile does not know
        raise _damaged(name, exc) from None


def _damaged(name: str, exc: Exception) -> InputError:
    detail = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return InputError(f"{name}: the Word document is damaged ({detail}); open it in Word and "
                      "save it again, or save its text as .txt")


def _bomb(name: str, what: str) -> InputError:
    return InputError(f"{name}: refused: the package would unpack far beyond a document's "
                      f"size ({what}; a zip bomb?); give the real document")


def _add_item(item, out: Collector) -> None:
    """A body paragraph or table (recursively) into `out`."""
    from docx.table import Table

    if isinstance(item, Table):
        seen = {}  # id → cell element, held so that the id stays its own
        for row in item.rows:
            for cell in row.cells:
                if id(cell._tc) in seen:  # a merged cell is given once per grid column
                    continue
                seen[id(cell._tc)] = cell._tc
                for inner in cell.iter_inner_content():
                    _add_item(inner, out)
        return
    text = paragraph_text(item._p)
    rank = _heading_rank(item)
    out.add("p" if rank is None else "head", text, rank or 0)


def paragraph_text(p) -> str:
    """The text of a w:p element: every run whose paragraph it is, deleted text and the
    fallback copies of alternate content left out (a text box's paragraphs are its own)."""
    parts = []
    for run in p.iter(f"{{{W}}}r"):
        parent = run.getparent()
        while parent is not None and parent is not p:
            if parent.tag in _SKIP or parent.tag == f"{{{W}}}p":
                break
            parent = parent.getparent()
        if parent is p:
            parts.append(_run_text(run))
    return "".join(parts)


def _run_text(run) -> str:
    out = []
    for el in run:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "t":
            out.append(el.text or "")
        elif tag in ("tab", "ptab"):
            out.append("\t")
        elif tag in ("br", "cr"):
            kind = el.get(f"{{{W}}}type")
            out.append("\n" if kind in (None, "textWrapping") else "")
        elif tag == "noBreakHyphen":
            out.append("-")
    return "".join(out)


def _heading_rank(paragraph) -> int | None:
    style = paragraph.style
    names = []
    while style is not None and len(names) < 10:  # a style and those it is based on
        names.append((style.name or "").strip())
        style = style.base_style
    for style_name in names:
        if style_name.lower() in _TITLE_STYLES:
            return 0
        m = _HEADING_STYLE.match(style_name)
        if m:
            return int(m[1])
    level = paragraph._p.xpath("./w:pPr/w:outlineLvl/@w:val")
    if level and level[0].isdigit() and int(level[0]) < 9:
        return int(level[0]) + 1
    return None


def _add_notes(document, kind: str, out: Collector, name: str) -> None:
    """The footnotes or endnotes part's notes (separators left out) as paragraphs."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from zhen.xmlsafe import parse_untrusted_bytes

    reltype = RT.FOOTNOTES if kind == "footnotes" else RT.ENDNOTES
    part = next((rel.target_part for rel in document.part.rels.values()
                 if rel.reltype == reltype and not rel.is_external), None)
    if part is None:
        return
    root = parse_untrusted_bytes(part.blob, Path(f"{name} ({kind})"), InputError)
    for note in root.iter(f"{{{W}}}footnote", f"{{{W}}}endnote"):
        if note.get(f"{{{W}}}type") in ("separator", "continuationSeparator",
                                        "continuationNotice"):
            continue
        for p in note.iter(f"{{{W}}}p"):
            out.add("p", paragraph_text(p))


def _core_info(document) -> DocumentInfo:
    props = document.core_properties
    when = props.created or props.modified
    try:
        date = normalise_date(when) if when else ""
    except ValueError:
        date = ""
    return DocumentInfo(title=clean_value(props.title), author=clean_value(props.author),
                        date=date)


READER = Reader("docx", (".docx",), open_docx,
                "a Word document: paragraphs, headings, tables, notes, core properties")
