"""One glossary entry taken alone: its id (check one, derive one) and its problems.

What is wrong with an entry by itself (`term_problems`) is found here; what is wrong between
entries is `zhen.terminology.lint`; the file around them is `zhen.terminology.tsv`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from zhen.document import Term, TermKind
from zhen.han import has_han

VARIANT_SEP = "|"  # joins the variants in one field, so a variant cannot hold it
ID_RE = re.compile(r"[a-z][a-z0-9]*(?:[-._][a-z0-9]+)*")
MAX_ID_LEN = 80


# ---------------------------------------------------------------- ids


def is_valid_id(term_id: str) -> bool:
    """A lowercase ASCII slug (letters, digits, single '-', '.', '_' between them)."""
    return len(term_id) <= MAX_ID_LEN and ID_RE.fullmatch(term_id) is not None


def _slug(text: str) -> str:
    """The ASCII slug of `text`, or "" if it has no ASCII letter or digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > 60:
        slug = slug[:60].rsplit("-", 1)[0]
    return slug if not slug or slug[0].isalpha() else f"t-{slug}"


def slugify(text: str, fallback: str = "") -> str:
    """An id derived from English text: 'US-Japan alliance' → 'us-japan-alliance'."""
    slug = _slug(text)
    if not slug:
        digest = hashlib.sha1((fallback or text).encode("utf-8")).hexdigest()[:8]
        return f"term-{digest}"
    return slug


def new_id(term: Term, taken: Iterable[str]) -> str:
    """A readable id for a new entry, not in `taken`.

    A `keep` entry whose source form is in Latin script takes its slug (CPTPP → cptpp);
    otherwise the slug of the English (critical minerals → critical-minerals); failing
    both (a Han-only keep entry without English) `<kind>-<n>`: keep-1, keep-2, …
    A taken slug gets `-2`, `-3`, … as `unique_id` gives.
    """
    taken = set(taken)
    if term.kind is TermKind.KEEP and not has_han(term.zh) and (slug := _slug(term.zh)):
        return unique_id(slug, taken)
    if slug := _slug(term.en):
        return unique_id(slug, taken)
    n = 1
    while f"{term.kind.value}-{n}" in taken:
        n += 1
    return f"{term.kind.value}-{n}"


def unique_id(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... whichever is not taken."""
    taken = set(taken)
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


# ---------------------------------------------------------------- field checks


def _char_problem(ch: str) -> str | None:
    cat = unicodedata.category(ch)
    if ch == " " or cat[0] not in "CZ":
        return None
    name = unicodedata.name(ch, "unassigned" if cat == "Cn" else "control character")
    return f"U+{ord(ch):04X} {name}"


def field_problems(column: str, value: str) -> list[tuple[str, str]]:
    """(code, message) for stray whitespace and invisible characters in one field."""
    problems = []
    if value != value.strip():
        problems.append(("whitespace", f"stray whitespace at the start or end of {column}"))
    odd = sorted({p for ch in value if (p := _char_problem(ch))})
    if odd:
        problems.append(
            ("invisible-char", f"invisible or control character in {column}: {', '.join(odd)}")
        )
    return problems


def term_problems(term: Term) -> list[tuple[str, str]]:
    """(code, message) for everything wrong with one entry taken alone (errors)."""
    problems = []
    if not term.id:
        problems.append(("bad-id", "empty id"))
    elif not is_valid_id(term.id):
        problems.append(
            ("bad-id", f"bad id {term.id!r}: use a lowercase ASCII slug such as 'new-golden-age'")
        )
    if not term.zh.strip():
        problems.append(("empty-zh", f"{term.id}: empty Chinese form (zh)"))
    if not term.en.strip() and term.kind is TermKind.TERM:  # keep renders the source form itself
        problems.append(("empty-en", f"{term.id}: empty English rendering (en)"))
    for column, value in (("zh", term.zh), ("en", term.en), ("note", term.note)):
        problems += field_problems(column, value)
    for variant in term.variants:
        if not variant.strip():
            problems.append(("empty-variant", f"{term.id}: empty variant (stray '|')"))
        problems += field_problems("variants", variant)
    for column, value in (("zh", term.zh), ("en", term.en), ("note", term.note)):
        if any(c in value for c in "\t\n\r"):
            problems.append(("bad-char", f"{column} contains a tab or line break"))
    if any(VARIANT_SEP in v or any(c in v for c in "\t\n\r") for v in term.variants):
        problems.append(("bad-char", "a variant contains '|', a tab or a line break"))
    return problems
