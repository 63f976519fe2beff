"""XLIFF 1.2: hand sentences to a CAT tool (OmegaT, Trados, memoQ, Okapi) and read them back.

One `<file>` per document, one `<group restype="x-paragraph">` per paragraph and one
`<trans-unit>` per sentence, whose id is the sentence id ("p1.s2").  A machine or memory
translation is a target in state needs-review-translation (qualifier mt-suggestion), a human
one is translated.  Glossary terms become notes on the source, QA findings (zhen.qa)
notes on the target ("qa numbers: …", priority 1 for errors), the model's score of a
machine translation a note on the target ("machine translation score 0.8312 …": every
CAT tool shows notes; an `alt-trans` match-quality would pass the model's confidence off as
a fuzzy match percentage); fuzzy matches from human translations become `<alt-trans>`
proposals.  Reading returns every unit's source and own
target text, native codes (`bpt`, `ept`, `ph`, `it`) left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from zhen import __version__
from zhen.document import Document, Origin, Sentence
from zhen.errors import InputError
from zhen.formats.languages import SOURCE_LANGUAGE, TARGET_LANGUAGE, is_chinese, is_english
from zhen.memory.fuzzy import Suggestion
from zhen.qa.checks import Finding
from zhen.scores import format_score
from zhen.tei.names import en_id
from zhen.xmlsafe import inline_text, local_name, parse_untrusted_xml

XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"
XML_NS = "http://www.w3.org/XML/1998/namespace"
XML_LANG = f"{{{XML_NS}}}lang"
XML_SPACE = f"{{{XML_NS}}}space"
TOOL_ID = "zhen"
MEMORY_ORIGIN = "zhen-human-memory"  # alt-trans/@origin of fuzzy matches
MACHINE_ORIGIN, HUMAN_ORIGIN = "zhen-machine", "zhen-human"  # of the English (rainbow)
MAX_XLIFF_BYTES = 256 * 1024 * 1024
QA_PRIORITY = {"error": 1, "warning": 3, "info": 5}  # note/@priority (1 highest, 10 lowest)

# native codes (content is the original's markup) and empty placeholders
_NATIVE_CODES = frozenset({"bpt", "ept", "ph", "it", "x", "bx", "ex"})


@dataclass(frozen=True)
class XliffUnit:
    """One trans-unit read back: its id, source text, own target text and target state."""

    id: str
    source: str
    target: str | None  # None when the unit has no target element
    state: str | None  # target/@state, None when absent


@dataclass(frozen=True)
class XliffFile:
    """One `<file>` element of an XLIFF document."""

    path: Path
    original: str
    units: tuple[XliffUnit, ...]


# ---------------------------------------------------------------- writing


def _x(name: str) -> str:
    return f"{{{XLIFF_NS}}}{name}"


def _sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str):
    el = etree.SubElement(parent, _x(name), attrs)
    if text is not None:
        el.text = text
    return el


def term_notes(doc: Document, sentence: Sentence) -> list[str]:
    """One note per term occurrence: 'term 稀土 → rare earths (enforced)'."""
    notes = []
    for occ in sentence.terms:
        term = doc.terms.get(occ.term_id)
        rendering = term.rendering if term else f"[{occ.term_id}]"
        status = occ.status.value if occ.status else "unmarked"
        notes.append(f"term {sentence.zh[occ.start:occ.end]} → {rendering} ({status})")
    return notes


def score_note(score: float) -> str:
    """The note giving a machine translation's score (zhen.scores)."""
    return (f"machine translation score {format_score(score)} (the model's confidence, "
            "0 to 1: the geometric mean of its token probabilities)")


def _trans_unit(
    parent: etree._Element, doc: Document, s: Sentence, suggestions: Sequence[Suggestion],
    findings: Sequence[Finding] = (), rainbow: bool = False,
) -> None:
    unit = _sub(parent, "trans-unit", id=s.id, resname=en_id(s.id))
    unit.set(XML_SPACE, "preserve")
    _sub(unit, "source", s.zh_text)
    if rainbow:  # the text to translate: a copy of the source (Okapi Rainbow, OmegaT)
        _sub(unit, "target", s.zh_text, state="needs-translation")
    elif s.en:
        if s.origin is Origin.HUMAN:
            _sub(unit, "target", s.en, state="translated")
        else:
            _sub(unit, "target", s.en, state="needs-review-translation")
            unit[-1].set("state-qualifier", "mt-suggestion")
    for note in term_notes(doc, s):
        _sub(unit, "note", note, annotates="source").set("from", TOOL_ID)
    if s.origin is Origin.HUMAN:
        who = f" ({s.translator})" if s.translator else ""
        _sub(unit, "note", f"human translation{who}", annotates="general").set("from", TOOL_ID)
    elif s.en and s.score is not None:
        _sub(unit, "note", score_note(s.score), annotates="target").set("from", TOOL_ID)
    for f in findings:  # QA findings on the target: where a reviewer should look
        note = _sub(unit, "note", f"qa {f.check}: {f.detail}", annotates="target")
        note.set("from", TOOL_ID)
        note.set("priority", str(QA_PRIORITY[f.severity]))
    if rainbow and (s.en or "").strip():  # zhen's English, offered
        origin = HUMAN_ORIGIN if s.origin is Origin.HUMAN else MACHINE_ORIGIN
        alt = _sub(unit, "alt-trans", origin=origin)
        _sub(alt, "source", s.zh_text)
        _sub(alt, "target", s.en).set(XML_LANG, TARGET_LANGUAGE)
    for match in sorted(suggestions, key=lambda m: -m.score):
        alt = _sub(unit, "alt-trans", origin=MEMORY_ORIGIN)
        alt.set("match-quality", str(round(match.score)))
        _sub(alt, "source", match.source)
        _sub(alt, "target", match.target).set(XML_LANG, TARGET_LANGUAGE)


