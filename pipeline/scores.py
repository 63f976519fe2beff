"""A score per sentence: the model's confidence in the English it chose.

A sentence's score is exp(mean log-probability of the tokens the model chose), the
geometric mean of their probabilities: a number from 0 to 1, comparable across sentences
of any length.  It is the model's view of its own output, not a measure of quality (a
fluent mistranslation can score high), but sentences where it is low are where a
reviewer should look first.  Only machine translations have one; a person's English has
none (`Sentence.score` is None, and an edit drops it).

This is the one home of the score: how it is derived from an engine's output
(`from_ctranslate2`, `from_logprobs`), how parts of one sentence are combined (token
weighted: `LogProb`), how it is written and read back (`format_score`, `parse_score`:
TEI `s/@cert`, TMX `prop type="x-score"`, VRT `s_score`, XLIFF note) and the threshold
of the QA check `low-score` (`low_score_threshold`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from zhen import env

# The QA check low-score flags a machine translation whose score is below this, unless
# `zhen qa --low-score` or ZHEN_LOW_SCORE says otherwise.  A starting point: look at your
# model's scores on your texts (the review workbench orders sentences by score).
LOW_SCORE = 0.3
LOW_SCORE_ENV = "ZHEN_LOW_SCORE"
DIGITS = 4  # decimals written: "0.8312" (fixed, so that text order is numeric order)
_THRESHOLD: ContextVar[float | None] = ContextVar("zhen_low_score", default=None)


@dataclass(frozen=True)
class LogProb:
    """The log-probabilities of the tokens a model chose: their sum and their number.

    Parts add up token-weighted (clauses of a long sentence, a forced prefix and the
    model's continuation); `score` is exp(total / tokens)."""

    total: float = 0.0
    tokens: int = 0

    def __add__(self, other: LogProb) -> LogProb:
        return LogProb(self.total + other.total, self.tokens + other.tokens)

    @property
    def mean(self) -> float | None:
        return self.total / self.tokens if self.tokens else None

    @property
    def score(self) -> float | None:
        """exp(mean log-probability), 0..1; None when no token was scored."""
        mean = self.mean
        return None if mean is None else min(1.0, math.exp(mean))

    def part(self, tokens: int) -> LogProb:
        """An estimate for `tokens` of these tokens: this mean, that many times (the kept
        part of a hypothesis, whose tokens' own log-probabilities are not known)."""
        tokens = max(0, min(tokens, self.tokens))
        return LogProb(self.total * tokens / self.tokens, tokens) if self.tokens else LogProb()


def from_ctranslate2(score: float, returned: int, prefix: int, max_length: int,
                     length_penalty: float) -> LogProb:
    """The log-probability of the tokens the model chose, from CTranslate2's score of a
    hypothesis (`translate_batch(..., return_scores=True)`).

    CTranslate2 4.x (src/decoding.cc, beam and greedy search alike) sums the
    log-probabilities of the decoded tokens, the end token included, counting each token
    of a target prefix as 0 (forced, not chosen), and divides the sum by
    length ** length_penalty, where length counts the whole hypothesis: prefix, decoded
    tokens and end token.  It returns the hypothesis (with its prefix) without the end
    token, which is there unless decoding stopped at `max_decoding_length`.  So with
    `returned` tokens and a `prefix` of so many: length = returned + (1 if ended), the sum
    = score × length ** length_penalty, over length − prefix chosen tokens.
    """
    length = returned + (1 if returned < max_length else 0)
    total = score * (length ** length_penalty if length else 1.0)
    return LogProb(total, max(length - prefix, 0))


def from_logprobs(logprobs: Iterable[float]) -> LogProb:
    """The log-probability of tokens given one by one (an LLM server's logprobs)."""
    values = [float(v) for v in logprobs if v is not None and math.isfinite(v)]
    return LogProb(sum(values), len(values))


def combine(parts: Iterable[LogProb]) -> float | None:
    """The score of a sentence made of parts (token-weighted); None if none was scored."""
    total = LogProb()
    for part in parts:
        total = total + part
    return total.score


def format_score(score: float) -> str:
    """A score as written into TEI, TMX, VRT and XLIFF: "0.8312"."""
    return f"{min(max(score, 0.0), 1.0):.{DIGITS}f}"


def parse_score(text: str | None) -> float | None:
    """A score read back ("0.8312"); None for none or for anything that is not a number
    from 0 to 1."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


@contextlib.contextmanager
def low_score(threshold: float | None) -> Iterator[None]:
    """The threshold of the QA check low-score within the block (`zhen qa --low-score`);
    None leaves it to ZHEN_LOW_SCORE and the default."""
    token = _THRESHOLD.set(threshold)
    try:
        yield
    finally:
        _THRESHOLD.reset(token)


def low_score_threshold() -> float:
    """The threshold of the QA check low-score: `low_score`'s, else ZHEN_LOW_SCORE, else
    LOW_SCORE."""
    given = _THRESHOLD.get()
    if given is not None:
        return given
    raw = (env.value(LOW_SCORE_ENV) or "").strip()
    if not raw:
        return LOW_SCORE
    value = parse_score(raw)
    if value is None:
        from zhen.errors import ZhenError

        raise ZhenError(f"{LOW_SCORE_ENV}={raw!r}: give a number from 0 to 1 (the score below "
                        f"which the QA check low-score flags a sentence; default {LOW_SCORE})")
    return value


def check_low_score(s, doc) -> str | None:
    """The QA check low-score: a machine translation the model itself scored low."""
    if s.score is None or s.human:
        return None
    threshold = low_score_threshold()
    if s.score >= threshold:
        return None
    return (f"the model's score is {format_score(s.score)}, below {threshold:g} (the "
            "geometric mean of the probabilities of the tokens it chose)")
