"""Suggest glossary candidates from Chinese texts: what recurs, what is named, what is quoted.

Candidates come from three sources:

* expressions: jieba words and runs of two or three words (each of two or more characters)
  whose part-of-speech tags make a noun phrase, seen at least `min_count` times;
* names: words jieba tags as person, place, organisation or other proper noun (nr, ns, nt, nz);
* quoted phrases: text inside “…” 《…》 「…」 『…』, even if seen once.

Function words are excluded by their tags, numbers and dates too; a Latin-script word counts
only when it looks like an acronym or a code (GDP, CPTPP, G7, 5G), so the ordinary words of
an English sentence inside a Chinese text are not candidates; and single words that are
common in general Chinese (low inverse document frequency in jieba's own table) are dropped.
Every occurrence of every candidate is counted (in either script, any width), except those
inside or cutting through a glossary term; a candidate nested in longer retained candidates is
scored by C-value (its count minus theirs), so 自卫权 does not ride on 集体自卫权.  Anything
that is already a glossary form, in either script, is left out.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zhen.document import Term
from zhen.terminology.glossary import Glossary
from zhen.terminology.matcher import (
    build_matcher,
    find_all,
    fold_width,
    match_terms,
    normalize_form,
)

CONTEXT_CHARS = 20
GENERIC_IDF = 5.5  # below: everyday words (问题 3.96, 日本 5.01); names and phrases need more
SPECIFIC_IDF = 7.0  # a lone common noun or a verb opening a phrase needs this (反击 7.63)
MAX_QUOTED = 30

_QUOTED = re.compile(r"“([^“”\n]+)”|《([^《》\n]+)》|「([^「」\n]+)」|『([^『』\n]+)』")
_CLAUSE_PUNCT = re.compile(r"[，。！？；：,!?;]")
_NUMERIC = re.compile(
    r"[\d０-９.．,，%％~～\-－/／年月日号点时分秒万亿千百十零〇一二三四五六七八九两]+"
)
# An acronym or code: two capitals (GDP, McKinsey), or letters and digits together (G7, 5G).
_LATIN_TERM = re.compile(r"[A-Z][\w&.\-]*[A-Z0-9][\w&.\-]*|[A-Za-z]+\d\w*|\d+[A-Za-z]\w*", re.ASCII)
_NAME_FLAGS = frozenset({"nr", "nrfg", "nrt", "ns", "nt", "nz"})
_WORD_FLAGS = frozenset({"n", "vn", "j", "l", "i", "eng", "an"}) | _NAME_FLAGS
_HEAD_FLAGS = _WORD_FLAGS | {"v", "a", "b"}  # first word of a multi-word expression


@dataclass(frozen=True)
class Candidate:
    """A suggested glossary entry."""

    text: str
    count: int  # occurrences not inside a glossary term or a longer candidate
    documents: int  # texts it occurs in
    score: float
    context: str  # ~20 characters either side of one occurrence, the candidate in 【】
    source: str  # name of the text the context comes from
    kinds: tuple[str, ...]  # of "expression", "name", "quoted"


@dataclass
class _Seen:
    text: str
    kinds: set[str] = field(default_factory=set)
    idf: float = 0.0


@functools.cache
def _jieba() -> tuple[Any, dict[str, float], float]:
    """jieba's module, its IDF table and median, loaded once and quietly (no network)."""
    with warnings.catch_warnings():  # jieba imports pkg_resources, which warns on new setuptools
        warnings.simplefilter("ignore")
        import jieba
        import jieba.analyse
        import jieba.posseg
    jieba.setLogLevel(logging.WARNING)  # jieba logs "Building prefix dict..." to stderr
    tfidf = jieba.analyse.default_tfidf  # IDF table shipped in the package
    return jieba, tfidf.idf_freq, tfidf.median_idf


@functools.cache
def _tokenizer() -> Any:
    """A private jieba POS tokenizer (its dictionary ships in the package; built once)."""
    jieba = _jieba()[0]
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return jieba.posseg.POSTokenizer(tokenizer)


def _tokens(tokenizer: Any, text: str) -> list[tuple[str, str]]:
    return [(pair.word, pair.flag) for pair in tokenizer.cut(text)]


def _is_numeric(text: str) -> bool:
    return _NUMERIC.fullmatch(fold_width(text)) is not None


