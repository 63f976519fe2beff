"""Reading zhen's TEI (possibly edited by people) back into a Document."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree
from zhen.digests import english_digest
from zhen.document import (
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
from zhen.errors import TeiError
from zhen.qa.checks import CATEGORY_PREFIX, CHECKS
from zhen.scores import parse_score
from zhen.settings import DecodingOptions
from zhen.tei.header import encoding_codec
from zhen.tei.names import (
    DIGEST_PREFIX,
    HUMAN_RESP,
    PROVENANCE_RECORD,
    TEI_NS,
    UNNAMED_TRANSLATOR,
    XML_ID,
    _t,
    human_resp_id,
)
from zhen.terminology.renderings import locate_renderings
from zhen.xmlsafe import TEI_PARSE_OPTIONS, tei_parser


def read_tei(path: str | Path) -> Document:
    """Read a TEI file that zhen wrote (possibly edited) back into a Document."""
    try:
        root = etree.parse(str(path), tei_parser()).getroot()
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
            str(path), events=("end",), tag=_t("teiHeader"), **TEI_PARSE_OPTIONS
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
            gap = zs.tail or ""  # the space after the sentence (Sentence.zh_text), not
            if gap and not gap.strip() and "\n" not in gap:  # a re-indentation's
                zh_text += gap
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
                sentence.score = None if sentence.human else parse_score(es.get("cert"))
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
    source.text_sha256 = first(f"{bibl}/t:idno[@type='text-sha256']/text()")
    names = root.xpath(f"t:teiHeader/t:fileDesc/t:titleStmt/t:respStmt[starts-with(@xml:id, "
                       f"'{HUMAN_RESP}')]/t:name/text()", namespaces=ns)
    apps = "t:teiHeader/t:encodingDesc/t:appInfo/t:application"
    record = json.loads(first(f"t:teiHeader/t:xenoData[@type='{PROVENANCE_RECORD}']/text()",
                              "{}"))
    counts = _counts(record, lambda kind: first(f"{notes}[@type='{kind}']/text()", "0"))
    source.dropped_chars = counts["dropped_characters"]
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
        sentences_from_memory=counts["from_memory"],
        sentences_human=counts["human"],
        translators=tuple(str(n) for n in names if n != UNNAMED_TRANSLATOR),
        model_kind=model.get("kind", ""),
        model_fingerprint=model.get("fingerprint", ""),
        device=record.get("device", ""),
        settings=(json.dumps(settings, sort_keys=True) if record.get("description") else
                  DecodingOptions.from_record(json.dumps(settings)).to_record())
        if settings else "",
        model_desc=record.get("description", ""),
        signature=record.get("signature", ""),
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



def _read_qa(es: etree._Element) -> tuple[str, ...]:
    """The QA check ids an English s points to with @ana."""
    prefix = "#" + CATEGORY_PREFIX
    return tuple(p.removeprefix(prefix) for p in (es.get("ana") or "").split()
                 if p.startswith(prefix) and p.removeprefix(prefix) in CHECKS)


def _counts(record: dict, note) -> dict[str, int]:
    """The header's counts: data in the provenance record; a file written by zhen 0.2.0
    or earlier gives them only in its notes' prose ("3 of 12 …"), read from `note(type)`."""
    counts = record.get("counts")
    if isinstance(counts, dict):
        return {k: int(counts.get(k) or 0) for k in ("human", "from_memory",
                                                      "dropped_characters")}
    prose = {"human": "human-translation", "from_memory": "translation-memory",
             "dropped_characters": "dropped-characters"}
    first_words = {k: note(kind).split(" ")[0] for k, kind in prose.items()}
    return {k: int(word) if word.isdigit() else 0 for k, word in first_words.items()}
