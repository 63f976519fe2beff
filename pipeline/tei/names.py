"""The names zhen's TEI uses: namespaces, ids, fixed texts, and the element helpers."""

from __future__ import annotations

from lxml import etree
from zhen.digests import short_digest
from zhen.document import (
    TermStatus,
)
from zhen.qa.checks import CATEGORY_PREFIX

TEI_NS = "http://www.tei-c.org/ns/1.0"

XML_NS = "http://www.w3.org/XML/1998/namespace"

NSMAP = {None: TEI_NS}

XML_ID = f"{{{XML_NS}}}id"

XML_LANG = f"{{{XML_NS}}}lang"

SYNTHETIC_DESC = "SYNTHETIC model with random weights"

PROVENANCE_RECORD = "zhen-provenance"  # xenoData/@type: model and settings as JSON


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
SCORE_DESCRIPTION = (  # the header's encodingDesc: what an English s/@cert is (zhen.scores)
    "@cert of an English s is the translation model's own confidence in the English it "
    "chose for that sentence: the geometric mean of the probabilities of its tokens, "
    "exp(mean token log-probability), from 0 to 1. It is no measure of quality (a fluent "
    "mistranslation can score high), but low scores show where to look first (zhen qa, "
    "check low-score). English written or revised by a person has no @cert."
)

SYNTHETIC_WARNING = (
    "The English side was produced by a SYNTHETIC test model with random weights: it is "
    "noise, made to test mechanics, validity, alignment and speed. It is not a translation."
)

SUBTITLE = "Chinese text with an English translation, aligned sentence by sentence"

BOM_NOTE = "The source file begins with a byte-order mark."



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



def qa_pointers(checks) -> str:
    """@ana of an English s flagged by QA checks: "#qa.numbers #qa.term-missed"."""
    return " ".join("#" + CATEGORY_PREFIX + c for c in checks)



def human_resp_id(translator: str) -> str:
    """xml:id of the respStmt of one translator: derived from the name alone, so that a
    streamed paragraph can point to it before the header is written."""
    if not translator:
        return HUMAN_RESP
    return f"{HUMAN_RESP}.{short_digest(translator)}"