def _collect(
    texts: Sequence[tuple[str, str]], tokenizer: Any, idf: dict[str, float], median: float
) -> dict[str, _Seen]:
    """Candidate strings (by normalised form) with how they were found."""
    seen: dict[str, _Seen] = {}

    def add(text: str, kind: str, word_idf: float) -> None:
        entry = seen.setdefault(normalize_form(text), _Seen(text))
        entry.kinds.add(kind)
        entry.idf = max(entry.idf, word_idf)

    for _, text in texts:
        for match in _QUOTED.finditer(text):
            inner = next(g for g in match.groups() if g is not None).strip()
            if 2 <= len(inner) <= MAX_QUOTED and not _CLAUSE_PUNCT.search(inner):
                if not _is_numeric(inner):
                    add(inner, "quoted", median)
        run: list[tuple[str, str]] = []  # words just before this one that can start a phrase
        for word, flag in _tokens(tokenizer, text):
            word_idf = idf.get(word, median)
            if (
                len(word) < 2
                or _is_numeric(word)
                or flag not in _HEAD_FLAGS
                or (flag == "eng" and not _LATIN_TERM.fullmatch(word))
            ):
                run = []
                continue
            if flag in _NAME_FLAGS and word_idf >= GENERIC_IDF:
                add(word, "name", word_idf)
            elif flag in _WORD_FLAGS and word_idf >= SPECIFIC_IDF:
                add(word, "expression", word_idf)
            if flag in _WORD_FLAGS:
                for start in range(len(run)):
                    parts = [*run[start:], (word, flag)]
                    if any(f not in _WORD_FLAGS for _, f in parts[1:]):
                        continue
                    phrase_idf = max(idf.get(w, median) for w, _ in parts)
                    if phrase_idf >= GENERIC_IDF:
                        add("".join(w for w, _ in parts), "expression", phrase_idf)
            can_start = flag in _WORD_FLAGS or word_idf >= SPECIFIC_IDF  # 反击 but not 构成
            run = [*run, (word, flag)][-2:] if can_start else []
    return seen


def _nesting(keys: Sequence[str]) -> list[list[int]]:
    """For each key, the indexes of the longer keys that contain it."""
    index = {k: i for i, k in enumerate(keys)}
    longer: list[list[int]] = [[] for _ in keys]
    for j, outer in enumerate(keys):
        inner = {outer[a:b] for a in range(len(outer)) for b in range(a + 1, len(outer) + 1)}
        for sub in inner - {outer}:
            if sub in index:
                longer[index[sub]].append(j)
    return longer


def suggest_terms(
    texts: Sequence[tuple[str, str]],
    glossary: Glossary | Iterable[Term] | None,
    limit: int = 50,
    min_count: int = 2,
) -> list[Candidate]:
    """The best `limit` glossary candidates in `texts` ((name, text) pairs), best first.

    An expression must occur `min_count` times; names and quoted phrases once.  Occurrences
    inside (or cutting through) a glossary term are not counted.  Score: the C-value
    log2(length) × (count − mean count of the longer retained candidates containing it), times
    1 + log2(documents), the specificity of its words (IDF / jieba's median IDF, at most 1),
    and 1.5 for a quoted phrase or 1.2 for a name.
    """
    terms = list(glossary.terms if isinstance(glossary, Glossary) else glossary or ())
    glossary_forms = [f for t in terms for f in (t.zh, *t.variants) if f]
    known = {normalize_form(f) for f in glossary_forms}
    _, idf, median = _jieba()
    seen = _collect(texts, _tokenizer(), idf, median)
    keys = sorted(k for k in seen if k not in known)
    glossary_matcher = build_matcher(terms)
    matcher = build_matcher(Term(id=f"c{i}", zh=seen[k].text, en="?") for i, k in enumerate(keys))

    counts = [0] * len(keys)
    docs: list[set[int]] = [set() for _ in keys]
    first: dict[int, tuple[str, str, int, int]] = {}
    for doc_index, (name, text) in enumerate(texts):
        covered = [-1] * len(text)  # index of the glossary match covering each character
        spans = [(m.start, m.end) for m in match_terms(glossary_matcher, text)]
        for n, (a, b) in enumerate(spans):
            covered[a:b] = [n] * (b - a)
        for m in find_all(matcher, text):
            cut = {covered[x] for x in range(m.start, m.end)} - {-1}
            if any(spans[n][0] < m.start or spans[n][1] > m.end for n in cut):
                continue  # inside or across a glossary term
            i = int(m.term_id[1:])
            counts[i] += 1
            docs[i].add(doc_index)
            first.setdefault(i, (name, text, m.start, m.end))

    retained = {
        i
        for i, k in enumerate(keys)
        if counts[i] >= (1 if seen[k].kinds & {"quoted", "name"} else min_count)
    }
    out = []
    for i, containing in enumerate(_nesting(keys)):
        if i not in retained:
            continue
        entry, count = seen[keys[i]], counts[i]
        longer = [counts[j] for j in containing if j in retained]
        c_value = math.log2(len(entry.text)) * (
            count - (sum(longer) / len(longer) if longer else 0)
        )
        bonus = 1.5 if "quoted" in entry.kinds else 1.2 if "name" in entry.kinds else 1.0
        score = c_value * (1 + math.log2(len(docs[i]))) * min(1.0, entry.idf / median) * bonus
        if score <= 0:
            continue  # every occurrence is inside a longer candidate
        name, text, start, end = first[i]
        left = text[max(0, start - CONTEXT_CHARS) : start]
        right = text[end : end + CONTEXT_CHARS]
        out.append(
            Candidate(
                text=entry.text,
                count=count,
                documents=len(docs[i]),
                score=round(score, 3),
                context=re.sub(r"\s+", " ", f"{left}【{text[start:end]}】{right}"),
                source=name,
                kinds=tuple(k for k in ("expression", "name", "quoted") if k in entry.kinds),
            )
        )
    out.sort(key=lambda c: (-c.score, -c.count, c.text))
    return out[:limit]
