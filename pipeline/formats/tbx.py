"""Exchange the glossary with other tools: TBX (ISO 30042) and two-column CSV/TSV glossaries.

TBX is read in both forms in use: the 2019 form (``tbx/text/body/conceptEntry/langSec/termSec``,
namespace ``urn:iso:std:iso:30042:ed-2`` or the dialect's newer ``…:ed:3.0``) and the 2008
MARTIF form (``martif/text/body/termEntry/langSet/tig``).  The first Chinese term of an entry is
its zh (a term marked preferred comes first), the other Chinese terms are variants, the preferred
or first English term is its en.  Writing produces TBX-Basic, DCA style.  Files are parsed
without entity expansion, DTD loading or network access, and a DOCTYPE declaring entities is
refused.  CSV/TSV files are the source-term, target-term lists DeepL and Google Cloud
Translation take.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.terminology.entries import is_valid_id, new_id, slugify, term_problems, unique_id
from zhen.terminology.glossary import load_glossary
from zhen.terminology.lint import lint_terms
from zhen.terminology.matcher import normalize_form
from zhen.terminology.tsv import atomic_write, save_glossary
from zhen.xmlsafe import parse_untrusted_xml, read_limited

TBX_NS = "urn:iso:std:iso:30042:ed-2"  # ISO 30042:2019
TBX_NAMESPACES = frozenset({TBX_NS, "urn:iso:std:iso:30042:ed:3.0", ""})
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ZH_LANG = "zh-CN"
MAX_FIELD = 1000  # characters in one term, note or definition
MAX_FILE_BYTES = 64 * 1024 * 1024
KEEP_NOTE = "Do not translate: the source form is the rendering (zhen kind 'keep')."

_ENTRY = frozenset({"conceptEntry", "termEntry"})
_LANG_SECTION = frozenset({"langSec", "langSet"})
_TERM_SECTION = frozenset({"termSec", "tig", "ntig"})
_STATUS_RANK = {
    "preferredterm-admn-sts": 0,
    "preferred": 0,
    "admittedterm-admn-sts": 1,
    "admitted": 1,
    "supersededterm-admn-sts": 2,
    "deprecatedterm-admn-sts": 3,
    "deprecated": 3,
    "forbidden": 3,
}
_DNT_NOTES = frozenset({"do not translate", "do-not-translate", "dnt", "untranslatable"})
_GENERIC_ID = re.compile(r"[a-z]{0,4}[-_.]?\d+")  # c1, id42, entry-7: ids that say nothing
_LANG_CODE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*", re.I)


# ---------------------------------------------------------------- helpers


def _local(el: object) -> str:
    from lxml import etree

    tag = getattr(el, "tag", None)
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _lang_kind(code: str | None) -> str | None:
    """'zh' for any Chinese code (zh, zh-CN, zh-Hant-TW, zho), 'en' for English, else None."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-")[0].lower()
    if primary in {"zh", "zho", "chi", "cmn"}:
        return "zh"
    if primary in {"en", "eng"}:
        return "en"
    return None


def _is_traditional(code: str) -> bool:
    parts = set(code.replace("_", "-").lower().split("-")[1:])
    return bool(parts & {"hant", "tw", "hk", "mo"})


def _clean_text(text: str) -> str:
    """Collapse line breaks and the indentation around them (pretty-printed XML) to a space."""
    return re.sub(r"\s*[\r\n\t]\s*", " ", text).strip()


def _read_limited(path: Path) -> bytes:
    return read_limited(path, MAX_FILE_BYTES, GlossaryError, "a glossary")


def _text(el, path: Path, what: str) -> str:
    text = _clean_text("".join(el.itertext()))
    if len(text) > MAX_FIELD:
        raise GlossaryError(
            f"{path}:{el.sourceline}: {what} is longer than {MAX_FIELD} characters; "
            "refusing the file"
        )
    return text


# ---------------------------------------------------------------- TBX reading


