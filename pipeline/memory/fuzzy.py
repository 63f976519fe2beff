"""Fuzzy matches of human translations: suggestions for a reviewer, never inserted.

A sentence with no exact human translation is compared with the Chinese of every human
translation in the memory (rapidfuzz's normalised Indel similarity, 0–100, on the
normalised sentences); those scoring at least MIN_SCORE are offered, best first, in the
XLIFF export (`alt-trans`) and the reading view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zhen.digests import normalise_sentence
from zhen.document import Sentence
from zhen.memory.base import HumanTranslation

MIN_SCORE = 75.0
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class Suggestion:
    """A human translation of a similar Chinese sentence."""

    source: str
    target: str
    score: float  # 0-100
    translator: str = ""


def suggest_translations(
    sentences: Iterable[Sentence],
    human: Sequence[HumanTranslation],
    min_score: float = MIN_SCORE,
    limit: int = MAX_SUGGESTIONS,
) -> dict[str, list[Suggestion]]:
    """Suggestions by sentence id for the sentences that have no human translation of
    their own (a sentence already human, or with an exact match, gets none)."""
    from rapidfuzz import fuzz, process

    choices = [h.key for h in human]
    exact = set(choices)
    found: dict[str, list[Suggestion]] = {}
    if not choices:
        return found
    for s in sentences:
        key = normalise_sentence(s.zh)
        if s.human or key in exact:
            continue
        matches = process.extract(key, choices, scorer=fuzz.ratio, score_cutoff=min_score,
                                  limit=limit)
        if matches:
            found[s.id] = [Suggestion(human[i].source, human[i].target, score,
                                      human[i].translator) for _, score, i in matches]
    return found
