"""Quality checks that say where a reviewer should look first (pure functions, I/O at the end).

Each check has a stable id (switch it off with `disabled`), a severity and a description
(the TEI header's `zhen.qa` taxonomy); a `Finding` names the document, the sentence
("p3.s2"), the check and what is wrong.  Sentence checks look at one pair, document checks
at a whole document (length outliers, inconsistent renderings), the corpus check at every
document given (the same Chinese sentence translated two ways; human translations win).

    numbers              every number of the Chinese is in the English and no other one
                         (1.5万亿 = 1.5 trillion, 3000亿 = 300 billion, 百分之五 = 5%, 三 = 3)
    untranslated         Chinese characters left in the English
    empty                no English for a Chinese sentence
    truncated            English that stops short (no final punctuation, a dangling word)
    repetition           runaway repetition (a word or phrase over and over)
    term-missed          a glossary term whose approved rendering is not in the English
    term-inconsistent    one expression rendered two ways in one document (not a glossary
                         term: there the glossary decides)
    length-ratio         length ratio far from the rest of the document
    brackets             quotes or brackets unbalanced in the English but not in the Chinese
    question             a question in the Chinese that is not one in the English
    corpus-inconsistent  the same Chinese sentence translated differently elsewhere

`annotate_tei` is the I/O edge: it reads a TEI file back, runs the checks and records the
findings as `@ana` on the English `s` (pointing to the header's `zhen.qa` categories),
rewriting the file atomically only if they changed.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from .digests import normalise_sentence
from .model import Document, Sentence, TermStatus

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)  # most severe first
QA_TAXONOMY = "zhen.qa"  # xml:id of the taxonomy of checks in the TEI header
CATEGORY_PREFIX = "qa."  # xml:id of a check's category: "qa.numbers"


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    description: str


CHECKS: dict[str, Check] = {c.id: c for c in (
    Check("empty", ERROR, "The Chinese sentence has no English."),
    Check("untranslated", ERROR, "Chinese characters are left in the English."),
    Check("numbers", ERROR, "A number of the Chinese is not in the English, or the English "
          "has a number the Chinese does not (scale words such as 万 and 亿, Chinese "
          "numerals, percentages and years understood)."),
    Check("term-missed", ERROR, "A glossary term's approved rendering is not in the English."),
    Check("repetition", ERROR, "A word or phrase repeats over and over (runaway output)."),
    Check("truncated", WARNING, "The English stops short: the Chinese ends a sentence, the "
          "English has no final punctuation or ends on a dangling word."),
    Check("term-inconsistent", WARNING, "An expression that is not a glossary term is "
          "rendered in two different ways in one document."),
    Check("length-ratio", WARNING, "The English is much shorter or longer than the "
          "document's other sentences would have it."),
    Check("brackets", WARNING, "Quotes or brackets are unbalanced in the English but not "
          "in the Chinese."),
    Check("question", WARNING, "The Chinese asks a question; the English does not."),
    Check("corpus-inconsistent", WARNING, "The same Chinese sentence is translated "
          "differently elsewhere in the corpus (a person's translation wins)."),
)}


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

_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


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


# -- numbers -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Number:
    """A number found in a text: as written, its value, and words that may stand for it."""

    text: str
    value: float
    words: frozenset[str] = frozenset()  # English words that also count (month names, both)
    required: bool = True  # False: allowed in the English, not needed there (fractions)
    also: tuple[float, ...] = ()  # other values that count (90年代: 1990, 2090)


_CN_DIGIT = "零〇一二两三四五六七八九"
_CN_UNIT = "十百千万亿"
_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10**4, "亿": 10**8}
_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN_RUN = f"[{_CN_DIGIT}{_CN_UNIT}]+(?:点[{_CN_DIGIT}]+)?"
_ZH_NUMBER = re.compile(
    f"百分之(?P<pct>{_ARABIC}|{_CN_RUN})"
    f"|(?P<frac>(?:{_ARABIC}|{_CN_RUN})分之(?:{_ARABIC}|{_CN_RUN}))"
    f"|(?<![a-z])(?P<arabic>{_ARABIC})(?:多|余)?(?P<scale>[{_CN_UNIT}]*)(?![A-Za-z\\d])"
    f"|(?P<cn>{_CN_RUN})"
)
# Words whose numerals are not numbers in the translation (五角大楼 is the Pentagon).
_NOT_NUMBERS = ("五角大楼", "两岸", "三农", "四方", "一一", "万一", "千万", "十分", "百姓",
                "千方百计", "三三两两", "五湖四海", "四面八方", "一五一十", "九州", "三角")
_NOT_NUMBER = re.compile(  # 千万 (by all means) but not 一千万 (ten million)
    f"(?<![\\d{_CN_DIGIT}{_CN_UNIT}])(?:{'|'.join(_NOT_NUMBERS)})(?![\\d{_CN_DIGIT}{_CN_UNIT}])")
_VAGUE_BEFORE = "数几"  # 数十, 几百: not a number
_VAGUE_AFTER = "几"  # 十几
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_EXTRA_WORDS = {2: frozenset({"both", "twice", "double", "doubled", "pair", "dual",
                              "bilateral"}),
                3: frozenset({"triple", "tripled", "thrice", "trilateral"})}


def _cn_value(run: str) -> float | None:
    """The value of a run of Chinese numerals (cn2an, scale words peeled where it gives up)."""
    import cn2an

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(cn2an.cn2an(run, "smart"))
        except (ValueError, KeyError, TypeError, IndexError):
            pass
    if len(run) > 1 and run[-1] in "万亿":
        inner = _cn_value(run[:-1])
        return None if inner is None else inner * _SCALE[run[-1]]
    return None


def _zh_value(text: str) -> float | None:
    """The value of an Arabic number or a run of Chinese numerals."""
    if re.fullmatch(_ARABIC, text):
        return float(text.replace(",", ""))
    return _cn_value(text)


def _scaled(number: str, scale: str) -> float:
    value = float(number.replace(",", ""))
    for ch in scale:
        value *= _SCALE[ch]
    return value


def zh_numbers(text: str) -> list[Number]:
    """The numbers of a Chinese text: Arabic (with scale words: 1.5万亿, 3000多亿), Chinese
    numerals (三, 二〇二七, 两千), percentages (百分之五), years and months.

    A lone 一 (一些, 统一, 一带一路), vague amounts (数十, 十几) and fixed words (五角大楼,
    两岸) are not numbers; fractions (三分之一) are allowed in the English, not required.
    """
    text = _NOT_NUMBER.sub(lambda m: " " * len(m.group(0)), unicodedata.normalize("NFKC", text))
    # 双方 "both sides" or "the two sides", 双边 "bilateral": two may be in the English
    found = [Number("双", 2.0, required=False)] if "双" in text else []
    for m in _ZH_NUMBER.finditer(text):
        before = text[m.start() - 1] if m.start() else ""
        after = text[m.end(): m.end() + 2]
        if m.group("frac"):
            den, _, num = m.group("frac").partition("分之")
            for part in (den, num):
                value = _zh_value(part)
                if value is not None:
                    found.append(Number(part, value, required=False))
            continue
        if m.group("pct") is not None:
            value = _zh_value(m.group("pct"))
        elif m.group("arabic") is not None:
            value = _scaled(m.group("arabic"), m.group("scale"))
        else:
            run = m.group("cn")
            if (run == "一" or all(c in _CN_UNIT for c in run)
                    or (before and before in _VAGUE_BEFORE)
                    or (after and after[0] in _VAGUE_AFTER)):
                continue
            value = _cn_value(run)
        if value is None:
            continue
        words: set[str] = set(_EXTRA_WORDS.get(int(value), ())) if value.is_integer() else set()
        if after[:1] == "月" and value.is_integer() and 1 <= value <= 12:
            words.add(_MONTHS[int(value) - 1])
        also = (1900 + value, 2000 + value) if after == "年代" and value < 100 else ()
        found.append(Number(m.group(0), value, frozenset(words), also=also))
    return found


_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12,
              "bn": 10**9, "tn": 10**12, "trn": 10**12, "mn": 10**6}
_EN_SCALED = re.compile(
    r"(?<![\w.])(\d+(?:,\d{3})*(?:\.\d+)?)\s*(thousand|million|billion|trillion|bn|tn|trn|mn)\b",
    re.IGNORECASE)
# a number glued to a lower-case letter or followed by one is part of a word or code (5G);
# after capitals it counts (G20)
_EN_DIGITS = re.compile(
    r"(?<![\d.,a-z])(\d+(?:,\d{3})*(?:\.\d+)?)(?:st|nd|rd|th|s)?(?![\dA-Za-z])")
_EN_VAGUE = re.compile(
    r"\b(?:(?:a|one|two|three|four)[\s-]+)?(?:half|halves|thirds?|quarters?|fifths?)\b"
    r"|\b(?:tens|dozens|hundreds|thousands|millions|billions|trillions)\b",
    re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+")


def en_numbers(text: str) -> list[Number]:
    """The numbers of an English text: digits (1,500; 4.5%; 3rd), with scale words (1.5
    trillion, 300bn) and written out (twenty-five, two thousand; by text2num)."""
    from text_to_num import alpha2digit

    found = []

    def scaled(m: re.Match[str]) -> str:
        value = float(m.group(1).replace(",", "")) * _EN_SCALES[m.group(2).lower()]
        found.append(Number(m.group(0), value))
        return " " * len(m.group(0))

    text = _EN_SCALED.sub(scaled, text)
    text = _EN_VAGUE.sub(lambda m: " " * len(m.group(0)), text)
    # Five-Year, twenty-five: hyphens between letters as spaces, so text2num sees the words
    text = re.sub(r"(?<=[A-Za-z])-(?=[A-Za-z])", " ", text)
    text = alpha2digit(text, "en", threshold=0)
    text = _EN_SCALED.sub(scaled, text)  # "two million" is 2000000 now, "2.5 million" too
    for m in _EN_DIGITS.finditer(text):
        found.append(Number(m.group(0), float(m.group(1).replace(",", ""))))
    return found


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def spell(value: float) -> str:
    """A value as English writes it: 20,000; 1.5 trillion; 4.5."""
    for scale, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if abs(value) >= scale:
            return f"{value / scale:,.6g} {word}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


def _show(n: Number) -> str:
    value = spell(n.value)
    same = n.text.replace(",", "").strip() == value.replace(",", "")
    return n.text if same else f"{n.text} ({value})"


def compare_numbers(zh: str, en: str) -> tuple[list[Number], list[Number]]:
    """(numbers of the Chinese missing from the English, numbers of the English the Chinese
    does not have); 1 is never counted (one, a, first are everywhere)."""
    zh_found, en_found = zh_numbers(zh), en_numbers(en)
    words = {w.lower() for w in _WORD.findall(en)}
    zh_values = [v for z in zh_found for v in (z.value, *z.also)]
    missing = [z for z in zh_found if z.required and not _same(z.value, 1)
               and not any(_same(v, e.value) for v in (z.value, *z.also) for e in en_found)
               and not z.words & words]
    extra = [e for e in en_found if not _same(e.value, 1)
             and not any(_same(e.value, v) for v in zh_values)]
    return _unique(missing), _unique(extra)


def _unique(numbers: list[Number]) -> list[Number]:
    seen, out = set(), []
    for n in numbers:
        if n.value not in seen:
            seen.add(n.value)
            out.append(n)
    return out


# -- sentence checks -------------------------------------------------------------------------
# Each takes a sentence (with English) and its document and returns a detail, or None.

def check_numbers(s: Sentence, doc: Document) -> str | None:
    missing, extra = compare_numbers(_mask(s.zh, _zh_term_spans(s)),
                                     _mask(s.en or "", _en_term_spans(s)))
    parts = []
    if missing:
        parts.append("not in the English: " + ", ".join(_show(n) for n in missing))
    if extra:
        parts.append("not in the Chinese: " + ", ".join(_show(n) for n in extra))
    return "; ".join(parts) or None


def check_untranslated(s: Sentence, doc: Document) -> str | None:
    """Chinese characters in the English, except in a rendering that is Chinese itself."""
    chinese_renderings = [
        (o.en_start, o.en_end) for o in s.terms
        if o.en_start is not None and o.en_end is not None and o.term_id in doc.terms
        and _HAN.search(doc.terms[o.term_id].rendering)]
    runs = _HAN_RUN.findall(_mask(s.en or "", chinese_renderings))
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


SENTENCE_CHECKS: dict[str, Callable[[Sentence, Document], str | None]] = {
    "empty": check_empty,
    "untranslated": check_untranslated,
    "numbers": check_numbers,
    "term-missed": check_term_missed,
    "repetition": check_repetition,
    "truncated": check_truncated,
    "brackets": check_brackets,
    "question": check_question,
}

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
    for run in _HAN_RUN.findall(za):
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


DOCUMENT_CHECKS: dict[str, Callable[[Document], list[tuple[Sentence, str]]]] = {
    "term-inconsistent": check_term_inconsistent,
    "length-ratio": check_length_ratio,
}

# -- corpus check ----------------------------------------------------------------------------


def check_corpus_inconsistent(docs: Sequence[Document]) -> list[Finding]:
    """The same Chinese sentence translated differently in two places.  Where a person
    translated it, the other places are flagged against that translation; otherwise every
    place after the first is flagged against the first."""
    places: dict[str, list[tuple[Document, Sentence]]] = defaultdict(list)
    for doc in docs:
        for s in doc.sentences():
            if (s.en or "").strip() and _HAN.search(s.zh) and len(s.zh.strip()) >= 4:
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


# -- running the checks ----------------------------------------------------------------------


def check_document_only(doc: Document, disabled: Iterable[str] = ()) -> list[Finding]:
    """The sentence and document checks of one document (no corpus check)."""
    off = _known(disabled)
    found = []
    for s in doc.sentences():
        for cid, run in SENTENCE_CHECKS.items():
            if cid in off:
                continue
            if cid != "empty" and not (s.en or "").strip():
                continue
            detail = run(s, doc)
            if detail:
                found.append(finding(doc, s, cid, detail))
    for cid, run in DOCUMENT_CHECKS.items():
        if cid not in off:
            found += [finding(doc, s, cid, detail) for s, detail in run(doc)]
    return found


def check_documents(docs: Sequence[Document], disabled: Iterable[str] = ()) -> list[Finding]:
    """Every check over `docs`; the corpus check compares all of them.  Findings come in
    document order, then sentence order, then check order."""
    off = _known(disabled)
    found = [f for doc in docs for f in check_document_only(doc, off)]
    if "corpus-inconsistent" not in off:
        found += check_corpus_inconsistent(docs)
    return sort_findings(found, docs)


def check_document(doc: Document, disabled: Iterable[str] = ()) -> list[Finding]:
    """Every check over one document (the corpus check within it)."""
    return check_documents([doc], disabled)


def sort_findings(findings: Iterable[Finding], docs: Sequence[Document]) -> list[Finding]:
    doc_order = {d.id: i for i, d in enumerate(docs)}
    sentence_order = {(d.id, s.id): i for d in docs for i, s in enumerate(d.sentences())}
    check_order = {c: i for i, c in enumerate(CHECKS)}
    return sorted(findings, key=lambda f: (doc_order.get(f.doc_id, len(doc_order)),
                                           sentence_order.get((f.doc_id, f.sentence_id), 0),
                                           check_order[f.check]))


def _known(disabled: Iterable[str]) -> frozenset[str]:
    off = frozenset(disabled)
    unknown = off - CHECKS.keys()
    if unknown:
        from .errors import ZhenError

        raise ZhenError(f"no QA check {sorted(unknown)[0]!r}; the checks are: "
                        + ", ".join(CHECKS))
    return off


def by_sentence(findings: Iterable[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """Findings grouped by (document id, sentence id)."""
    out: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        out[(f.doc_id, f.sentence_id)].append(f)
    return dict(out)


def flag_sentences(doc: Document, findings: Iterable[Finding]) -> bool:
    """Set each sentence's `qa` (the ids of the checks that flag it, in CHECKS order) from
    the findings for `doc`; True if any changed."""
    flagged: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        if f.doc_id == doc.id:
            flagged[f.sentence_id].add(f.check)
    changed = False
    for s in doc.sentences():
        checks = tuple(c for c in CHECKS if c in flagged.get(s.id, ()))
        if checks != s.qa:
            s.qa = checks
            changed = True
    return changed


@dataclass
class Counts:
    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Counts:
        counts = cls()
        for f in findings:
            counts.by_severity[f.severity] += 1
        return counts

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {sev}{'s' if n != 1 and sev != INFO else ''}"
                         for sev, n in self.by_severity.items())


# -- the TEI edge ----------------------------------------------------------------------------


@dataclass
class Annotation:
    """What annotate_tei did to one file."""

    path: Path
    findings: list[Finding]
    changed: bool  # the file was rewritten


def annotate_tei(path: str | Path, corpus: Sequence[Document] = (),
                 disabled: Iterable[str] = ()) -> Annotation:
    """Run the checks on the zhen TEI at `path` and record the findings as `@ana` on its
    English `s` (and the `zhen.qa` taxonomy in its header); the file is rewritten
    atomically, and only when that changes it.  `corpus`: other documents for the corpus
    check (the same Chinese sentence translated differently elsewhere).

    Only the QA attributes and the taxonomy change: the rest of the file stays as it was.
    Raises TeiError for a file that is not zhen's TEI.
    """
    from lxml import etree

    from .errors import TeiError
    from .writer import write_atomic

    path = Path(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.parse(str(path), parser)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise TeiError(f"{path}: not well-formed XML ({exc})") from None
    findings, changed = annotate_tree(tree, path.name, corpus, disabled)
    if changed:
        write_atomic(path, etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    return Annotation(path, findings, changed)


def annotate_tree(tree, name: str, corpus: Sequence[Document] = (),
                  disabled: Iterable[str] = ()) -> tuple[list[Finding], bool]:
    """`annotate_tei` on a parsed TEI tree, changed in place: (findings, whether the tree
    changed).  Raises TeiError for a tree that is not zhen's TEI."""
    from .errors import TeiError
    from .tei import mark_qa, parse_tei

    try:
        doc = parse_tei(tree.getroot(), name)
    except (KeyError, ValueError, AttributeError) as exc:
        raise TeiError(f"{name}: not a zhen TEI file ({exc})") from None
    others = [d for d in corpus if d.id != doc.id]
    findings = [f for f in check_documents([doc, *others], disabled) if f.doc_id == doc.id]
    changed = flag_sentences(doc, findings)
    changed |= mark_qa(tree.getroot(), doc)
    return findings, changed