def _entry_terms(entry, path: Path) -> tuple[list[tuple[str, str, int]], list[str], bool]:
    """(lang, term, rank) for each term, note texts, do-not-translate flag of one entry."""
    terms: list[tuple[str, str, int]] = []
    notes: list[str] = []
    keep = False

    def collect(el, lang_kind: str | None) -> None:
        nonlocal keep
        name, kind = _local(el), (el.get("type") or "").strip()
        if name == "note" or (name == "descrip" and kind == "definition"):
            text = _text(el, path, name)
            if text == KEEP_NOTE or text.rstrip(".").casefold() in _DNT_NOTES:
                keep = True
            elif text and lang_kind != "other":
                notes.append(text)
        elif name in {"termNote", "descrip"} and kind.casefold() in {
            "translationnote",
            "translation needed",
        }:
            keep = keep or _text(el, path, kind).casefold() == "no"

    for el in entry.iter():
        if _local(el) in _LANG_SECTION:
            continue
        parent = el.getparent()
        while parent is not None and parent is not entry and _local(parent) not in _LANG_SECTION:
            parent = parent.getparent()
        lang = None
        if parent is not None and parent is not entry:
            code = parent.get(XML_LANG) or parent.get("lang")
            lang = _lang_kind(code) or "other"
        if _local(el) in _TERM_SECTION and lang in {"zh", "en"}:
            term_el = next((t for t in el.iter() if _local(t) == "term"), None)
            if term_el is None:
                continue
            status = next(
                (
                    (n.text or "").strip().casefold()
                    for n in el.iter()
                    if _local(n) == "termNote" and n.get("type") == "administrativeStatus"
                ),
                "",
            )
            code = parent.get(XML_LANG) or parent.get("lang") or ""
            rank = _STATUS_RANK.get(status, 1) + (10 if _is_traditional(code) else 0)
            text = _text(term_el, path, "term")
            if text:
                terms.append((lang, text, rank))
        else:
            collect(el, lang)
    return terms, notes, keep


def load_tbx(path: str | os.PathLike[str]) -> tuple[list[Term], list[str]]:
    """Entries of a TBX file plus messages about the entries that had to be skipped."""
    path = Path(path)
    root = parse_untrusted_xml(path, MAX_FILE_BYTES, GlossaryError, "a glossary")
    from lxml import etree

    namespace = etree.QName(root).namespace or ""
    if _local(root) not in {"tbx", "martif"} or (
        _local(root) == "tbx" and namespace not in TBX_NAMESPACES
    ):
        raise GlossaryError(f"{path}: not a TBX file (root element <{_local(root)}>)")
    out: list[Term] = []
    skipped: list[str] = []
    taken: set[str] = set()
    for entry in (el for el in root.iter() if _local(el) in _ENTRY):
        found, notes, keep = _entry_terms(entry, path)
        zh = [t for lang, t, _ in sorted(found, key=lambda x: x[2]) if lang == "zh"]
        en = [t for lang, t, _ in sorted(found, key=lambda x: x[2]) if lang == "en"]
        raw_id = (entry.get("id") or "").strip()
        if not zh or not en:
            missing = "Chinese" if not zh else "English"
            skipped.append(
                f"{path}:{entry.sourceline}: entry {raw_id or '(no id)'} has no {missing} term; "
                "skipped"
            )
            continue
        variants = tuple(dict.fromkeys(v for v in zh[1:] if v != zh[0]))
        term_id = raw_id if is_valid_id(raw_id) else slugify(en[0], zh[0])
        term_id = unique_id(term_id, taken)
        taken.add(term_id)
        note = "; ".join(dict.fromkeys(notes))
        out.append(
            Term(
                id=term_id,
                zh=zh[0],
                en=en[0],
                variants=variants,
                kind=TermKind.KEEP if keep else TermKind.TERM,
                note=note[:MAX_FIELD],
            )
        )
    return out, skipped


def read_tbx(path: str | os.PathLike[str]) -> list[Term]:
    """The zh→en entries of a TBX file (2019 or 2008 form); entries lacking a side are dropped."""
    return load_tbx(path)[0]


# ---------------------------------------------------------------- TBX writing


def tbx_bytes(terms: Iterable[Term]) -> bytes:
    """A TBX-Basic (ISO 30042:2019, DCA style) document holding `terms`, sorted by id."""
    from lxml import etree

    def sub(parent, name: str, text: str | None = None, **attrs: str):
        el = etree.SubElement(parent, f"{{{TBX_NS}}}{name}", attrs)
        if text is not None:
            el.text = text
        return el

    def term_section(lang_sec, text: str, status: str) -> None:
        sec = sub(lang_sec, "termSec")
        sub(sec, "term", text)
        sub(sec, "termNote", status, type="administrativeStatus")

    terms = sorted(terms, key=lambda t: t.id)
    if not terms:
        raise GlossaryError("no entries to export (a TBX body needs at least one)")
    root = etree.Element(f"{{{TBX_NS}}}tbx", nsmap={None: TBX_NS})
    root.set("type", "TBX-Basic")
    root.set("style", "dca")
    root.set(XML_LANG, "en")
    source = sub(sub(sub(root, "tbxHeader"), "fileDesc"), "sourceDesc")
    sub(source, "p", "Glossary exported by zhen (Chinese to English).")
    body = sub(sub(root, "text"), "body")
    try:
        for term in terms:
            entry = sub(body, "conceptEntry", id=term.id)
            if term.kind is TermKind.KEEP:
                sub(entry, "note", KEEP_NOTE)
            if term.note:
                sub(entry, "note", term.note)
            zh = sub(entry, "langSec")
            zh.set(XML_LANG, ZH_LANG)
            term_section(zh, term.zh, "preferredTerm-admn-sts")
            for variant in term.variants:
                term_section(zh, variant, "admittedTerm-admn-sts")
            en = sub(entry, "langSec")
            en.set(XML_LANG, "en")
            term_section(en, term.en or term.rendering, "preferredTerm-admn-sts")
    except ValueError as exc:  # a control character XML cannot hold
        raise GlossaryError(f"entry {term.id!r} cannot be written as XML: {exc}") from None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_tbx(terms: Iterable[Term], path: str | os.PathLike[str]) -> None:
    """Write `terms` as a TBX-Basic file (atomically); ids become conceptEntry/@id."""
    atomic_write(path, tbx_bytes(terms))


