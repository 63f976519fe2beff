"""Sentence-pair exports: TMX 1.4b, Moses plain text, and XCES cesAlign as OPUS reads it.

Each `render_*` function is pure (documents in, bytes out); each `export_*` function reads
the TEI files back, renders, and writes with `write_atomic`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from lxml import etree
from zhen import __version__
from zhen.exports.common import TeiDoc, is_pair, load_documents, one_line
from zhen.formats.languages import SOURCE_LANGUAGE, TARGET_LANGUAGE
from zhen.scores import format_score
from zhen.tei.names import XML_LANG, en_id, zh_id
from zhen.writer import write_atomic

# -- TMX 1.4b ----------------------------------------------------------------------------


def tuid(doc_id: str, sentence_id: str) -> str:
    """TMX tuid of a pair: document id, ':', the Chinese sentence's xml:id."""
    return f"{doc_id}:{zh_id(sentence_id)}"


def tmx_skeleton(o_tmf: str = "zhen TEI") -> tuple[etree._Element, etree._Element]:
    """A TMX 1.4b root with zhen's header, and its empty body."""
    root = etree.Element("tmx", version="1.4")
    etree.SubElement(root, "header", {
        "creationtool": "zhen",
        "creationtoolversion": __version__,
        "datatype": "plaintext",
        "segtype": "sentence",
        "adminlang": "en",
        "srclang": SOURCE_LANGUAGE,
        "o-tmf": o_tmf,
    })
    return root, etree.SubElement(root, "body")


def add_tu(body: etree._Element, zh: str, en: str, props: Sequence[tuple[str, str]] = (),
           **attrs: str) -> etree._Element:
    """A `tu` with its props (type, text) and a zh and an en `tuv`."""
    tu = etree.SubElement(body, "tu", {k: v for k, v in attrs.items() if v})
    for kind, text in props:
        etree.SubElement(tu, "prop", type=kind).text = text
    for lang, text in ((SOURCE_LANGUAGE, zh), (TARGET_LANGUAGE, en)):
        tuv = etree.SubElement(tu, "tuv", {XML_LANG: lang})
        etree.SubElement(tuv, "seg").text = text
    return tu


def score_props(score: float | None) -> list[tuple[str, str]]:
    """The `prop type="x-score"` of a machine translation's score (none without one)."""
    return [] if score is None else [("x-score", format_score(score))]


def tmx_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def render_tmx(docs: Sequence[TeiDoc]) -> bytes:
    """TMX 1.4b: one `tu` per sentence pair that has text on both sides.

    Each `tu` carries `prop type="x-source"` (the TEI file name), `prop type="x-origin"`
    (machine, memory or human: who wrote the English), for a machine translation
    `prop type="x-score"` (the model's score, 0 to 1: zhen.scores), one `prop type="x-term"` per
    glossary term id occurring in the Chinese sentence, and the document's metadata where
    it has any: `x-title`, `x-author`, `x-date`, `x-publisher`, `x-url`.
    """
    root, body = tmx_skeleton()
    for item in docs:
        info = item.doc.info
        about = [(f"x-{k}", v) for k, v in (("title", item.doc.title), ("author", info.author),
                                             ("date", info.date), ("publisher", info.publisher),
                                             ("url", info.url)) if v]
        for s in item.doc.sentences():
            if not is_pair(s.zh, s.en):
                continue
            props = [("x-source", item.name), ("x-origin", s.origin.value)]
            props += score_props(None if s.human else s.score)
            props += [("x-term", t) for t in dict.fromkeys(occ.term_id for occ in s.terms)]
            props += about
            add_tu(body, s.zh_text, s.en or "", props, tuid=tuid(item.doc.id, s.id),
                   creationid=s.translator if s.human else "")
    return tmx_bytes(root)


def export_tmx(tei_paths: Iterable[str | Path], out_file: str | Path) -> list[Path]:
    """Write a TMX 1.4b translation memory of the TEI files' sentence pairs."""
    out = Path(out_file)
    write_atomic(out, render_tmx(load_documents(tei_paths)))
    return [out]


# -- Moses -------------------------------------------------------------------------------


