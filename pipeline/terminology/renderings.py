"""Where approved English renderings stand in an English sentence (pure functions).

Used by the decoder's glossary enforcement, by read-back of edited TEI (a person's English
is searched again), by coverage and by the checks: one definition of "contains the
rendering" (case and a leading article ignored, at word boundaries).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from zhen.document import Sentence, Term, TermMatch, TermStatus

_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)


def rendering_pattern(rendering: str) -> re.Pattern[str]:
    """Case-insensitive pattern for a rendering, articles optional, at word boundaries."""
    core = _ARTICLE.sub("", rendering.strip())
    pat = re.escape(core)
    if core[:1].isalnum():
        pat = r"(?<![^\W_])" + pat
    if core[-1:].isalnum():
        pat = pat + r"(?![^\W_])"
    return re.compile(pat, re.IGNORECASE)


def find_renderings(text: str, rendering: str) -> list[tuple[int, int]]:
    """Non-overlapping spans of `rendering` in `text` (case and articles ignored)."""
    return [m.span() for m in rendering_pattern(rendering).finditer(text)]


def allocate_renderings(
    text: str, occurrences: Sequence[TermMatch], terms: dict[str, Term]
) -> list[tuple[int, int] | None]:
    """The English span each occurrence gets in `text`, or None where none is left.

    Longer renderings are placed first, so "Indo-Pacific Strategy" is not eaten by the
    "Indo-Pacific" of a shorter term; occurrences of one term take its matches in order.
    """
    found: dict[str, list[tuple[int, int]]] = {}
    taken: list[tuple[int, int]] = []
    result: list[tuple[int, int] | None] = [None] * len(occurrences)
    order = sorted(
        range(len(occurrences)), key=lambda i: -len(terms[occurrences[i].term_id].rendering)
    )
    for i in order:
        tid = occurrences[i].term_id
        if tid not in found:
            found[tid] = find_renderings(text, terms[tid].rendering)
        span = next((sp for sp in found[tid] if not any(_overlaps(sp, t) for t in taken)), None)
        if span is not None:
            found[tid].remove(span)
            taken.append(span)
            result[i] = span
    return result


def has_all_renderings(text: str, sentence: Sentence, terms: dict[str, Term]) -> bool:
    """Whether `text` has a rendering for every term occurrence of `sentence`."""
    return all(span is not None for span in allocate_renderings(text, sentence.terms, terms))


def locate_renderings(
    sentence: Sentence,
    terms: dict[str, Term],
    status: TermStatus,
    model_text: str | None = None,
) -> None:
    """Set en_start/en_end/status of each occurrence from the English text.

    A rendering that the model's own best output (`model_text`) already had counts as
    MODEL even when enforcement ran; one not found is MISSED (never a claimed hit).
    """
    spans = allocate_renderings(sentence.en or "", sentence.terms, terms)
    model_left: Counter[str] = Counter()
    if model_text is not None:
        for occ, sp in zip(sentence.terms, allocate_renderings(model_text, sentence.terms, terms)):
            if sp is not None:
                model_left[occ.term_id] += 1
    for occ, span in zip(sentence.terms, spans):
        if span is None:
            occ.en_start = occ.en_end = None
            occ.status = TermStatus.MISSED
            continue
        occ.en_start, occ.en_end = span
        if model_left[occ.term_id] > 0:
            model_left[occ.term_id] -= 1
            occ.status = TermStatus.MODEL
        else:
            occ.status = status


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]
