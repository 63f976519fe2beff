"""Build TEI P5 from a Document, and read zhen's TEI back into a Document.

The shape is documented in docs/tei-format.md.  Reading back is what every export and
view uses, so an English side corrected by a translator in the TEI flows into them.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from .digests import ChineseDigest, english_digest, short_digest
from .errors import TeiError
from .model import (
    Document,
    DocumentInfo,
    Origin,
    Paragraph,
    Provenance,
    Sentence,
    SourceInfo,
    Term,
    TermKind,
    TermMatch,
    TermStatus,
)
from .qa import CATEGORY_PREFIX, CHECKS, QA_TAXONOMY
from .renderings import locate_renderings
from .settings import DecodingOptions

TEI_NS = "http://www.tei-c.org/ns/1.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: TEI_NS}
XML_ID = f"{{{XML_NS}}}id"
XML_LANG = f"{{{XML_NS}}}lang"

SYNTHETIC_DESC = "SYNTHETIC model with random weights"
PROVENANCE_RECORD = "zhen-provenance"  # xenoData/@type: model and settings as JSON
MODEL_LABELS = {"argos": "Argos Translate package", "opus-mt": "OPUS-MT model",
                "nllb": "NLLB-200 / M2M-100 model"}

STATUS_DESCRIPTIONS = {
    TermStatus.MODEL: "The approved rendering was in the model's own best translation.",
    TermStatus.ENFORCED: "The approved rendering was obtained by zhen: an n-best hypothesis "
    "that contains it was chosen, or it was forced as a target prefix and the model "
    "completed the sentence.",
    TermStatus.MISSED: "The translation does not contain the approved rendering; the term "
    "is marked on the Chinese side only.",
    TermStatus.EDITED: "The rendering is in a human-corrected English sentence.",
}
HUMAN_RESP = "resp.human"  # xml:id of the respStmt for people's translations (one per person)
UNNAMED_TRANSLATOR = "a translator not named to zhen (set ZHEN_TRANSLATOR)"
DIGEST_PREFIX = "zhen:"  # English s/@n: digest of the English as zhen wrote it
SYNTHETIC_WARNING = (
    "The English side was produced by a SYNTHETIC test model with random weights: it is "
    "noise, made to test mechanics, validity, alignment and speed. It is not a translation."
)


def _t(tag: str) -> str:
    return f"{{{TEI_NS}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str):
    el = etree.SubElement(parent, _t(tag))
    for k, v in attrs.items():
        el.set({"xml_id": XML_ID, "xml_lang": XML_LANG}.get(k, k), v)
    if text is not None:
        el.text = text
    return el


def zh_id(sentence_id: str) -> str:
    """TEI xml:id of a Chinese element from its model id ("p1.s2" → "zh.p1.s2")."""
    return f"zh.{sentence_id}"


def en_id(sentence_id: str) -> str:
    return f"en.{sentence_id}"


def term_category_id(term_id: str) -> str:
    return f"term.{term_id}"


# -- building ----------------------------------------------------------------------------


def build_tei(doc: Document) -> etree._ElementTree:
    """The TEI tree for a translated document."""
    root = etree.Element(_t("TEI"), nsmap=NSMAP)
    root.set(XML_LANG, "zh")
    _build_header(root, doc, tally(doc))
    zh_div, en_div, link_grp = _build_body(root)
    links = []
    zh_open, en_open = [zh_div], [en_div]  # the language div and its open sections
    for para in doc.paragraphs:
        if para.kind == "head":  # a heading opens a section at its depth
            keep = 1 + open_sections_kept(len(zh_open) - 1, para.level)
            del zh_open[keep:], en_open[keep:]
            zh_open.append(_sub(zh_open[-1], "div", type="section"))
            en_open.append(_sub(en_open[-1], "div", type="section"))
        zp = _sub(zh_open[-1], para.kind, xml_id=zh_id(para.id))
        ep = _sub(en_open[-1], para.kind, xml_id=en_id(para.id), corresp="#" + zh_id(para.id))
        for i, s in enumerate(para.sentences):
            zs = _sub(zp, "s", xml_id=zh_id(s.id))
            _inline_terms(zs, s.zh, s, english=False)
            es = _sub(ep, "s", **_en_s_attrs(s))
            _inline_terms(es, s.en or "", s, english=True)
            if i < len(para.sentences) - 1:
                es.tail = " "
            links.append(f"#{zh_id(s.id)} #{en_id(s.id)}")
    for target in links:
        _sub(link_grp, "link", target=target)
    return etree.ElementTree(root)


def open_sections_kept(open_sections: int, level: int) -> int:
    """How many of the open sections stay open when a heading of section depth `level`
    (1 = outermost) comes: those above its depth; a depth skipped is not invented."""
    return min(max(level, 1) - 1, open_sections)


def _en_s_attrs(s: Sentence) -> dict[str, str]:
    """An English s: its id, its Chinese partner, the digest of the English as written (so
    that a later edit by a person shows), and @resp for a person's translation."""
    attrs = {"xml_id": en_id(s.id), "corresp": "#" + zh_id(s.id),
             "n": DIGEST_PREFIX + english_digest(s.en or "")}
    if s.human:
        attrs["resp"] = "#" + human_resp_id(s.translator)
    if s.qa:
        attrs["ana"] = qa_pointers(s.qa)
    return attrs


