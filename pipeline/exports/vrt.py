"""VRT (one token per line) for CWB/CQPweb and NoSketch Engine, plus CWB alignment files.

Chinese tokens come from jieba, English tokens from sacremoses' Moses tokenizer.  Text is
tokenized piecewise between glossary term spans, so no token ever crosses a term boundary.
A Chinese term occurrence is one token; an English term rendering is tokenized like the
rest and every one of its tokens carries the term id, so `[term="us-japan-alliance"]`
finds the whole rendering in CQP.

Columns (p-attributes), tab-separated:
  Chinese: word, term, status          English: word, lower, term, status
`term` is the glossary term id and `status` the term status (model, enforced, missed,
edited); `_` where there is none.  Structure: `<text id title title_en author date year
publisher url source>` (`text_attributes`), `<p id type>` (type p or head),
`<s id origin qa score>` with the TEI xml:ids, who wrote the English, the QA checks that
flag the pair as a CWB feature set (`|numbers|term-missed|`, `|` for none; zhen.qa), and
the model's score of a machine translation ("0.8312", "" for a person's: zhen.scores;
always four decimals, so a regular expression selects a range: `_.s_score = "0[.][0-2].*"`
in CQP is a score below 0.3);
tokens and attribute values are XML-escaped (encode with `-x`).

The alignment files are in `cwb-align`'s output format, which `cwb-align-encode` reads:
a header `SOURCE<TAB>s<TAB>TARGET<TAB>s`, then one 1:1 bead per line, `f1 l1 f2 l2 1:1`,
the first and last corpus positions (0-based, inclusive) of the two `s` regions.  Pairs
with no token on one side are left out (a 1:0 bead cannot be encoded).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zhen.document import Sentence
from zhen.errors import OutputError
from zhen.exports.common import TeiDoc, load_documents, one_line
from zhen.scores import format_score
from zhen.tei.names import en_id, zh_id
from zhen.writer import write_atomic

NONE = "_"
CORPUS_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


@dataclass(frozen=True)
class Token:
    word: str
    term: str = NONE
    status: str = NONE


@dataclass
class Side:
    """One language's VRT lines and the corpus positions of its `s` regions."""

    lines: list[str] = field(default_factory=list)
    size: int = 0  # tokens so far: the corpus position of the next token
    regions: list[tuple[int, int] | None] = field(default_factory=list)  # None: empty s


# -- tokenizers (loaded on first use) ----------------------------------------------------


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" chatter on stderr
    tokenizer = jieba.Tokenizer()  # own instance: words added elsewhere do not leak in
    tokenizer.initialize()
    return tokenizer


@functools.lru_cache(maxsize=1)
def _moses():
    from sacremoses import MosesTokenizer

    return MosesTokenizer(lang="en")


def zh_words(text: str) -> list[str]:
    """jieba words of `text`, whitespace dropped."""
    return [w for w in _jieba().lcut(text) if w.strip()]


def en_words(text: str) -> list[str]:
    """Moses tokens of `text` (no escaping, hyphenated words kept whole)."""
    return _moses().tokenize(text, escape=False, aggressive_dash_splits=False)


def _spans(s: Sentence, english: bool) -> list[tuple[int, int, str, str]]:
    """Non-overlapping term spans (start, end, term id, status) on one side, in order."""
    spans = []
    for occ in s.terms:
        start, end = (occ.en_start, occ.en_end) if english else (occ.start, occ.end)
        if start is not None and end is not None and end > start:
            spans.append((start, end, occ.term_id, occ.status.value if occ.status else NONE))
    spans.sort()
    kept, last_end = [], 0
    for span in spans:
        if span[0] >= last_end:
            kept.append(span)
            last_end = span[1]
    return kept


def tokenize(text: str, spans: list[tuple[int, int, str, str]],
             words: Callable[[str], list[str]], split_terms: bool) -> list[Token]:
    """Tokens of `text`, tokenized piece by piece between term spans.

    A term span becomes one token, or with `split_terms` its own tokens, each with the term.
    """
    tokens: list[Token] = []
    pos = 0
    for start, end, term, status in [*spans, (len(text), len(text), NONE, NONE)]:
        tokens += [Token(w) for w in words(text[pos:start])]
        piece = text[start:end]
        if split_terms:
            tokens += [Token(w, term, status) for w in words(piece)]
        elif piece.strip():
            tokens.append(Token(one_line(piece).strip(), term, status))
        pos = end
    return tokens


def zh_tokens(s: Sentence) -> list[Token]:
    return tokenize(s.zh, _spans(s, english=False), zh_words, split_terms=False)


def en_tokens(s: Sentence) -> list[Token]:
    return tokenize(s.en or "", _spans(s, english=True), en_words, split_terms=True)


# -- rendering ---------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tag(name: str, **attrs: str) -> str:
    """A one-line start tag; attribute values on one line and XML-escaped."""
    values = "".join(f' {k}="{_escape(one_line(v)).replace(chr(34), "&quot;")}"'
                     for k, v in attrs.items())
    return f"<{name}{values}>"


# The attributes of `s`, in order: what cwb-encode is told (`-S s:0+id+origin+qa+score`).
S_ATTRIBUTES = ("id", "origin", "qa", "score")


