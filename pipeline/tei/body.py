"""The TEI of a document: header and body, serialised paragraph by paragraph."""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from lxml import etree
from zhen.digests import english_digest
from zhen.document import (
    Document,
    Paragraph,
    Sentence,
)
from zhen.scores import format_score
from zhen.tei.header import Tally, build_header
from zhen.tei.names import (
    DIGEST_PREFIX,
    NSMAP,
    XML_LANG,
    _sub,
    _t,
    en_id,
    human_resp_id,
    qa_pointers,
    term_category_id,
    zh_id,
)


def open_sections_kept(open_sections: int, level: int) -> int:
    """How many of the open sections stay open when a heading of section depth `level`
    (1 = outermost) comes: those above its depth; a depth skipped is not invented."""
    return min(max(level, 1) - 1, open_sections)



def _en_s_attrs(s: Sentence) -> dict[str, str]:
    """An English s: its id, its Chinese partner, the digest of the English as written (so
    that a later edit by a person shows), @cert the model's score of a machine translation
    (zhen.scores), and @resp for a person's translation."""
    attrs = {"xml_id": en_id(s.id), "corresp": "#" + zh_id(s.id),
             "n": DIGEST_PREFIX + english_digest(s.en or "")}
    if s.score is not None and not s.human:
        attrs["cert"] = format_score(s.score)
    if s.human:
        attrs["resp"] = "#" + human_resp_id(s.translator)
    if s.qa:
        attrs["ana"] = qa_pointers(s.qa)
    return attrs









def _build_body(root: etree._Element) -> tuple[etree._Element, ...]:
    """text/body with the Chinese div, the English div and the linkGrp (returned, empty)."""
    body = _sub(_sub(root, "text"), "body")
    zh_div = _sub(body, "div", type="original", xml_lang="zh", xml_id="zh")
    en_div = _sub(body, "div", type="translation", xml_lang="en", xml_id="en")
    return zh_div, en_div, _sub(body, "linkGrp", type="translation")



def tei_bytes(doc: Document) -> bytes:
    """Serialised TEI (UTF-8, with XML declaration, indented header): what `TeiWriter`
    writes for the document's paragraphs."""
    writer = TeiWriter()
    try:
        for para in doc.paragraphs:
            writer.add(para)
        out = io.BytesIO()
        writer.write(out, doc)
        return out.getvalue()
    finally:
        writer.close()



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
    """Write a document's TEI paragraph by paragraph in bounded memory: the one TEI serialiser.

    The header comes first but depends on the whole document (sentences taken from the
    translation memory, terms used), so each paragraph is serialised as it is added into
    three spools (Chinese div, English div, links), kept in memory up to SPOOL_MEMORY bytes
    each and beyond that in an anonymous temporary file in `spool_dir` (nothing is left
    behind if the process dies).  `write` then streams header and spools to the output,
    filling a skeleton that lxml serialises.  A heading opens its
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
        build_header(root, doc, self.tally)
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
        text = s.en or "" if english else s.zh_text
        if not english and any(occ.end > len(text) for occ in s.terms):
            text = s.zh  # (a term never covers white space, but if one did it stays whole)
        gap = "" if english else _escape_text(s.zh[len(text):])  # the space after it: outside
        lead, terms = _inline_parts(text, s, english)
        if not lead and not terms:
            sentences.append(_start("s", s_attrs, empty=True) + gap)
            continue
        out = [_start("s", s_attrs), _escape_text(lead)]
        for t_attrs, inner, tail in terms:
            out += [_start("term", t_attrs), _escape_text(inner), "</term>", _escape_text(tail)]
        sentences.append("".join(out) + "</s>" + gap)
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