def qa_pointers(checks) -> str:
    """@ana of an English s flagged by QA checks: "#qa.numbers #qa.term-missed"."""
    return " ".join("#" + CATEGORY_PREFIX + c for c in checks)


def human_resp_id(translator: str) -> str:
    """xml:id of the respStmt of one translator: derived from the name alone, so that a
    streamed paragraph can point to it before the header is written."""
    if not translator:
        return HUMAN_RESP
    return f"{HUMAN_RESP}.{short_digest(translator)}"


class Tally:
    """What the header says of a document's sentences, counted as they are written."""

    def __init__(self) -> None:
        self.sentences = 0
        self.human = 0
        self.translators: set[str] = set()
        self.chinese = ChineseDigest()

    def add(self, para: Paragraph) -> None:
        self.chinese.add(para.zh)
        for s in para.sentences:
            self.sentences += 1
            if s.human:
                self.human += 1
                self.translators.add(s.translator)


def tally(doc: Document) -> Tally:
    counts = Tally()
    for para in doc.paragraphs:
        counts.add(para)
    return counts


def _build_body(root: etree._Element) -> tuple[etree._Element, ...]:
    """text/body with the Chinese div, the English div and the linkGrp (returned, empty)."""
    body = _sub(_sub(root, "text"), "body")
    zh_div = _sub(body, "div", type="original", xml_lang="zh", xml_id="zh")
    en_div = _sub(body, "div", type="translation", xml_lang="en", xml_id="en")
    return zh_div, en_div, _sub(body, "linkGrp", type="translation")


def tei_bytes(doc: Document) -> bytes:
    """Serialised TEI (UTF-8, with XML declaration, indented header)."""
    tree = build_tei(doc)
    _layout(tree.getroot())
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def _layout(root: etree._Element) -> None:
    """Set the whitespace of a TEI tree: an indented header, one line per p, div and link."""
    etree.indent(root.find(_t("teiHeader")), space="  ", level=1)
    # No pretty_print: whitespace between Chinese `s` would change the paragraph text.
    # Line breaks go only where content is element-only (between p, div, link).
    root.text = "\n  "
    root.find(_t("teiHeader")).tail = "\n  "
    text = root.find(_t("text"))
    text.text, text.tail = "\n", "\n"
    body = text.find(_t("body"))
    body.text = "\n"
    for block in body:
        block.text = "\n" if len(block) else block.text
        block.tail = "\n"
        _layout_children(block)


def _layout_children(block: etree._Element) -> None:
    """One line per child of a div or linkGrp; a section div's children likewise."""
    for child in block:
        child.tail = "\n"
        if child.tag == _t("div"):
            child.text = "\n"
            _layout_children(child)