# ---------------------------------------------------------------- CSV / TSV


def _csv_kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in {".csv", ".tsv"}:
        raise GlossaryError(f"{path}: expected a .csv or .tsv file, or .tbx for TBX")
    return ext


def _header_direction(cells: Sequence[str]) -> tuple[bool, bool] | None:
    """(is a header, columns are en→zh) for a first row like 'zh,en' or 'source,target'."""
    a, b = (c.strip().lower() for c in cells[:2])
    if {a, b} <= {"source", "target", "source term", "target term", "term", "translation"}:
        return True, False
    if _LANG_CODE.fullmatch(a) and _LANG_CODE.fullmatch(b):
        kinds = (_lang_kind(a), _lang_kind(b))
        if kinds == ("zh", "en"):
            return True, False
        if kinds == ("en", "zh"):
            return True, True
    return None


def read_csv_glossary(path: str | os.PathLike[str]) -> list[Term]:
    """Entries of a DeepL / Google style glossary: Chinese term, English term per row.

    `.tsv` is tab-separated without quoting, `.csv` is standard CSV.  An optional first row
    of language codes ('zh,en', 'en-US,zh-CN') or 'source,target' is a header and sets the
    direction; DeepL's optional third and fourth columns (source and target language) too.
    Rows with the same English are one entry whose later Chinese forms are variants; an entry
    whose English equals its Chinese is kind keep.  Ids are slugs of the English.
    """
    path = Path(path)
    ext = _csv_kind(path)
    data = _read_limited(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GlossaryError(f"{path}:{line}: not UTF-8; save the file as UTF-8") from None
    if ext == ".tsv":
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""))
    groups: dict[str, list[str]] = {}
    first, default_swap = True, False
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) < 2:
                raise GlossaryError(
                    f"{path}:{line}: expected two columns (Chinese term, English term)"
                )
            if first:
                first = False
                header = _header_direction(cells)
                if header:
                    default_swap = header[1]
                    continue
            swap = default_swap
            if len(cells) >= 4 and cells[2].strip() and cells[3].strip():
                pair = (_lang_kind(cells[2].strip()), _lang_kind(cells[3].strip()))
                if pair not in {("zh", "en"), ("en", "zh")}:
                    raise GlossaryError(
                        f"{path}:{line}: language pair {cells[2]}→{cells[3]}; expected zh and en"
                    )
                swap = pair == ("en", "zh")
            zh, en = (cells[1], cells[0]) if swap else (cells[0], cells[1])
            zh, en = zh.strip(), en.strip()
            if not zh or not en:
                raise GlossaryError(f"{path}:{line}: empty term")
            if max(len(zh), len(en)) > MAX_FIELD:
                raise GlossaryError(
                    f"{path}:{line}: a term is longer than {MAX_FIELD} characters; refusing the file"
                )
            forms = groups.setdefault(en, [])
            if zh not in forms:
                forms.append(zh)
    except csv.Error as exc:
        raise GlossaryError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    out: list[Term] = []
    taken: set[str] = set()
    for en, forms in groups.items():
        term_id = unique_id(slugify(en, forms[0]), taken)
        taken.add(term_id)
        kind = TermKind.KEEP if forms[0] == en else TermKind.TERM
        out.append(Term(id=term_id, zh=forms[0], en=en, variants=tuple(forms[1:]), kind=kind))
    return out


def write_csv_glossary(terms: Iterable[Term], path: str | os.PathLike[str]) -> None:
    """Write source→target rows (each variant its own row) for DeepL / Google; no header."""
    path = Path(path)
    ext = _csv_kind(path)
    rows = [
        (form, term.rendering)
        for term in sorted(terms, key=lambda t: t.id)
        for form in (term.zh, *term.variants)
    ]
    buffer = io.StringIO()
    if ext == ".tsv":
        for source, target in rows:
            if any(c in source + target for c in "\t\r\n"):
                raise GlossaryError(f"{source!r}: a TSV glossary cannot hold tabs or line breaks")
            buffer.write(f"{source}\t{target}\n")
    else:
        csv.writer(buffer, lineterminator="\n").writerows(rows)
    atomic_write(path, buffer.getvalue().encode("utf-8"))


