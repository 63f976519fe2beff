"""Read TMX translation memories (1.4b, and 1.1's `lang`) as zh→en sentence pairs.

Writing TMX is `zhen.exports.parallel.render_tmx`.  Each `tu` gives one pair: the text of
the `seg` of its Chinese `tuv` (any code starting "zh": zh, zh-CN, zh-Hans) and of its English
one, inline native codes (`bpt`, `ept`, `it`, `ph`, `ut` and the `sub` inside them) left out,
`hi` text kept.  Files are parsed safely (see `zhen.xmlsafe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from zhen.errors import InputError
from zhen.formats.languages import is_chinese, is_english
from zhen.xmlsafe import inline_text, local_name, parse_untrusted_xml

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ORIGIN_PROP = "x-origin"
MAX_TMX_BYTES = 512 * 1024 * 1024

_NATIVE_CODES = frozenset({"bpt", "ept", "it", "ph", "ut"})


@dataclass(frozen=True)
class TmxUnit:
    """One zh→en pair of a translation memory."""

    zh: str
    en: str
    origin: str | None  # the tu's prop type="x-origin", if present
    creationid: str | None  # of the English tuv, else of the tu
    changedate: str | None  # of the English tuv, else of the tu


def tuv_lang(tuv: etree._Element) -> str:
    return (tuv.get(XML_LANG) or tuv.get("lang") or "").strip()


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if local_name(c) == name]


def seg_text(tuv: etree._Element) -> str:
    """The text of a tuv's `seg`, native codes left out ("" without one)."""
    segs = _children(tuv, "seg")
    return inline_text(segs[0], _NATIVE_CODES) if segs else ""


def _origin(tu: etree._Element, en: etree._Element) -> str | None:
    for el in (tu, en):
        for prop in _children(el, "prop"):
            if prop.get("type") == ORIGIN_PROP:
                return (prop.text or "").strip() or None
    return None


def _unit(tu: etree._Element) -> TmxUnit | None:
    """The pair of one tu, or None when it lacks a Chinese or an English text."""
    tuvs = _children(tu, "tuv")
    zh = next((t for t in tuvs if is_chinese(tuv_lang(t)) and seg_text(t)), None)
    en = next((t for t in tuvs if is_english(tuv_lang(t)) and seg_text(t)), None)
    if zh is None or en is None:
        return None
    return TmxUnit(
        zh=seg_text(zh),
        en=seg_text(en),
        origin=_origin(tu, en),
        creationid=en.get("creationid") or tu.get("creationid"),
        changedate=en.get("changedate") or tu.get("changedate"),
    )


def read_tmx(path: str | Path) -> tuple[list[TmxUnit], int]:
    """The zh→en pairs of a TMX file and the number of `tu`s skipped for lacking a side.

    Raises InputError (one line naming the file) for a hostile or broken file, a root other
    than `tmx`, or a file with units none of which pairs Chinese with English.
    """
    path = Path(path)
    root = parse_untrusted_xml(path, MAX_TMX_BYTES, InputError, "a TMX file")
    if local_name(root) != "tmx":
        raise InputError(
            f"{path}: not a TMX file (root element <{local_name(root)}>); "
            "export a TMX 1.4 translation memory from the tool"
        )
    units: list[TmxUnit] = []
    skipped = 0
    langs: dict[str, None] = {}
    for tu in root.iter("tu"):
        unit = _unit(tu)
        if unit is None:
            skipped += 1
            langs.update(dict.fromkeys(tuv_lang(t) or "(none)" for t in _children(tu, "tuv")))
        else:
            units.append(unit)
    if skipped and not units:
        found = ", ".join(sorted(langs)) or "no languages"
        raise InputError(
            f"{path}: pairs other languages (found: {found}); zhen's memory holds zh→en"
        )
    return units, skipped