class TeiWriter:
    """Write a document's TEI paragraph by paragraph in bounded memory: the bytes of tei_bytes.

    The header comes first but depends on the whole document (sentences taken from the
    translation memory, terms used), so each paragraph is serialised as it is added into
    three spools (Chinese div, English div, links), kept in memory up to SPOOL_MEMORY bytes
    each and beyond that in an anonymous temporary file in `spool_dir` (nothing is left
    behind if the process dies).  `write` then streams header and spools to the output,
    filling a skeleton that lxml serialises exactly as in tei_bytes.  A heading opens its
    section `div` (closing those at its depth or below); a paragraph of kind "title" is the
    document's title, translated with the text and written in the header only.
    """

    SPOOL_MEMORY = 1 << 20
    _TARGETS = ("zhen-zh", "zhen-en", "zhen-links")  # placeholder PIs, one per spool

    def __init__(self, spool_dir: str | Path | None = None):
        self._spools = [tempfile.SpooledTemporaryFile(self.SPOOL_MEMORY, dir=spool_dir)
                        for _ in self._TARGETS]
        self.paragraphs = 0
        self.tally = Tally()
        self.title: Paragraph | None = None
        self._sections = 0  # section divs open

    def add(self, para: Paragraph) -> None:
        """Serialise one paragraph (its sentences translated) into the spools."""
        if para.kind == "title":
            self.title = para
            return
        zh_spool, en_spool, link_spool = self._spools
        if para.kind == "head":
            keep = open_sections_kept(self._sections, para.level)
            opening = "</div>\n" * (self._sections - keep) + '<div type="section">\n'
            zh_spool.write(opening.encode())
            en_spool.write(opening.encode())
            self._sections = keep + 1
        zh_spool.write(_p_xml(para, english=False).encode("utf-8"))
        en_spool.write(_p_xml(para, english=True).encode("utf-8"))
        link_spool.write("".join(
            _start("link", {"target": f"#{zh_id(s.id)} #{en_id(s.id)}"}, empty=True) + "\n"
            for s in para.sentences
        ).encode("utf-8"))
        self.paragraphs += 1
        self.tally.add(para)

    @property
    def sentences(self) -> int:
        return self.tally.sentences

    @property
    def title_from_memory(self) -> int:
        """Sentences of the title paragraph taken from the translation memory."""
        return sum(s.from_memory for s in self.title.sentences) if self.title else 0

    def write(self, out: BinaryIO, doc: Document) -> None:
        """Write the whole TEI to `out`; `doc` gives the header (its paragraphs are ignored;
        the English title is the title paragraph's, if one was added)."""
        if self.title is not None and not doc.info.title_en:
            doc = replace(doc, info=replace(doc.info, title_en=paragraph_english(self.title)))
        closing = ("</div>\n" * self._sections).encode()
        for spool in self._spools[:2]:
            spool.write(closing)
        self._sections = 0
        root = etree.Element(_t("TEI"), nsmap=NSMAP)
        root.set(XML_LANG, "zh")
        _build_header(root, doc, self.tally)
        blocks = _build_body(root)
        filled = (self.paragraphs, self.paragraphs, self.sentences)
        parts = []  # (placeholder bytes, spool) in document order
        for block, target, spool, count in zip(blocks, self._TARGETS, self._spools, filled):
            if count:  # an empty block stays an empty element, as in tei_bytes
                block.append(etree.ProcessingInstruction(target))
                parts.append((etree.tostring(block[0]) + b"\n", spool))
        _layout(root)
        rest = etree.tostring(etree.ElementTree(root), xml_declaration=True, encoding="UTF-8")
        for mark, spool in parts:
            head, found, rest = rest.partition(mark)
            assert found, mark
            out.write(head)
            spool.seek(0)
            shutil.copyfileobj(spool, out, 1 << 20)
        out.write(rest)

    def close(self) -> None:
        """Discard the spools (a failing flush of their contents does not matter here)."""
        for spool in self._spools:
            try:
                spool.close()
            except OSError:
                pass


# Paragraphs are serialised by hand rather than through lxml nodes: libxml2 interns every
# xml:id it sees in lxml's per-thread dictionary, which is never freed, so a tree per
# paragraph would still grow memory with the size of the document.  These functions give
# exactly libxml2's bytes (same attribute order, escaping and empty-element forms);
# test_streamed_tei_is_byte_identical checks them against tei_bytes.


def paragraph_english(para: Paragraph) -> str:
    """A paragraph's English: its sentences' joined by a space."""
    return " ".join(s.en for s in para.sentences if s.en)


def _p_xml(para: Paragraph, english: bool) -> str:
    """A Chinese or English `p` or `head` with its `s` elements and a final line break."""
    if english:
        attrs = {"xml_id": en_id(para.id), "corresp": "#" + zh_id(para.id)}
    else:
        attrs = {"xml_id": zh_id(para.id)}
    if not para.sentences:
        return _start(para.kind, attrs, empty=True) + "\n"
    sentences = []
    for s in para.sentences:
        s_attrs = _en_s_attrs(s) if english else {"xml_id": zh_id(s.id)}
        lead, terms = _inline_parts(s.en or "" if english else s.zh, s, english)
        if not lead and not terms:
            sentences.append(_start("s", s_attrs, empty=True))
            continue
        out = [_start("s", s_attrs), _escape_text(lead)]
        for t_attrs, inner, tail in terms:
            out += [_start("term", t_attrs), _escape_text(inner), "</term>", _escape_text(tail)]
        sentences.append("".join(out) + "</s>")
    return (_start(para.kind, attrs) + (" " if english else "").join(sentences)
            + f"</{para.kind}>\n")


def _start(tag: str, attrs: dict[str, str], empty: bool = False) -> str:
    names = {"xml_id": "xml:id", "xml_lang": "xml:lang"}
    values = "".join(f' {names.get(k, k)}="{_escape_attr(v)}"' for k, v in attrs.items())
    return f"<{tag}{values}{'/' if empty else ''}>"


