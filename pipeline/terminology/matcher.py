"""Find glossary terms in Chinese sentences.

A `TermMatcher` knows every surface form of every glossary entry: the preferred form, the
maintainer's variants, and the other-script forms OpenCC derives from each of them (s2t, s2tw,
s2hk, t2s), so 新黃金時代 matches 新黄金时代 without anyone typing it.  Text is compared after a
per-character width fold (full-width ＧＤＰ reads as GDP) that never changes the length, so
every offset indexes the raw sentence.  Where candidates overlap the longest wins, then the
leftmost.  Matching is per sentence: a match never crosses a sentence boundary.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zhen.document import Term, TermMatch
from zhen.han import has_han
from zhen.terminology.opencc_memo import convert, remembered

if TYPE_CHECKING:
    from zhen.terminology.glossary import Glossary

# OpenCC configurations whose output is added as a derived form of every Chinese form.
DERIVE_CONFIGS = ("s2t", "s2tw", "s2hk")

_END = ""  # trie key holding the term id of a form ending at that node (no char is "")


class _WidthFold(dict):
    """Code point → the one character its NFKC form is, or itself; filled as characters
    are met (building the whole table up front cost every zhen process ~30 ms)."""

    def __missing__(self, cp: int) -> int:
        folded = cp
        if cp < 0x30000 and not 0xD800 <= cp <= 0xDFFF:  # compatibility characters
            nfkc = unicodedata.normalize("NFKC", chr(cp))
            if len(nfkc) == 1:
                folded = ord(nfkc)
        self[cp] = folded
        return folded


_WIDTH_FOLD = _WidthFold()


def fold_width(text: str) -> str:
    """Fold full/half-width and other compatibility characters one for one (same length).

    ＧＤＰ → GDP, ｶ → カ, U+3000 → space, U+2F47 ⽇ (Kangxi radical) → 日.  Characters whose
    compatibility form is longer (ﬁ, ㈱) are left alone so offsets stay valid.
    """
    return text.translate(_WIDTH_FOLD)


def normalize_form(form: str) -> str:
    """The comparison key of a Chinese form: width folded, then simplified (t2s)."""
    folded = fold_width(form)
    return convert("t2s", folded) if has_han(folded) else folded


def script_forms(form: str) -> set[str]:
    """`form` plus its simplified and traditional (generic, Taiwan, Hong Kong) spellings."""
    if not has_han(form):
        return {form}
    simplified = convert("t2s", form)
    forms = {form, simplified}
    for base in (form, simplified):
        forms.update(convert(config, base) for config in DERIVE_CONFIGS)
    return forms


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass(frozen=True, eq=False)
class TermMatcher:
    """All surface forms of a glossary, compiled into a character trie."""

    terms: Mapping[str, Term]  # by id
    forms: Mapping[str, str]  # width-folded surface form → term id
    _trie: dict[str, Any]

    @classmethod
    def from_glossary(cls, glossary: Glossary) -> TermMatcher:
        """Build a matcher for a loaded glossary (its forms' OpenCC conversions remembered)."""
        with remembered():
            return build_matcher(glossary.terms)

    def match(self, text: str) -> list[TermMatch]:
        """Same as `match_terms(self, text)`."""
        return match_terms(self, text)


def build_matcher(terms: Iterable[Term]) -> TermMatcher:
    """Compile the entries' forms, variants and derived script forms into a matcher.

    When two entries share a form, a typed form (zh or variant) beats a derived one, then the
    smaller id wins; `lint_glossary` reports such clashes.
    """
    by_id: dict[str, Term] = {}
    best: dict[str, tuple[int, str]] = {}  # folded form → (derived?, term id)
    for term in sorted(terms, key=lambda t: t.id):
        by_id.setdefault(term.id, term)
        typed = [f for f in (term.zh, *term.variants) if f]
        derived = set().union(*(script_forms(form) for form in typed))
        for rank, forms in ((0, typed), (1, sorted(derived - set(typed)))):
            for form in forms:
                key = fold_width(form)
                if key and (key not in best or (rank, term.id) < best[key]):
                    best[key] = (rank, term.id)
    trie: dict[str, Any] = {}
    for key, (_rank, term_id) in best.items():
        node = trie
        for ch in key:
            node = node.setdefault(ch, {})
        node[_END] = term_id
    return TermMatcher(terms=by_id, forms={k: tid for k, (_, tid) in best.items()}, _trie=trie)


def _candidates(trie: dict[str, Any], folded: str) -> list[tuple[int, int, str]]:
    """Every (start, end, term id) where a form occurs in `folded`, overlapping ones included."""
    found = []
    n = len(folded)
    get = trie.get
    for i in range(n):
        node = get(folded[i])
        if node is None:
            continue
        j = i + 1
        while True:
            term_id = node.get(_END)
            if term_id is not None:
                found.append((i, j, term_id))
            if j >= n:
                break
            node = node.get(folded[j])
            if node is None:
                break
            j += 1
    return found


def find_all(matcher: TermMatcher, text: str) -> list[TermMatch]:
    """Every occurrence of every form in `text`, overlapping ones included, sorted."""
    return [
        TermMatch(term_id=tid, start=i, end=j)
        for i, j, tid in sorted(_candidates(matcher._trie, fold_width(text)))
    ]


def match_terms(matcher: TermMatcher, text: str) -> list[TermMatch]:
    """Occurrences of glossary terms in one sentence: non-overlapping, sorted by start.

    Overlapping candidates resolve to the longest, ties to the leftmost.  A form that begins
    (ends) with an ASCII letter or digit does not match right after (before) another one, so
    GDP is not found inside GDPR.  `start`/`end` index `text` itself.
    """
    folded = fold_width(text)
    n = len(folded)
    found = [
        (i, j, tid)
        for i, j, tid in _candidates(matcher._trie, folded)
        if not (_is_word_char(folded[i]) and i > 0 and _is_word_char(folded[i - 1]))
        and not (_is_word_char(folded[j - 1]) and j < n and _is_word_char(folded[j]))
    ]
    found.sort(key=lambda c: (c[0] - c[1], c[0]))
    taken = bytearray(n)
    chosen = []
    for i, j, tid in found:
        if not any(taken[i:j]):
            taken[i:j] = b"\x01" * (j - i)
            chosen.append((i, j, tid))
    chosen.sort()
    return [TermMatch(term_id=tid, start=i, end=j) for i, j, tid in chosen]
