"""What every export shares: reading the TEI back, document names, one-line text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zhen.document import Document
from zhen.errors import TeiError
from zhen.tei.read import read_tei


@dataclass(frozen=True)
class TeiDoc:
    """A document read back from a TEI file, with the file's name."""

    name: str  # base name of the TEI file, e.g. "report.tei.xml"
    doc: Document


def load_documents(tei_paths: Iterable[str | Path]) -> list[TeiDoc]:
    """Read every TEI file back, in the order given; two files may not share a document id."""
    docs: list[TeiDoc] = []
    seen: dict[str, Path] = {}
    for path in map(Path, tei_paths):
        doc = read_tei(path)
        if doc.id in seen:
            raise TeiError(f"{path}: same document id {doc.id!r} as {seen[doc.id]}; "
                           "rename one of the two files")
        seen[doc.id] = path
        docs.append(TeiDoc(path.name, doc))
    if not docs:
        raise TeiError("no TEI files given: pass one or more .tei.xml files")
    return docs


_LINE_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """`text` with tabs and every kind of line break replaced by a space, stripped of spaces."""
    return _LINE_BREAKS.sub(" ", text).strip(" ")


def is_pair(zh: str, en: str | None) -> bool:
    """Whether a sentence pair has text on both sides (an untranslated sentence has none)."""
    return bool(one_line(zh).strip()) and bool(one_line(en or "").strip())


# XML 1.0 (5th edition) NameStartChar / NameChar, without ':' (NCName).
_START = ("A-Z_a-z\xc0-\xd6\xd8-\xf6\xf8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
          "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
          "\U00010000-\U000effff")
_NOT_NAME_CHAR = re.compile(f"[^{_START}\\-.0-9\xb7\u0300-\u036f\u203f\u2040]")
_NAME_START = re.compile(f"[{_START}]")


def ncname(text: str) -> str:
    """An XML NCName made from `text`: other characters become '_'; 'd' leads if needed."""
    name = _NOT_NAME_CHAR.sub("_", text) or "_"
    return name if _NAME_START.match(name) else "d" + name