def _escape_text(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\r", "&#13;"))


def _escape_attr(text: str) -> str:
    return (_escape_text(text).replace('"', "&quot;").replace("\n", "&#10;")
            .replace("\t", "&#9;"))


def _inline_terms(el: etree._Element, text: str, s: Sentence, english: bool) -> None:
    """Set the text of an `s`, wrapping each term occurrence in a `term` element."""
    lead, terms = _inline_parts(text, s, english)
    el.text = lead or None
    for attrs, inner, tail in terms:
        _sub(el, "term", inner, **attrs).tail = tail or None


def _inline_parts(text: str, s: Sentence, english: bool):
    """The content of an `s`: (text before the first term, [(term attributes, term text,
    text after it)…]), terms in order of their start."""
    spans = []
    for n, occ in enumerate(s.terms, start=1):
        tid = f"{zh_id(s.id)}.t{n}"
        status = occ.status.value if occ.status else None
        if english:
            if occ.en_start is None or occ.en_end is None:
                continue
            attrs = {
                "xml_id": f"{en_id(s.id)}.t{n}",
                "ref": "#" + term_category_id(occ.term_id),
                "corresp": "#" + tid,
            }
            start, end = occ.en_start, occ.en_end
        else:
            attrs = {"xml_id": tid, "ref": "#" + term_category_id(occ.term_id)}
            start, end = occ.start, occ.end
        if status:
            attrs["ana"] = "#status." + status
        spans.append((start, end, attrs))
    spans.sort(key=lambda x: x[0])
    lead, terms, pos = "", [], 0
    for start, end, attrs in spans:
        if terms:
            terms[-1][2] += text[pos:start]
        else:
            lead += text[pos:start]
        terms.append([attrs, text[start:end], ""])
        pos = end
    if terms:
        terms[-1][2] += text[pos:]
    else:
        lead += text[pos:]
    return lead, terms


def _build_header(root: etree._Element, doc: Document, counts: Tally) -> None:
    """The teiHeader; `counts` are those of the document's sentences."""
    prov, info = doc.provenance, doc.info
    total = counts.sentences
    header = _sub(root, "teiHeader", xml_lang="en")  # its prose is English
    fd = _sub(header, "fileDesc")
    ts = _sub(fd, "titleStmt")
    _sub(ts, "title", doc.title, xml_lang="zh")
    if info.title_en:
        _sub(ts, "title", info.title_en, type="translated", xml_lang="en")
    _sub(ts, "title", SUBTITLE, type="sub")
    rs = _sub(ts, "respStmt")
    _sub(rs, "resp", "sentence segmentation, glossary annotation and machine translation")
    _sub(rs, "name", f"zhen {prov.pipeline_version}")
    if counts.human:
        for name in sorted(counts.translators):
            rid = human_resp_id(name)
            rs = _sub(ts, "respStmt", xml_id=rid)
            _sub(rs, "resp", f'translation or revision of the English sentences with resp="#{rid}"')
            _sub(rs, "name", name or UNNAMED_TRANSLATOR)
    pub = _sub(fd, "publicationStmt")
    if counts.human:
        english = (f"{counts.human} of {total} English sentences were translated or revised "
                   "by a person (marked with @resp), the others are machine translation.")
    else:
        english = "the English text is unrevised machine translation."
    _sub(pub, "p", "Generated by zhen; not published. The Chinese text is the source "
         f"document; {english}")
    notes = []
    if prov.package_synthetic:
        notes.append(("mt-warning", SYNTHETIC_WARNING))
    notes.append((
        "human-translation",
        f"{counts.human} of {total} English sentences are human translations: edits made "
        "in this file, imported from a CAT tool, or taken from the translation memory's "
        "human translations (same Chinese sentence).",
    ))
    notes.append((
        "translation-memory",
        f"{prov.sentences_from_memory} of {total} sentences were taken from the translation "
        "memory (same model, options, glossary and source sentence).",
    ))
    if doc.source.dropped_chars:
        notes.append((
            "dropped-characters",
            f"{doc.source.dropped_chars} characters that XML 1.0 forbids were removed from "
            "the source text.",
        ))
    label, bom = encoding_label(doc.source.encoding)
    if bom:
        notes.append(("byte-order-mark", BOM_NOTE))
    ns = _sub(fd, "notesStmt")
    for kind, text in notes:
        _sub(ns, "note", text, type=kind)
    _source_bibl(_sub(fd, "sourceDesc"), doc, counts.chinese.hexdigest())

    ed = _sub(header, "encodingDesc")
    app_info = _sub(ed, "appInfo")
    app = _sub(app_info, "application", ident="zhen", version=prov.pipeline_version or "0")
    _sub(app, "label", "zhen")
    app = _sub(app_info, "application", ident="ctranslate2",
               version=prov.ctranslate2_version or "0")
    _sub(app, "label", "CTranslate2")
    app = _sub(app_info, "application", ident=_ident(prov.package_name or "none"),
               version=prov.package_version or "0")
    _sub(app, "label", f"{MODEL_LABELS.get(prov.model_kind, 'model')} {prov.package_name}")
    # For people; the exact settings are in xenoData (PROVENANCE_RECORD) below.
    desc = [f"beam size {prov.beam_size}", f"compute type {prov.compute_type}"]
    if prov.device:
        desc.append(f"device {prov.device}")
    if prov.length_cap:
        desc.append(f"length cap {prov.length_cap}")
    if prov.glossary_enforcement:
        desc.append(f"glossary enforcement {prov.glossary_enforcement}")
    if prov.package_synthetic:
        desc.append(SYNTHETIC_DESC)
    _sub(app, "desc", "; ".join(desc))

    cd = _sub(ed, "classDecl")
    tax = _sub(cd, "taxonomy", xml_id="zhen.term-status")
    for status, text in STATUS_DESCRIPTIONS.items():
        cat = _sub(tax, "category", xml_id="status." + status.value)
        _sub(cat, "catDesc", text)
    _qa_taxonomy(cd)
    gl = _sub(cd, "taxonomy", xml_id="zhen.glossary")
    gb = _sub(gl, "bibl")
    _sub(gb, "title", "zhen glossary")
    _sub(gb, "idno", prov.glossary_path, type="filename")
    _sub(gb, "idno", prov.glossary_sha256, type="sha256")
    for term in sorted(doc.terms.values(), key=lambda t: t.id):
        cat = _sub(gl, "category", xml_id=term_category_id(term.id), n=term.kind.value)
        cdesc = _sub(cat, "catDesc")
        _sub(cdesc, "term", term.zh, xml_lang="zh")
        _sub(cdesc, "gloss", term.rendering, xml_lang="en")
        for v in term.variants:
            _sub(cdesc, "term", v, xml_lang="zh", type="variant")
        if term.note:  # catDesc admits no note: a second catDesc holds it
            _sub(cat, "catDesc", term.note, n="note")

    pd = _sub(header, "profileDesc")
    lu = _sub(pd, "langUsage")
    _sub(lu, "language", "Chinese", ident="zh")
    _sub(lu, "language", "English", ident="en")
    record = {"model": {"kind": prov.model_kind, "name": prov.package_name,
                        "version": prov.package_version, "fingerprint": prov.model_fingerprint,
                        "synthetic": prov.package_synthetic},
              "ctranslate2": prov.ctranslate2_version, "device": prov.device,
              "settings": json.loads(prov.settings) if prov.settings else {}}
    _sub(header, "xenoData", json.dumps(record, sort_keys=True, ensure_ascii=False),
         type=PROVENANCE_RECORD)
    rd = _sub(header, "revisionDesc")
    change = _sub(rd, "change", "Translated and annotated by zhen.")
    if prov.date:
        change.set("when", prov.date)
    if counts.human:
        change = _sub(rd, "change", f"{counts.human} English sentence(s) translated or revised "
                      "by a person.",
                      who=" ".join("#" + human_resp_id(n) for n in sorted(counts.translators)))
        if prov.date:
            change.set("when", prov.date)


def _source_bibl(source_desc: etree._Element, doc: Document, text_sha256: str) -> None:
    """The source's `bibl`: its title (and the title's translation), author, date,
    publisher, URL, then the file: name, sha256, format, encoding, digests; extra fields
    as `note type="metadata"` named by @n."""
    info = doc.info
    bibl = _sub(source_desc, "bibl")
    _sub(bibl, "title", doc.title, xml_lang="zh")
    if info.title_en:
        _sub(bibl, "title", info.title_en, type="translated", xml_lang="en")
    if info.author:
        _sub(bibl, "author", info.author, **_lang_of(info.author))
    if info.date:
        _sub(bibl, "date", info.date, when=info.date)
    if info.publisher:
        _sub(bibl, "publisher", info.publisher, **_lang_of(info.publisher))
    if info.url:
        _sub(bibl, "ptr", target=_uri(info.url))
    _sub(bibl, "idno", doc.source.filename, type="filename")
    _sub(bibl, "idno", doc.source.sha256, type="sha256")
    if info.format:
        _sub(bibl, "idno", info.format, type="format")
    if doc.source.encoding:
        _sub(bibl, "idno", encoding_label(doc.source.encoding)[0], type="encoding")
    _sub(bibl, "idno", text_sha256, type="text-sha256")
    if doc.source.meta_sha256:
        _sub(bibl, "idno", doc.source.meta_sha256, type="metadata-sha256")
    for key, value in info.extra:
        _sub(bibl, "note", value, type="metadata", n=key)


SUBTITLE = "Chinese text with an English translation, aligned sentence by sentence"
BOM_NOTE = "The source file begins with a byte-order mark."
# Python codecs that read a source → (the encoding's name in the header, a byte-order mark)
_ENCODING_LABELS = {"utf-8": ("UTF-8", False), "utf-8-sig": ("UTF-8", True),
                    "utf-16": ("UTF-16", True), "utf-32": ("UTF-32", True),
                    "gb18030": ("GB18030", False), "cp950": ("Big5", False),
                    "big5hkscs": ("Big5-HKSCS", False), "cp1252": ("windows-1252", False)}
_CODECS = {(label, bom): codec for codec, (label, bom) in _ENCODING_LABELS.items()}
_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


def encoding_label(codec: str) -> tuple[str, bool]:
    """(the IANA-style name of a Python codec, whether it implies a byte-order mark)."""
    return _ENCODING_LABELS.get(codec, (codec.upper(), False))


def encoding_codec(label: str, bom: bool) -> str:
    """The Python codec of a header's encoding name (the inverse of encoding_label)."""
    return _CODECS.get((label, bom)) or _CODECS.get((label, not bom)) or label.lower()


def _lang_of(text: str) -> dict[str, str]:
    """xml:lang="zh" for a name in Chinese characters (the header is English)."""
    return {"xml_lang": "zh"} if _CJK.search(text) else {}


def _uri(url: str) -> str:
    """A URL as a TEI pointer: white space percent-encoded."""
    return re.sub(r"\s", lambda m: f"%{ord(m[0]):02X}" if m[0].isascii() else "%20", url)


def _ident(name: str) -> str:
    """A TEI `ident` (teidata.name: an XML Name) from a package name."""
    out = "".join(c if c.isalnum() or c in "-._" else "_" for c in name)
    return out if out[:1].isalpha() else "p" + out


# -- QA findings ---------------------------------------------------------------------------


def _qa_taxonomy(class_decl: etree._Element) -> etree._Element:
    """The taxonomy of zhen's QA checks (zhen.qa), one category per check."""
    tax = _sub(class_decl, "taxonomy", xml_id=QA_TAXONOMY)
    _sub(tax, "desc", "Quality checks run by zhen on the English: an English s points with "
         "@ana to each check that flags it; `zhen qa FILE` says what each one found. "
         "A category's @n is the check's severity.")
    for check in CHECKS.values():
        cat = _sub(tax, "category", xml_id=CATEGORY_PREFIX + check.id, n=check.severity)
        _sub(cat, "catDesc", check.description)
    return tax


def _taxonomy_key(tax: etree._Element) -> list[tuple[str, ...]]:
    """What a taxonomy says, whitespace aside."""
    return [(el.tag, el.get(XML_ID) or "", el.get("n") or "", " ".join((el.text or "").split()))
            for el in tax.iter(etree.Element)]


def _read_qa(es: etree._Element) -> tuple[str, ...]:
    """The QA check ids an English s points to with @ana."""
    prefix = "#" + CATEGORY_PREFIX
    return tuple(p.removeprefix(prefix) for p in (es.get("ana") or "").split()
                 if p.startswith(prefix) and p.removeprefix(prefix) in CHECKS)


def mark_qa(root: etree._Element, doc: Document) -> bool:
    """Make a parsed zhen TEI record the QA flags of `doc`'s sentences (`Sentence.qa`):
    @ana on the English `s` and the taxonomy of checks in the header, which is written
    exactly as tei_bytes would.  Nothing else changes.  True if anything did."""
    ns = {"t": TEI_NS}
    changed = False
    cd = root.find(f"{_t('teiHeader')}/{_t('encodingDesc')}/{_t('classDecl')}")
    if cd is None:
        raise ValueError("no classDecl in the header")
    old = cd.find(f"{_t('taxonomy')}[@{{{XML_NS}}}id='{QA_TAXONOMY}']")
    scratch = etree.Element(_t("classDecl"))
    new = _qa_taxonomy(scratch)
    if old is None or _taxonomy_key(old) != _taxonomy_key(new):
        status = cd.find(f"{_t('taxonomy')}[@{{{XML_NS}}}id='zhen.term-status']")
        if old is not None:
            cd.replace(old, new)
        else:
            cd.insert(cd.index(status) + 1 if status is not None else 0, new)
        etree.indent(root.find(_t("teiHeader")), space="  ", level=1)
        changed = True
    flags = {en_id(s.id): qa_pointers(s.qa) for s in doc.sentences()}
    for es in root.xpath("t:text/t:body/t:div[@xml:lang='en']//t:s", namespaces=ns):
        others = [p for p in (es.get("ana") or "").split()
                  if not p.startswith("#" + CATEGORY_PREFIX)]
        value = " ".join([*others, flags.get(es.get(XML_ID, ""), "")]).strip()
        if value != (es.get("ana") or ""):
            if value:
                es.set("ana", value)
            else:
                del es.attrib["ana"]
            changed = True
    return changed


# -- reading back ------------------------------------------------------------------------


def read_tei(path: str | Path) -> Document:
    """Read a TEI file that zhen wrote (possibly edited) back into a Document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        raise TeiError(f"{path}: not well-formed XML ({exc})") from None
    try:
        return parse_tei(root, Path(path).name)
    except (KeyError, ValueError, AttributeError) as exc:
        raise TeiError(f"{path}: not a zhen TEI file ({exc})") from None


def read_tei_header(path: str | Path) -> Document:
    """Only the header of a zhen TEI file, as a Document without paragraphs (fast: the text
    is not parsed)."""
    try:
        for _, header in etree.iterparse(
            str(path), events=("end",), tag=_t("teiHeader"), resolve_entities=False,
            no_network=True, huge_tree=True,
        ):
            return _parse_header(header.getparent(), Path(path).name)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise TeiError(f"{path}: not well-formed XML ({exc})") from None
    except (KeyError, ValueError, AttributeError) as exc:
        raise TeiError(f"{path}: not a zhen TEI file ({exc})") from None
    raise TeiError(f"{path}: not a zhen TEI file (no teiHeader)")


def parse_tei(root: etree._Element, name: str = "") -> Document:
    """A Document from a parsed zhen TEI root element."""
    doc = _parse_header(root, name)
    ns = {"t": TEI_NS}
    english = {}
    for es in root.xpath("t:text/t:body/t:div[@xml:lang='en']//t:s", namespaces=ns):
        english[es.get("corresp", "").lstrip("#")] = es
    blocks = "t:text/t:body/t:div[@xml:lang='zh']//*[self::t:p or self::t:head]"
    for zp in root.xpath(blocks, namespaces=ns):
        para = Paragraph(id=zp.get(XML_ID).removeprefix("zh."))
        if zp.tag == _t("head"):  # its level: the sections it is in
            para.kind = "head"
            para.level = len(zp.xpath("ancestor::t:div[@type='section']", namespaces=ns))
        for zs in zp.findall(_t("s")):
            sid = zs.get(XML_ID).removeprefix("zh.")
            zh_text, found = _read_inline(zs)
            sentence = Sentence(id=sid, zh=zh_text, terms=[occ for occ, _, _ in found])
            by_id = {xid: occ for occ, xid, _ in found}
            es = english.get(zs.get(XML_ID))
            if es is not None:
                sentence.en, en_found = _read_inline(es)
                for occ, _, corresp in en_found:
                    target = by_id.get(corresp)
                    if target is not None:
                        target.en_start, target.en_end = occ.start, occ.end
                        target.status = occ.status
                _read_origin(sentence, es, doc)
                sentence.qa = _read_qa(es)
            para.sentences.append(sentence)
        doc.paragraphs.append(para)
    return doc


def _read_origin(sentence: Sentence, es: etree._Element, doc: Document) -> None:
    """Who wrote an English sentence read back: a person where @resp says so or where the
    text differs from the digest of what zhen wrote (an edit made in the file).  A person's
    English is searched again for the approved renderings: found ones are EDITED, the
    others MISSED (never the status the machine text had)."""
    n = es.get("n") or ""
    sentence.written_digest = n.removeprefix(DIGEST_PREFIX) if n.startswith(DIGEST_PREFIX) else ""
    resp = (es.get("resp") or "").removeprefix("#")
    edited = is_edited(sentence)
    if (resp.startswith(HUMAN_RESP) or edited) and (sentence.en or "").strip():
        sentence.origin = Origin.HUMAN
        # an edit made in the file since is nobody's known to zhen
        names = {human_resp_id(n): n for n in doc.provenance.translators}
        sentence.translator = "" if edited else names.get(resp, "")
        locate_renderings(sentence, doc.terms, TermStatus.EDITED)


def is_edited(sentence: Sentence) -> bool:
    """Whether a sentence read back was edited in the file since zhen wrote it."""
    return is_edited_text(sentence.en or "", sentence.written_digest)


def is_edited_text(english: str, written_digest: str) -> bool:
    """Whether `english` differs from the English whose digest zhen recorded ("" if none)."""
    return bool(written_digest) and english_digest(english) != written_digest


def _parse_header(root: etree._Element, name: str) -> Document:
    """The Document of a zhen TEI root element, header only (no paragraphs)."""
    if root.tag != _t("TEI"):
        raise ValueError("root element is not TEI")
    ns = {"t": TEI_NS}

    def first(xpath: str, default: str = "") -> str:
        found = root.xpath(xpath, namespaces=ns)
        return str(found[0]) if found else default

    bibl = "t:teiHeader/t:fileDesc/t:sourceDesc/t:bibl"
    notes = "t:teiHeader/t:fileDesc/t:notesStmt/t:note"
    encoding = first(f"{bibl}/t:idno[@type='encoding']/text()")
    bom = bool(root.xpath(f"{notes}[@type='byte-order-mark']", namespaces=ns))
    source = SourceInfo(
        filename=first(f"{bibl}/t:idno[@type='filename']/text()"),
        sha256=first(f"{bibl}/t:idno[@type='sha256']/text()"),
        encoding=encoding_codec(encoding, bom) if encoding else "",
        meta_sha256=first(f"{bibl}/t:idno[@type='metadata-sha256']/text()"),
    )
    dropped = first(f"{notes}[@type='dropped-characters']/text()", "0").split(" ")[0]
    source.dropped_chars = int(dropped) if dropped.isdigit() else 0
    memory = first(f"{notes}[@type='translation-memory']/text()", "0").split(" ")[0]
    human = first(f"{notes}[@type='human-translation']/text()", "0").split(" ")[0]
    source.text_sha256 = first(f"{bibl}/t:idno[@type='text-sha256']/text()")
    names = root.xpath(f"t:teiHeader/t:fileDesc/t:titleStmt/t:respStmt[starts-with(@xml:id, "
                       f"'{HUMAN_RESP}')]/t:name/text()", namespaces=ns)
    apps = "t:teiHeader/t:encodingDesc/t:appInfo/t:application"
    record = json.loads(first(f"t:teiHeader/t:xenoData[@type='{PROVENANCE_RECORD}']/text()",
                              "{}"))
    model = record.get("model", {})
    settings = record.get("settings", {})
    gl = "t:teiHeader/t:encodingDesc/t:classDecl/t:taxonomy[@xml:id='zhen.glossary']"
    prov = Provenance(
        package_name=model.get("name", ""),
        package_version=model.get("version", ""),
        package_synthetic=bool(model.get("synthetic", False)),
        ctranslate2_version=record.get("ctranslate2", ""),
        glossary_path=first(f"{gl}/t:bibl/t:idno[@type='filename']/text()"),
        glossary_sha256=first(f"{gl}/t:bibl/t:idno[@type='sha256']/text()"),
        pipeline_version=first(f"{apps}[@ident='zhen']/@version"),
        date=first("t:teiHeader/t:revisionDesc/t:change/@when"),
        sentences_from_memory=int(memory) if memory.isdigit() else 0,
        sentences_human=int(human) if human.isdigit() else 0,
        translators=tuple(str(n) for n in names if n != UNNAMED_TRANSLATOR),
        model_kind=model.get("kind", ""),
        model_fingerprint=model.get("fingerprint", ""),
        device=record.get("device", ""),
        settings=DecodingOptions.from_record(json.dumps(settings)).to_record()
        if settings else "",
    )
    terms: dict[str, Term] = {}
    for cat in root.xpath(f"{gl}/t:category", namespaces=ns):
        tid = cat.get(XML_ID).removeprefix("term.")
        desc = cat.find(_t("catDesc"))
        zh_terms = desc.findall(_t("term"))
        kind = TermKind(cat.get("n", "term"))
        terms[tid] = Term(
            id=tid,
            zh=zh_terms[0].text or "",
            en="" if kind is TermKind.KEEP else (desc.findtext(_t("gloss")) or ""),
            variants=tuple(t.text or "" for t in zh_terms[1:]),
            kind=kind,
            note=cat.findtext(f"{_t('catDesc')}[@n='note']") or "",
        )
    title = first("t:teiHeader/t:fileDesc/t:titleStmt/t:title[not(@type)]/text()")
    info = DocumentInfo(
        title=title,
        author=first(f"{bibl}/t:author/text()"),
        date=first(f"{bibl}/t:date/@when"),
        publisher=first(f"{bibl}/t:publisher/text()"),
        url=first(f"{bibl}/t:ptr/@target"),
        format=first(f"{bibl}/t:idno[@type='format']/text()"),
        extra=tuple((el.get("n") or "", el.text or "") for el in
                    root.xpath(f"{bibl}/t:note[@type='metadata']", namespaces=ns)),
        title_en=first(f"{bibl}/t:title[@type='translated']/text()"),
    )
    return Document(id=name.removesuffix(".tei.xml") or title, title=title, source=source,
                    provenance=prov, terms=terms, info=info)


def _read_inline(s_el: etree._Element) -> tuple[str, list[tuple[TermMatch, str, str]]]:
    """Text of an `s` plus its term occurrences as (occurrence, xml:id, corresp target)."""
    parts = [s_el.text or ""]
    found = []
    pos = len(parts[0])
    for child in s_el:
        text = "".join(child.itertext())
        if child.tag == _t("term"):
            status = (child.get("ana") or "").removeprefix("#status.")
            occ = TermMatch(
                term_id=(child.get("ref") or "").removeprefix("#term."),
                start=pos,
                end=pos + len(text),
                status=TermStatus(status) if status else None,
            )
            found.append((occ, child.get(XML_ID, ""), (child.get("corresp") or "").lstrip("#")))
        parts += [text, child.tail or ""]
        pos += len(text) + len(child.tail or "")
    return "".join(parts), found
