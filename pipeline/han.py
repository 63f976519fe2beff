"""Han characters: the one definition that segmentation, term matching, QA and TEI share.

Counted as Han: the CJK Unified Ideographs and every extension block (A in the BMP,
B to I in planes 2 and 3), the compatibility ideographs, the CJK and Kangxi radicals,
the ideographic iteration mark 々 (U+3005), the ideographic zero 〇 (U+3007), and the
Hangzhou numerals 〡–〩 (U+3021–3029).
"""

from __future__ import annotations

import re

HAN_RANGES = (
    "\u2e80-\u2fdf"  # CJK radicals supplement, Kangxi radicals
    "\u3005\u3007\u3021-\u3029"  # 々 〇 〡–〩
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U0003ffff"  # planes 2 and 3: extensions B–I, compatibility supplement
)
"""The ranges, for a regular expression's character class: f"[{HAN_RANGES}]"."""

HAN = re.compile(f"[{HAN_RANGES}]")
HAN_RUN = re.compile(f"[{HAN_RANGES}]+")


def has_han(text: str) -> bool:
    """Whether `text` holds a Han character."""
    return HAN.search(text) is not None


def is_han(char: str) -> bool:
    """Whether the character `char` is Han."""
    return HAN.fullmatch(char) is not None