def render_xliff(
    doc: Document,
    original: str,
    suggestions: Mapping[str, Sequence[Suggestion]] | None = None,
    findings: Mapping[str, Sequence[Finding]] | None = None,
    rainbow: bool = False,
) -> bytes:
    """An XLIFF 1.2 document of `doc` (UTF-8); `suggestions` maps sentence ids to fuzzy matches.

    `rainbow`: the Okapi Rainbow convention OmegaT's XLIFF filter expects: every target a
    copy of the source (the text to translate, state needs-translation), zhen's English
    (machine or human) an `alt-trans` (origin zhen-machine or zhen-human).

    Children of each trans-unit follow the 1.2 content model: source, target?, note*,
    alt-trans*.  Units are xml:space="preserve", so pretty printing leaves their text exact.
    """
    suggestions, findings = suggestions or {}, findings or {}
    root = etree.Element(_x("xliff"), nsmap={None: XLIFF_NS}, version="1.2")
    file = etree.SubElement(root, _x("file"), {
        "original": original,
        "source-language": SOURCE_LANGUAGE,
        "target-language": TARGET_LANGUAGE,
        "datatype": "plaintext",
        "tool-id": TOOL_ID,
    })
    etree.SubElement(_sub(file, "header"), _x("tool"), {
        "tool-id": TOOL_ID, "tool-name": "zhen", "tool-version": __version__,
    })
    body = _sub(file, "body")
    for paragraph in doc.paragraphs:
        if not paragraph.sentences:
            continue
        group = _sub(body, "group", id=paragraph.id, restype="x-paragraph")
        for s in paragraph.sentences:
            _trans_unit(group, doc, s, suggestions.get(s.id, ()), findings.get(s.id, ()),
                        rainbow)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ---------------------------------------------------------------- reading


def segment_text(el: etree._Element) -> str:
    """Text of a source or target: `g`/`mrk` text kept, native-code content left out."""
    return inline_text(el, _NATIVE_CODES)


def _check_root(root: etree._Element, path: Path) -> None:
    name, namespace = local_name(root), etree.QName(root).namespace or ""
    if name == "xliff" and namespace == XLIFF_NS:
        return
    if name == "xliff":
        version = root.get("version") or namespace.rsplit(":", 1)[-1] or "without a namespace"
        raise InputError(
            f"{path}: XLIFF {version}; zhen reads XLIFF 1.2: export XLIFF 1.2 from the CAT tool"
        )
    raise InputError(
        f"{path}: not an XLIFF 1.2 file (root element <{name}>); "
        "export XLIFF 1.2 from the CAT tool"
    )


def _check_languages(file: etree._Element, path: Path) -> None:
    source = (file.get("source-language") or "").strip()
    target = (file.get("target-language") or "").strip()
    if not is_chinese(source) or not is_english(target):
        raise InputError(
            f"{path}:{file.sourceline}: pairs {source or '(no source-language)'}→"
            f"{target or '(no target-language)'}; zhen's XLIFF is Chinese (zh) to English (en)"
        )


def _units(file: etree._Element, path: Path) -> tuple[XliffUnit, ...]:
    units: list[XliffUnit] = []
    seen: dict[str, int] = {}
    for unit in file.iter(_x("trans-unit")):
        unit_id = unit.get("id")
        if not unit_id:
            raise InputError(
                f"{path}:{unit.sourceline}: trans-unit without an id; "
                "export the file again from the CAT tool"
            )
        if unit_id in seen:
            raise InputError(
                f"{path}:{unit.sourceline}: trans-unit id {unit_id!r} also on line "
                f"{seen[unit_id]}; ids must be unique within a file"
            )
        seen[unit_id] = unit.sourceline or 0
        source = unit.find(_x("source"))
        target = unit.find(_x("target"))
        units.append(
            XliffUnit(
                id=unit_id,
                source=segment_text(source) if source is not None else "",
                target=segment_text(target) if target is not None else None,
                state=target.get("state") if target is not None else None,
            )
        )
    return tuple(units)


def read_xliff(path: str | Path) -> list[XliffFile]:
    """The units of an XLIFF 1.2 file, one XliffFile per `<file>` element.

    Units nested in groups at any depth are read; `seg-source` and `alt-trans` are ignored.
    Raises InputError (one line naming the file) for a hostile, broken or non-1.2 file, a
    language pair other than zh→en, a unit without an id, or an id used twice in one file.
    """
    path = Path(path)
    root = parse_untrusted_xml(path, MAX_XLIFF_BYTES, InputError, "an XLIFF file")
    _check_root(root, path)
    files = []
    for file in root.iterchildren(_x("file")):
        _check_languages(file, path)
        files.append(XliffFile(path, file.get("original") or "", _units(file, path)))
    return files