def render_moses(docs: Sequence[TeiDoc]) -> tuple[bytes, bytes]:
    """Line-aligned plain text (Chinese, English): one sentence pair per line.

    Tabs and line breaks inside a sentence become spaces; pairs without text on both
    sides are left out, so line n of one file translates line n of the other.
    """
    zh_lines, en_lines = [], []
    for item in docs:
        for s in item.doc.sentences():
            if is_pair(s.zh, s.en):
                zh_lines.append(one_line(s.zh) + "\n")
                en_lines.append(one_line(s.en or "") + "\n")
    return "".join(zh_lines).encode("utf-8"), "".join(en_lines).encode("utf-8")


def export_moses(tei_paths: Iterable[str | Path], out_prefix: str | Path,
                 name: str = "zhen") -> list[Path]:
    """Write `<prefix>.zh` and `<prefix>.en`, line-aligned, one sentence per line.

    A prefix that is a folder (an existing one, or one written with a final '/') means
    `<folder>/<name>.zh` and `<folder>/<name>.en`.
    """
    prefix = Path(out_prefix)
    if str(out_prefix).endswith(("/", os.sep)) or prefix.is_dir():
        prefix = prefix / name
    zh, en = render_moses(load_documents(tei_paths))
    paths = [Path(f"{prefix}.zh"), Path(f"{prefix}.en")]
    for path, data in zip(paths, (zh, en)):
        write_atomic(path, data)
    return paths


# -- cesAlign (XCES, as OPUS and OpusTools read it) -------------------------------------

CESALIGN_DOCTYPE = '<!DOCTYPE cesAlign PUBLIC "-//CES//DTD XML cesAlign//EN" "">'


def sentence_file(lang: str, doc_id: str) -> str:
    """Path, relative to the alignment file's folder, of one document's sentence file."""
    return f"{lang}/{doc_id}.xml"


def render_sentence_file(item: TeiDoc, lang: str) -> bytes:
    """OPUS 'raw' sentence XML of one side: `document/p/s`, `id`s equal to the TEI xml:ids.

    As in OPUS, a sentence is on one line: tabs and line breaks in it become spaces.
    """
    root = etree.Element("document", id=item.doc.id)
    root.text = "\n"
    make_id = zh_id if lang == "zh" else en_id
    for para in item.doc.paragraphs:
        p = etree.SubElement(root, "p", id=make_id(para.id))
        p.text, p.tail = "\n", "\n"
        for s in para.sentences:
            el = etree.SubElement(p, "s", id=make_id(s.id))
            el.text = one_line(s.zh if lang == "zh" else (s.en or ""))
            el.tail = "\n"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def render_cesalign(docs: Sequence[TeiDoc]) -> bytes:
    """The cesAlign file: one `linkGrp` per document, one 1:1 `link` per sentence pair."""
    root = etree.Element("cesAlign", version="1.0")
    for item in docs:
        grp = etree.SubElement(root, "linkGrp", targType="s",
                               fromDoc=sentence_file("zh", item.doc.id),
                               toDoc=sentence_file("en", item.doc.id))
        for n, s in enumerate(item.doc.sentences(), start=1):
            etree.SubElement(grp, "link", id=f"SL{n}",
                             xtargets=f"{zh_id(s.id)};{en_id(s.id)}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True,
                          doctype=CESALIGN_DOCTYPE)


def export_cesalign(tei_paths: Iterable[str | Path], out_file: str | Path) -> list[Path]:
    """Write the cesAlign file and, beside it, `zh/<doc>.xml` and `en/<doc>.xml` per document.

    fromDoc/toDoc are relative to the alignment file's folder: run OpusTools there, e.g.
    `opus_read -af FILE -d zhen -s zh -t en -p raw -dl FOLDER`.
    """
    out = Path(out_file)
    docs = load_documents(tei_paths)
    written = []
    for item in docs:
        for lang in ("zh", "en"):
            path = out.parent / sentence_file(lang, item.doc.id)
            write_atomic(path, render_sentence_file(item, lang))
            written.append(path)
    write_atomic(out, render_cesalign(docs))
    return [out, *written]
