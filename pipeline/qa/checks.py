"""The QA checks (pure functions) and their one registry, `CHECKS`.

Each check has a stable id (switch it off with `disabled`), a severity, a scope and a
description (the TEI header's `zhen.qa` taxonomy).  A sentence check takes a sentence with
English and its document and returns a detail or None; a document check returns
(sentence, detail) pairs; the corpus check compares every document given and returns
findings.  A `Finding` names the document, the sentence ("p3.s2"), the check and what is
wrong.  `CHECKS`' order is the order of findings and of a sentence's `qa`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from zhen.digests import normalise_sentence
from zhen.document import Document, Sentence, TermStatus
from zhen.han import HAN, HAN_RUN
from zhen.qa.numbers import compare_numbers, show_number
from zhen.scores import LOW_SCORE, LOW_SCORE_ENV, check_low_score

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first
QA_TAXONOMY = "zhen.qa"  # xml:id of the taxonomy of checks in the TEI header
CATEGORY_PREFIX = "qa."  # xml:id of a check's category: "qa.numbers"
SENTENCE, DOCUMENT, CORPUS = "sentence", "document", "corpus"


@dataclass(frozen=True)
class Check:
    """One QA check: `run` takes (sentence, document) for scope "sentence", a document for
    "document", and the documents for "corpus" (see the module's docstring)."""

    id: str
    severity: str
    scope: str  # SENTENCE, DOCUMENT or CORPUS
    description: str
    run: Callable


@dataclass(frozen=True)
class Finding:
    doc_id: str
    sentence_id: str  # "p3.s2"
    check: str  # a CHECKS id
    severity: str
    detail: str


def finding(doc: Document, s: Sentence, check: str, detail: str) -> Finding:
    return Finding(doc.id, s.id, check, CHECKS[check].severity, detail)


def severity_rank(severity: str) -> int:
    """0 for the most severe."""
    return SEVERITIES.index(severity)


def at_least(findings: Iterable[Finding], severity: str) -> list[Finding]:
    """The findings of `severity` or worse."""
    return [f for f in findings if severity_rank(f.severity) <= severity_rank(severity)]


# -- text helpers ------------------------------------------------------------------------



def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with the spans replaced by spaces (same length, offsets kept)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _zh_term_spans(s: Sentence) -> list[tuple[int, int]]:
    return [(o.start, o.end) for o in s.terms]


def _en_term_spans(s: Sentence) -> list[tuple[int, int]]:
    return [(o.en_start, o.en_end) for o in s.terms
            if o.en_start is not None and o.en_end is not None]


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- sentence checks -------------------------------------------------------------------------
# Each takes a sentence (with English) and its document and returns a detail, or None.

def check_numbers(s: Sentence, doc: Document) -> str | None:
    missing, extra = compare_numbers(_mask(s.zh, _zh_term_spans(s)),
                                     _mask(s.en or "", _en_term_spans(s)))
    parts = []
    if missing:
        parts.append("not in the English: " + ", ".join(show_number(n) for n in missing))
    if extra:
        parts.append("not in the Chinese: " + ", ".join(show_number(n) for n in extra))
    return "; ".join(parts) or None


def check_untranslated(s: Sentence, doc: Document) -> str | None:
    """Chinese characters in the English, except in a rendering that is Chinese itself."""
    chinese_renderings = [
        (o.en_start, o.en_end) for o in s.terms
        if o.en_start is not None and o.en_end is not None and o.term_id in doc.terms
        and HAN.search(doc.terms[o.term_id].rendering)]
    runs = HAN_RUN.findall(_mask(s.en or "", chinese_renderings))
    return "Chinese in the English: " + ", ".join(dict.fromkeys(runs)) if runs else None


def check_empty(s: Sentence, doc: Document) -> str | None:
    if (s.en or "").strip() or not any(c.isalnum() for c in s.zh):
        return None
    return "not translated" if s.en is None else "the English is empty"


_ZH_END = re.compile(r"[。！？!?…]+[”’」』）)\"']*\s*$")
_EN_END = re.compile(r"[.!?…:;]+[\"”’')\]]*\s*$|[\"”’')\]]\s*$")
_DANGLING = re.compile(r"\b(?:the|a|an|of|and|or|to|in|for|with|by|on|at|from|that|as|its|"
                       r"their|his|her|which|who|is|are|was|were)\s*[,;:]?\s*$", re.IGNORECASE)


def check_truncated(s: Sentence, doc: Document) -> str | None:
    en = (s.en or "").strip()
    if not en:
        return None
    m = _DANGLING.search(en)
    if m:
        return f"ends on {m.group(0).strip()!r}"
    if _ZH_END.search(s.zh) and not _EN_END.search(en):
        return f"no final punctuation: …{_short(en[-30:], 30)!r}"
    return None


_TOKEN = re.compile(r"\w+(?:['’-]\w+)*", re.UNICODE)


def check_repetition(s: Sentence, doc: Document) -> str | None:
    """A word or two repeated three times or more in a row, or a phrase of three or more
    words twice in a row."""
    words = [w.lower() for w in _TOKEN.findall(s.en or "")]
    for n in range(1, 7):
        need = 3 if n <= 2 else 2
        for i in range(len(words) - n * need + 1):
            gram = words[i: i + n]
            times = 1
            while words[i + n * times: i + n * (times + 1)] == gram:
                times += 1
            if times >= need:
                return f"{' '.join(gram)!r} {times} times in a row"
    return None


def check_term_missed(s: Sentence, doc: Document) -> str | None:
    missed = []
    for o in s.terms:
        if o.status is TermStatus.MISSED:
            term = doc.terms.get(o.term_id)
            missed.append(f"{s.zh[o.start:o.end]} → {term.rendering if term else o.term_id}")
    return "approved rendering missing: " + ", ".join(dict.fromkeys(missed)) if missed else None


_PAIRS = (  # English open, close; Chinese opens, closes (None: the same character both ways)
    ("(", ")", "(（", ")）"),
    ("[", "]", "[【〔", "]】〕"),
    ("{", "}", "{", "}"),
    ("“", "”", "“「『", "”」』"),
)


def _balanced(text: str, opens: str, closes: str) -> bool:
    depth = 0
    for ch in text:
        if ch in opens:
            depth += 1
        elif ch in closes:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def check_brackets(s: Sentence, doc: Document) -> str | None:
    en = s.en or ""
    bad = []
    for en_open, en_close, zh_opens, zh_closes in _PAIRS:
        if not _balanced(en, en_open, en_close) and _balanced(s.zh, zh_opens, zh_closes):
            bad.append(en_open + en_close)
    zh_quotes = sum(s.zh.count(c) for c in "“”「」『』\"")
    if en.count('"') % 2 and zh_quotes % 2 == 0 and _balanced(s.zh, "“「『", "”」』"):
        bad.append('"')
    return "unbalanced in the English: " + " ".join(bad) if bad else None


def check_question(s: Sentence, doc: Document) -> str | None:
    if ("？" in s.zh or "?" in s.zh) and "?" not in (s.en or ""):
        return "the Chinese asks a question, the English has no question mark"
    return None


# -- document checks -------------------------------------------------------------------------

MIN_RATIO_SENTENCES = 6  # fewer: only gross outliers (outside FIXED_RATIO) are reported
MIN_RATIO_CHARS = 6  # shorter Chinese sentences (headings) are not judged by length
FIXED_RATIO = (0.9, 9.0)  # English chars per Chinese char, a document too short to learn from
OUTLIER_Z = 3.5  # robust z-score (median and MAD of the log ratio) beyond which is an outlier
MIN_MAD = 0.12


def check_length_ratio(doc: Document) -> list[tuple[Sentence, str]]:
    """Sentences whose English/Chinese length ratio is an outlier in the document."""
    judged = [(s, len(s.en.strip()) / len(s.zh.strip())) for s in doc.sentences()
              if s.en and s.en.strip() and len(s.zh.strip()) >= MIN_RATIO_CHARS]
    if not judged:
        return []
    logs = [math.log(r) for _, r in judged]
    found = []
    if len(judged) >= MIN_RATIO_SENTENCES:
        median = statistics.median(logs)
        mad = max(statistics.median(abs(x - median) for x in logs), MIN_MAD)
        typical = math.exp(median)
        for (s, ratio), x in zip(judged, logs):
            if abs(0.6745 * (x - median) / mad) > OUTLIER_Z:
                way = "short" if x < median else "long"
                found.append((s, f"English {ratio:.1f}× the Chinese length, the document's "
                                 f"typical {typical:.1f}× (too {way})"))
    else:
        for s, ratio in judged:
            if not FIXED_RATIO[0] <= ratio <= FIXED_RATIO[1]:
                way = "short" if ratio < FIXED_RATIO[0] else "long"
                found.append((s, f"English {ratio:.1f}× the Chinese length (too {way})"))
    return found


_SMALL = {"of", "and", "the", "for", "on", "in", "to", "de", "&"}
_CAP_PHRASE = re.compile(
    r"[A-Z][\w'’-]*(?:\s+(?:(?:of|and|the|for|on|in|to|de|&)\s+)*[A-Z][\w'’-]*)+")
_QUOTED_EN = re.compile(r"“([^”]{3,60})”|\"([^\"]{3,60})\"")


def _phrases(en: str) -> set[str]:
    """Term-like phrases of an English sentence: runs of two or more capitalised words,
    and quoted phrases."""
    found = {part for m in _CAP_PHRASE.finditer(en) for part in re.split(r"\s+and\s+", m.group(0))}
    found |= {m.group(1) or m.group(2) for m in _QUOTED_EN.finditer(en)}
    found = {re.sub(r"^(?:the|a|an)\s+", "", p.strip(), flags=re.IGNORECASE) for p in found}
    return {p for p in found if len(p.split()) >= 2}


def _norm_phrase(p: str) -> tuple[str, ...]:
    words = [w.lower() for w in re.split(r"[\s-]+", p) if w]
    while words and words[0] in ("the", "a", "an"):
        words = words[1:]
    return tuple(words)


def _one_word_apart(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Same length, every word the same but one (Digital Silk Road / Digital Silk Route)."""
    if len(a) != len(b) or len(a) < 2:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return len(diff) == 1 and a[diff[0]] not in _SMALL and b[diff[0]] not in _SMALL


def _shared_chinese(a: Sentence, b: Sentence, size: int = 3) -> str:
    """A run of `size`+ Chinese characters both sentences have outside glossary terms."""
    za, zb = _mask(a.zh, _zh_term_spans(a)), _mask(b.zh, _zh_term_spans(b))
    for run in HAN_RUN.findall(za):
        m = SequenceMatcher(None, run, zb, autojunk=False).find_longest_match(
            0, len(run), 0, len(zb))
        if m.size >= size:
            return run[m.a: m.a + m.size]
    return ""


def check_term_inconsistent(doc: Document) -> list[tuple[Sentence, str]]:
    """A name or term-like phrase of the English (capitalised or quoted) that another
    sentence renders one word differently, where the two Chinese sentences share the
    expression (three or more characters, not a glossary term: there the glossary decides).
    Reported on the later sentence.

    Pairs are compared once per distinct (Chinese, English) sentence, then mapped back to
    every occurrence: a document that repeats its sentences costs no more than one that
    does not."""
    sentences = [s for s in doc.sentences() if s.en and s.en.strip()]
    places: dict[tuple[str, str], list[int]] = defaultdict(list)  # content -> indices
    for j, s in enumerate(sentences):
        places[(s.zh, s.en)].append(j)
    contents = list(places)
    # phrases one word apart share a key: their words with that position left out
    buckets: dict[tuple, list[tuple[int, tuple[str, ...], str]]] = defaultdict(list)
    for c, (_, en) in enumerate(contents):
        for text in sorted(_phrases(en)):
            words = _norm_phrase(text)
            for k in range(len(words)):
                buckets[(len(words), k, words[:k] + words[k + 1:])].append((c, words, text))
    # for each (content, phrase) the contents that render it one word differently
    partners: dict[tuple[int, tuple[str, ...]], list[tuple[int, str, str, str]]] = \
        defaultdict(list)
    for members in buckets.values():
        for ca, a, a_text in members:
            for cb, b, b_text in members:
                if (ca == cb or not _one_word_apart(a, b)
                        or _contains(_norm_phrase(contents[cb][1]), a)
                        or _contains(_norm_phrase(contents[ca][1]), b)):
                    continue
                first_a, first_b = places[contents[ca]][0], places[contents[cb]][0]
                shared = _shared_chinese(sentences[first_a], sentences[first_b])
                if shared:
                    partners[(cb, b)].append((ca, a_text, b_text, shared))
    found: dict[tuple[int, tuple[str, ...]], tuple[int, str, str, str]] = {}
    for (cb, b), options in partners.items():
        for j in places[contents[cb]]:
            # the earliest sentence before j with a partner rendering
            earlier = [(places[contents[ca]][0], a_text, b_text, shared)
                       for ca, a_text, b_text, shared in options if places[contents[ca]][0] < j]
            if earlier:
                found[(j, b)] = min(earlier)
    return [(sentences[j], f"{b_text!r} here, {a_text!r} in {sentences[i].id} "
                           f"(both for …{shared}…)")
            for (j, _), (i, a_text, b_text, shared) in sorted(found.items(),
                                                              key=lambda x: (x[0][0], x[1][0]))]


def _contains(words: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(words[i: i + n] == part for i in range(len(words) - n + 1))


# -- corpus check ----------------------------------------------------------------------------


def check_corpus_inconsistent(docs: Sequence[Document]) -> list[Finding]:
    """The same Chinese sentence translated differently in two places.  Where a person
    translated it, the other places are flagged against that translation; otherwise every
    place after the first is flagged against the first."""
    places: dict[str, list[tuple[Document, Sentence]]] = defaultdict(list)
    for doc in docs:
        for s in doc.sentences():
            if (s.en or "").strip() and HAN.search(s.zh) and len(s.zh.strip()) >= 4:
                places[normalise_sentence(s.zh)].append((doc, s))
    found = []
    for group in places.values():
        versions = {_norm_en(s.en) for _, s in group}
        if len(versions) < 2:
            continue
        human = [(d, s) for d, s in group if s.human]
        ref_doc, ref = human[-1] if human else group[0]
        kind = "a person's translation" if ref.human else "the translation"
        for doc, s in group:
            if s is ref or _norm_en(s.en) == _norm_en(ref.en):
                continue
            where = ref.id if doc is ref_doc else f"{ref_doc.id} {ref.id}"
            found.append(finding(doc, s, "corpus-inconsistent",
                                 f"{kind} in {where} differs: {_short(ref.en)!r}"))
    return found


def _norm_en(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


CHECKS: dict[str, Check] = {c.id: c for c in (
    Check("empty", ERROR, SENTENCE, "The Chinese sentence has no English.", check_empty),
    Check("untranslated", ERROR, SENTENCE, "Chinese characters are left in the English.",
          check_untranslated),
    Check("numbers", ERROR, SENTENCE, "A number of the Chinese is not in the English, or "
          "the English has a number the Chinese does not (scale words such as 万 and 亿, "
          "Chinese numerals, percentages and years understood).", check_numbers),
    Check("term-missed", ERROR, SENTENCE, "A glossary term's approved rendering is not in "
          "the English.", check_term_missed),
    Check("repetition", ERROR, SENTENCE, "A word or phrase repeats over and over (runaway "
          "output).", check_repetition),
    Check("truncated", WARNING, SENTENCE, "The English stops short: the Chinese ends a "
          "sentence, the English has no final punctuation or ends on a dangling word.",
          check_truncated),
    Check("term-inconsistent", WARNING, DOCUMENT, "An expression that is not a glossary "
          "term is rendered in two different ways in one document.", check_term_inconsistent),
    Check("length-ratio", WARNING, DOCUMENT, "The English is much shorter or longer than "
          "the document's other sentences would have it.", check_length_ratio),
    Check("brackets", WARNING, SENTENCE, "Quotes or brackets are unbalanced in the English "
          "but not in the Chinese.", check_brackets),
    Check("question", WARNING, SENTENCE, "The Chinese asks a question; the English does "
          "not.", check_question),
    Check("corpus-inconsistent", WARNING, CORPUS, "The same Chinese sentence is translated "
          "differently elsewhere in the corpus (a person's translation wins).",
          check_corpus_inconsistent),
    Check("low-score", WARNING, SENTENCE, "The model's own score of its English (the "
          f"geometric mean of its token probabilities) is below {LOW_SCORE} (or "
          f"{LOW_SCORE_ENV}): it was unsure of this sentence.", check_low_score),
)}
