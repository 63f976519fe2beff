"""Split paragraphs into sentences.

A compact rule-based segmenter rather than a library: pysbd 0.3.4 (rule-based, ships
its rules, has a Chinese mode) was tried on typical input and cuts closing quotes off
their sentence (“这是真的。” → “这是真的。 | ”), splits ？！ into two sentences and splits
"U.S. officials" after "U.S."; its English mode does not know 。.  The other segmenters
either need downloaded models (stanza, spaCy) or do not handle Chinese punctuation.

Rules:

* A sentence ends after a run of terminal punctuation (。！？；… and ASCII . ! ? ;, so
  ！？, ？！, 。。。 and …… stay together) plus any closing quotes and brackets after it
  (”’」』）》〉】, ASCII ) ] ' and a closing "), plus whitespace: whitespace between
  sentences stays at the END of the previous sentence.
* Chinese terminals always end a sentence, except inside a title 《…》, before a comma
  or colon, and an ellipsis before 等 ("美国、日本……等国").
* ASCII terminals end a sentence only before whitespace + a capital (an English
  sentence) or before Chinese text; never inside numbers (9.0353, 1.8%, 3.5亿), after an
  abbreviation (U.S., Dr., e.g., No., a.m., an initial) or after a list number opening
  the paragraph ("1. 坚持…").
* A piece with no letter or digit (stray punctuation) joins the sentence before it (or
  after it, at the start), so no sentence is empty or only whitespace or punctuation.

``"".join(segment_sentences(p)) == p`` holds for every string ``p``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

from zhen.han import HAN_RANGES

_CJK_TERMINALS = "。！？；…｡‼⁇⁈⁉"
_ASCII_TERMINALS = ".!?;"
_TERMINALS = _CJK_TERMINALS + _ASCII_TERMINALS
_CLOSERS = "”’」』）》〉】〕〗〙〛］｝»›)]}'"  # and '"' when it closes (odd count before it)
_ELLIPSIS = "…"
_MAX_TITLE = 60  # a stray 《 further back does not stop sentences ending
_CONTINUATION = "，、：,:"  # punctuation that cannot start a sentence

_TERMINAL_RUN = re.compile(f"[{re.escape(_TERMINALS)}]+")
_SPACE = re.compile(r"\s*")
_CJK_START = re.compile(f"[{HAN_RANGES}“‘「『（《〈【〔]")
_EN_START = re.compile(r"""["'(\[“‘]*([^\W\d_])""")
_DOTTED = re.compile(r"[a-z]{1,2}(?:\.[a-z]{1,2})+")  # u.s, e.g, a.m, ph.d

# Abbreviations that (almost) never end a sentence, lower case, without the final dot.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st gen col lt maj capt cmdr sgt adm rep sen gov pres rev hon
    mt ft no nos vol vols art fig figs pp p para sec ch op ed eds approx vs cf al v
    """.split()
)
# Company suffixes: they end English sentences ("Google Inc. The deal…") but not before
# Chinese text ("Co., Ltd.于2024年").
_COMPANY_SUFFIXES = frozenset({"inc", "ltd", "co", "corp", "plc", "llc"})


def segment_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences whose concatenation is the paragraph exactly.

    Returns [] for "" and [paragraph] for a paragraph without letters or digits.
    """
    if not paragraph:
        return []
    cuts = [0, *_boundaries(paragraph), len(paragraph)]
    return _merge_fragments([paragraph[a:b] for a, b in pairwise(cuts)])


def _boundaries(text: str) -> Iterator[int]:
    """Offsets where a new sentence starts (never 0 or len(text))."""
    pos = 0
    while (run := _TERMINAL_RUN.search(text, pos)) is not None:
        end = _close(text, run.end())
        start_next = _SPACE.match(text, end).end()
        if start_next < len(text) and _is_boundary(text, run, end, start_next):
            yield start_next
        pos = end


def _close(text: str, pos: int) -> int:
    """Skip the closing quotes and brackets (and further terminals) after a terminal run."""
    while pos < len(text):
        char = text[pos]
        if char == '"':
            if text.count('"', 0, pos) % 2 == 0:  # an even count before: this one opens
                break
        elif char not in _CLOSERS and char not in _TERMINALS:
            break
        pos += 1
    return pos


def _is_boundary(text: str, run: re.Match[str], end: int, start_next: int) -> bool:
    """Whether a sentence ends at ``end`` (after ``run`` and its closers)."""
    following = text[start_next]
    if following in _CONTINUATION:
        return False
    if _inside_title(text, run.start()):
        return False
    unit = text[run.start() : end]
    if any(c in _CJK_TERMINALS for c in unit):
        return not (_ELLIPSIS in unit and end == start_next and following == "等")
    before_cjk = _CJK_START.match(text, start_next) is not None
    en = _EN_START.match(text, start_next)
    before_english = start_next > end and en is not None and en.group(1).isupper()
    if not (before_cjk or before_english):
        return False
    if run.group() != "." or any(c in _TERMINALS for c in text[run.end() : end]):
        return True
    word = _word_before(text, run.start())
    lower = word.lower()
    if lower in _ABBREVIATIONS or _DOTTED.fullmatch(lower):
        return False
    if len(word) == 1 and word.isupper() and word != "I":  # an initial: "Donald J. Trump"
        return False
    if lower in _COMPANY_SUFFIXES and before_cjk:
        return False
    list_number = word == "" and text[: run.start()].strip().isdigit()  # "1. 坚持…"
    return not list_number


def _inside_title(text: str, pos: int) -> bool:
    """Whether ``pos`` is inside a 《title》 opened at most _MAX_TITLE characters before."""
    opening = text.rfind("《", max(0, pos - _MAX_TITLE), pos)
    return opening >= 0 and "》" not in text[opening:pos]


def _word_before(text: str, pos: int) -> str:
    """The ASCII letters and dots just before ``pos``, without leading dots ("U.S")."""
    start = pos
    while start > 0 and (
        text[start - 1] == "." or text[start - 1].isascii() and text[start - 1].isalpha()
    ):
        start -= 1
    return text[start:pos].lstrip(".")


def _merge_fragments(pieces: list[str]) -> list[str]:
    """Join pieces without a letter or digit to their neighbour (the previous if any)."""
    merged: list[str] = []
    pending = ""
    for piece in pieces:
        if not any(c.isalnum() for c in piece):
            if merged:
                merged[-1] += piece
            else:
                pending += piece
            continue
        merged.append(pending + piece)
        pending = ""
    if pending:  # no piece had a letter or digit
        merged.append(pending)
    return merged
