"""Language codes: what zhen writes for CAT tools, and how it reads what they write.

zhen writes the codes CAT tools expect of a Chinese → English pair: `zh-CN` and `en` (TMX
`srclang` and `xml:lang`, XLIFF `source-language`/`target-language`, OmegaT's project).  It
reads back any case, region or script a tool writes (`ZH-CN`, `zh_CN`, `zh-Hans`, `EN-US`):
only the primary language subtag counts.
"""

from __future__ import annotations

SOURCE_LANGUAGE = "zh-CN"
TARGET_LANGUAGE = "en"


def language_of(code: str | None) -> str:
    """The primary language subtag of a code, lower case: "ZH_cn" → "zh", "" for none."""
    return (code or "").strip().replace("_", "-").split("-", 1)[0].lower()


def is_chinese(code: str | None) -> bool:
    return language_of(code) == "zh"


def is_english(code: str | None) -> bool:
    return language_of(code) == "en"
