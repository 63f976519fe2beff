"""Reply hygiene: what a chat model wraps around a translation, taken off (pure functions).

A reply may hold a reasoning block (`<think>…</think>`, or one the length cap left open),
a code fence, a preamble ("Here is the translation:", "译文："), or quotes the source did
not have.  `clean_reply` strips them; `reply_problems` says what is still wrong with the
English (Chinese left in it, empty, far outside the document's length ratio), for a
bounded retry and, failing that, for QA to flag.
"""

from __future__ import annotations

import json
import re

from zhen.han import HAN
from zhen.scores import from_logprobs

_THINK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>.*\Z", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE_ONLY = re.compile(r"\A.*?</(think|thinking|reasoning)>\s*", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"\A\s*```[\w-]*[ \t]*\n?(.*?)\n?```\s*\Z", re.DOTALL)
_PREAMBLE = re.compile(
    r"\A\s*(?:(?:sure|okay|ok|certainly|of course)[,!.]?\s*)?"
    r"(?:(?:here(?:'s| is)|below is)\s+(?:the\s+|my\s+|an?\s+)?(?:english\s+)?translation"
    r"(?:\s+(?:of\s+the\s+(?:chinese\s+)?(?:text|sentence)|into\s+english|in\s+english))?"
    r"|(?:english\s+)?translation|english|译文|翻译结果|翻译|英文)\s*[:：]\s*",
    re.IGNORECASE)
_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("'", "'"), ("\u2018", "\u2019"),
           ("\u300c", "\u300d"), ("\u300e", "\u300f"), ("\u00ab", "\u00bb"))


def strip_reasoning(text: str) -> str:
    """Without reasoning blocks: closed ones, one left open by the length cap (all of it is
    reasoning, no translation yet), and the tail of one whose opening tag the chat
    template had already written."""
    text = _THINK.sub("", text)
    text = _THINK_OPEN.sub("", text)
    if re.search(r"</(think|thinking|reasoning)>", text, re.IGNORECASE):
        text = _THINK_CLOSE_ONLY.sub("", text)
    return text


def strip_fence(text: str) -> str:
    """The inside of a reply that is one fenced code block."""
    m = _FENCE.match(text)
    return m.group(1) if m else text


def strip_preamble(text: str) -> str:
    """Without a leading "Here is the translation:" / "Translation:" / "译文：" line."""
    return _PREAMBLE.sub("", text, count=1)


def strip_quotes(text: str, source: str) -> str:
    """Without a pair of quotes around the whole reply that the source had not."""
    t = text.strip()
    s = source.strip()
    for left, right in _QUOTES:
        if len(t) >= 2 and t.startswith(left) and t.endswith(right):
            if not (s.startswith(("\u201c", "\u300c", "\u300e", '"', "'", "\u2018"))
                    and s.endswith(("\u201d", "\u300d", "\u300f", '"', "'", "\u2019"))):
                return t[len(left):-len(right)].strip()
    return t


def clean_reply(text: str, source: str) -> str:
    """The English of a reply: reasoning, fence, preamble and added quotes removed, on one
    line (a sentence's English is one line: the model's line breaks become spaces)."""
    text = strip_reasoning(text or "")
    text = strip_fence(text.strip())
    text = strip_preamble(text)
    text = " ".join(text.split())
    return strip_quotes(text, source)


def han_count(text: str) -> int:
    return len(HAN.findall(text))


def reply_problems(english: str, source: str, keep: tuple[str, ...] = (),
                   ratio: tuple[float, float] = (0.3, 12.0)) -> list[str]:
    """What is wrong with a cleaned reply ([] when nothing): "empty", "chinese" (Chinese
    characters left, do-not-translate forms in `keep` aside), "ratio" (English characters
    per Chinese character far outside `ratio`)."""
    if not english.strip():
        return ["empty"]
    problems = []
    rest = english
    for form in sorted(keep, key=len, reverse=True):
        rest = rest.replace(form, "")
    if han_count(rest):
        problems.append("chinese")
    chars = max(1, han_count(source) or len(source))
    if not ratio[0] <= len(english) / chars <= ratio[1]:
        problems.append("ratio")
    return problems


def parse_array(text: str, n: int) -> list[str] | None:
    """The n strings of a reply that should be a JSON array of exactly n strings (also
    inside a fence, or as {"translations": [...]}); None when it is not."""
    text = strip_fence(strip_reasoning(text or "").strip())
    try:
        data = json.loads(text)
    except ValueError:
        start, end = text.find("["), text.rfind("]")
        if start < 0 or end <= start:
            return None
        try:
            data = json.loads(text[start:end + 1])
        except ValueError:
            return None
    if isinstance(data, dict) and len(data) == 1:
        data = next(iter(data.values()))
    if not isinstance(data, list) or len(data) != n or not all(isinstance(x, str) for x in data):
        return None
    return data


def mean_logprob_score(logprobs: list[float]) -> float | None:
    """exp(mean token log-probability): a 0..1 score of a reply (None without tokens), as
    zhen.scores (the score's one home) computes it for every engine."""
    return from_logprobs(logprobs).score