def read_terms_file(path: str | os.PathLike[str]) -> tuple[list[Term], list[str]]:
    """Entries of a .tbx, .csv or .tsv file (by extension) and messages about skipped ones."""
    path = Path(path)
    if path.suffix.lower() in {".tbx", ".xml"}:
        return load_tbx(path)
    return read_csv_glossary(path), []


def write_terms_file(terms: Iterable[Term], path: str | os.PathLike[str]) -> None:
    """Write a .tbx, .csv or .tsv file (by extension)."""
    if Path(path).suffix.lower() in {".tbx", ".xml"}:
        write_tbx(terms, path)
    else:
        write_csv_glossary(terms, path)


# ---------------------------------------------------------------- merging


def _prepare(term: Term) -> Term:
    """Strip fields and drop variants that fold to the term or to an earlier variant."""
    zh = term.zh.strip()
    seen = {normalize_form(zh)}
    variants = []
    for v in (v.strip() for v in term.variants):
        key = normalize_form(v)
        if v and key not in seen:
            seen.add(key)
            variants.append(v)
    return replace(
        term,
        id=term.id.strip(),
        zh=zh,
        en=term.en.strip(),
        variants=tuple(variants),
        note=term.note.strip(),
    )


def import_terms(
    glossary_path: str | os.PathLike[str], terms: Iterable[Term]
) -> tuple[list[Term], list[str]]:
    """Merge imported entries into the glossary file; return (added, skipped messages).

    An entry whose Chinese forms are already in the glossary with the same rendering is
    skipped; with a different rendering it is a conflict, and any conflict refuses the whole
    import (nothing is written).  Entries that are invalid on their own are skipped with the
    reason.  Ids of the import are kept when meaningful (not 'c1'), else derived from the
    English, and made unique.
    """
    glossary = load_glossary(glossary_path)
    existing = list(glossary.terms)
    taken = {t.id for t in existing}
    owner: dict[str, tuple[Term, str]] = {}
    for t in existing:
        for form in (t.zh, *t.variants):
            owner.setdefault(normalize_form(form), (t, "the glossary"))
    added: list[Term] = []
    skipped: list[str] = []
    conflicts: list[str] = []
    for term in map(_prepare, terms):
        label = f"{term.zh!r} → {term.en!r}"
        problems = [m for code, m in term_problems(replace(term, id="x")) if code != "bad-id"]
        if problems:
            skipped.append(f"{label}: {problems[0]}; skipped")
            continue
        clashes = []
        for form in (term.zh, *term.variants):
            hit = owner.get(normalize_form(form))
            if hit and hit not in clashes:
                clashes.append(hit)
        if clashes:
            other, where = clashes[0]
            if all(o.rendering == term.rendering for o, _ in clashes):
                skipped.append(f"{label}: already in {where} as {other.id}; skipped")
            else:
                bad = next((o, w) for o, w in clashes if o.rendering != term.rendering)
                conflicts.append(
                    f"{term.zh!r} is {bad[0].rendering!r} in {bad[1]} ({bad[0].id}) "
                    f"but {term.rendering!r} in the import"
                )
            continue
        base = term.id if is_valid_id(term.id) and not _GENERIC_ID.fullmatch(term.id) else ""
        new = replace(term, id=unique_id(base, taken) if base else new_id(term, taken))
        taken.add(new.id)
        for form in (new.zh, *new.variants):
            owner[normalize_form(form)] = (new, "the import")
        added.append(new)
    if conflicts:
        shown = "; ".join(conflicts[:3]) + ("; …" if len(conflicts) > 3 else "")
        raise GlossaryError(
            f"{glossary_path}: import refused, {len(conflicts)} conflicting "
            f"entr{'y' if len(conflicts) == 1 else 'ies'}: {shown}; settle the rendering in "
            "one file and import again"
        )
    lines = glossary.lines
    before = {(m.code, m.message) for m in lint_terms(existing, lines=lines)
              if m.level == "error"}
    errors = [
        m.message
        for m in lint_terms([*existing, *added], lines=lines)
        if m.level == "error" and (m.code, m.message) not in before
    ]
    if errors:
        raise GlossaryError(f"{glossary_path}: import refused: {errors[0]}")
    if added:
        save_glossary(glossary_path, [*existing, *added], glossary.comments)
    return added, skipped