@dataclass
class Report:
    """The findings over some TEI files."""

    paths: dict[str, Path]  # document id → its file
    findings: list[Finding]
    annotated: list[Path] = field(default_factory=list)  # files rewritten with new @ana


def qa_files(paths: Sequence[str | Path], disabled: Iterable[str] = (),
             annotate: bool = False) -> Report:
    """Check TEI files (the corpus check across all of them); with `annotate`, record the
    findings in each file (annotate_tei)."""
    from .exports.common import load_documents

    disabled = _known(disabled)
    items = load_documents(paths)
    by_id = {item.doc.id: Path(p) for item, p in zip(items, paths)}
    docs = [item.doc for item in items]
    report = Report(by_id, check_documents(docs, disabled))
    if annotate:
        for doc in docs:
            done = annotate_tei(by_id[doc.id], docs, disabled)
            if done.changed:
                report.annotated.append(done.path)
    return report


def sort_by_severity(findings: Sequence[Finding]) -> list[Finding]:
    """Most severe first, document order kept within a severity (a stable sort)."""
    return sorted(findings, key=lambda f: severity_rank(f.severity))


def text_lines(report: Report, findings: Sequence[Finding]) -> list[str]:
    """One line per finding: FILE:SENTENCE: SEVERITY: CHECK: DETAIL."""
    return [f"{report.paths[f.doc_id]}:{f.sentence_id}: {f.severity}: {f.check}: {f.detail}"
            for f in findings]


def json_report(report: Report, findings: Sequence[Finding]) -> dict:
    """The report for tools: files, findings (with their file) and counts by severity."""
    return {
        "files": [str(p) for p in report.paths.values()],
        "checks": {c.id: {"severity": c.severity, "description": c.description}
                   for c in CHECKS.values()},
        "findings": [{"file": str(report.paths[f.doc_id]), "document": f.doc_id,
                      "sentence": f.sentence_id, "check": f.check, "severity": f.severity,
                      "detail": f.detail} for f in findings],
        "counts": Counts.of(findings).by_severity,
    }


def findings_mapping(findings: Iterable[Finding], doc: Document) -> Mapping[str, list[Finding]]:
    """The findings of `doc` by sentence id."""
    out: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.doc_id == doc.id:
            out[f.sentence_id].append(f)
    return dict(out)
