"""Numbers in Chinese and English text, for the numbers check.

1.5万亿 = 1.5 trillion, 3000亿 = 300 billion, 百分之五 = 5%, 三 = 3; Chinese numerals through
cn2an, English number words through text2num.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from dataclasses import dataclass

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


def show_number(n: Number) -> str:
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