def _add_sentence(side: Side, sid: str, tokens: list[Token], english: bool,
                  origin: str, qa: str = "|", score: str = "") -> None:
    values = dict(zip(S_ATTRIBUTES, (sid, origin, qa, score)))
    side.lines.append(_tag("s", **values))
    for t in tokens:
        word = _escape(t.word)
        cols = [word, _escape(t.word.lower())] if english else [word]
        side.lines.append("\t".join([*cols, _escape(t.term), _escape(t.status)]))
    side.regions.append((side.size, side.size + len(tokens) - 1) if tokens else None)
    side.size += len(tokens)
    side.lines.append("</s>")


def render_vrt(docs: Sequence[TeiDoc]) -> tuple[Side, Side]:
    """The Chinese and English VRT sides of the documents."""
    from zhen.qa.run import by_sentence, check_documents

    flagged = by_sentence(check_documents([item.doc for item in docs]))
    zh, en = Side(), Side()
    for item in docs:
        doc = item.doc
        for side in (zh, en):
            side.lines.append(_tag("text", **text_attributes(doc)))
        for para in doc.paragraphs:  # type: "p", or "head" for a heading
            zh.lines.append(_tag("p", id=zh_id(para.id), type=para.kind))
            en.lines.append(_tag("p", id=en_id(para.id), type=para.kind))
            for s in para.sentences:
                # origin: who wrote the English (machine, memory or human); the Chinese
                # side carries it too, so that CQP can filter either corpus by it
                # qa: the QA checks that flag the pair, a CWB feature set ("|" for none)
                # score: the model's, of a machine translation ("" for a person's English)
                qa = qa_feature_set(flagged.get((doc.id, s.id), ()))
                score = "" if s.score is None or s.human else format_score(s.score)
                _add_sentence(zh, zh_id(s.id), zh_tokens(s), False, s.origin.value, qa, score)
                _add_sentence(en, en_id(s.id), en_tokens(s), True, s.origin.value, qa, score)
            zh.lines.append("</p>")
            en.lines.append("</p>")
        for side in (zh, en):
            side.lines.append("</text>")
    return zh, en


def text_attributes(doc) -> dict[str, str]:
    """The attributes of a document's `text` region: its id, title (Chinese) and the title's
    English, author, date (ISO 8601) and year, publisher, URL, and source file name; ""
    where the document does not say (CQP: `<text_year="2025">`, `_.text_date >= "2025-03"`)."""
    info = doc.info
    return {"id": doc.id, "title": doc.title, "title_en": info.title_en,
            "author": info.author, "date": info.date, "year": info.year,
            "publisher": info.publisher, "url": info.url, "source": doc.source.filename}


def qa_feature_set(findings) -> str:
    """The check ids of a sentence's findings as a CWB feature set: "|numbers|brackets|"."""
    return "|" + "".join(f"{c}|" for c in dict.fromkeys(f.check for f in findings))


def render_align(source: Side, target: Side, source_id: str, target_id: str) -> str:
    """A `cwb-align-encode` input file: 1:1 beads between the sides' non-empty `s` regions."""
    lines = [f"{source_id}\ts\t{target_id}\ts"]
    for a, b in zip(source.regions, target.regions):
        if a is not None and b is not None:
            lines.append(f"{a[0]}\t{a[1]}\t{b[0]}\t{b[1]}\t1:1")
    return "\n".join(lines) + "\n"


def cwb_ids(corpus_name: str) -> tuple[str, str]:
    """CWB corpus ids (upper case) of the Chinese and English corpora."""
    return f"{corpus_name}_zh".upper(), f"{corpus_name}_en".upper()


def export_vrt(tei_paths: Iterable[str | Path], out_dir: str | Path,
               corpus_name: str) -> list[Path]:
    """Write `<name>.zh.vrt`, `<name>.en.vrt`, `<name>.zh-en.align`, `<name>.en-zh.align`
    into the folder `out_dir` (refused: a file, or a name ending in .vrt)."""
    out = Path(out_dir)
    if (out.exists() and not out.is_dir()) or (out.suffix.lower() == ".vrt" and not out.is_dir()):
        raise OutputError(f"{out}: VRT export writes a folder ({corpus_name}.zh.vrt, "
                          f"{corpus_name}.en.vrt and two .align files): give a folder with -o, "
                          "and the corpus name with --name")
    if not CORPUS_NAME.match(corpus_name):
        raise OutputError(f"{out}: corpus name {corpus_name!r} cannot be a CWB corpus id; "
                          "use ASCII letters, digits, '_' or '-', starting with a letter")
    zh, en = render_vrt(load_documents(tei_paths))
    zh_cwb, en_cwb = cwb_ids(corpus_name)
    files = {
        out / f"{corpus_name}.zh.vrt": "\n".join(zh.lines) + "\n",
        out / f"{corpus_name}.en.vrt": "\n".join(en.lines) + "\n",
        out / f"{corpus_name}.zh-en.align": render_align(zh, en, zh_cwb, en_cwb),
        out / f"{corpus_name}.en-zh.align": render_align(en, zh, en_cwb, zh_cwb),
    }
    for path, text in files.items():
        write_atomic(path, text.encode("utf-8"))
    return list(files)
