"""The glossary file: parsing, lint, load, save and the add/remove/list edits."""

from __future__ import annotations

from pathlib import Path

import pytest
from zhen.document import Term, TermKind
from zhen.errors import GlossaryError
from zhen.terminology.entries import slugify
from zhen.terminology.glossary import (
    add_term,
    lint_glossary,
    list_terms,
    load_glossary,
    remove_term,
)
from zhen.terminology.tsv import (
    HEADER,
    LintMessage,
    format_glossary,
    parse_glossary,
    save_glossary,
)

REAL = Path(__file__).resolve().parent.parent / "glossary" / "terms.tsv"
HEAD = "\t".join(HEADER)


def write(tmp_path: Path, *rows: str, header: bool = True) -> Path:
    path = tmp_path / "terms.tsv"
    path.write_text("\n".join(([HEAD] if header else []) + list(rows)) + "\n", encoding="utf-8")
    return path


def row(id_: str, zh: str, en: str, kind: str = "term", variants: str = "", note: str = "") -> str:
    return "\t".join((id_, zh, en, kind, variants, note))


def codes(path: Path) -> list[tuple[int, str, str]]:
    return [(m.line, m.level, m.code) for m in lint_glossary(path)]


def test_the_shipped_glossary_is_lint_clean_and_sorted():
    messages = lint_glossary(REAL)
    assert [m for m in messages if m.level == "error"] == []
    assert "unsorted" not in {m.code for m in messages}
    glossary = load_glossary(REAL)
    assert format_glossary(glossary.terms, glossary.comments) == REAL.read_text(encoding="utf-8")


def test_load_returns_terms_hash_and_path(tmp_path):
    path = write(
        tmp_path,
        row("gdp", "GDP", "GDP", "keep"),
        row(
            "us-japan-alliance",
            "美日同盟",
            "US-Japan alliance",
            variants="日美同盟",
            note="Alliance.",
        ),
    )
    glossary = load_glossary(path)
    assert glossary.path == path
    assert len(glossary.sha256) == 64
    assert glossary.terms == (
        Term("gdp", "GDP", "GDP", kind=TermKind.KEEP),
        Term("us-japan-alliance", "美日同盟", "US-Japan alliance", ("日美同盟",), note="Alliance."),
    )
    assert glossary.get("gdp").rendering == "GDP"


def test_lint_message_str_is_path_line_level_message():
    message = LintMessage("g.tsv", 3, "error", "empty-en", "x: empty English rendering (en)")
    assert str(message) == "g.tsv:3: error: x: empty English rendering (en)"


def test_malformed_rows_are_all_reported(tmp_path):
    path = write(
        tmp_path,
        "a-one\t一\tOne\tterm",  # 4 columns
        row("b-Two", "二", "Two"),
        row("c-three", "三", "Three", kind="maybe"),
        row("d-four", "四", ""),
    )
    assert codes(path) == [
        (2, "error", "malformed-row"),
        (3, "error", "bad-id"),
        (4, "error", "bad-kind"),
        (5, "error", "empty-en"),
    ]
    with pytest.raises(GlossaryError, match=r"terms.tsv:2: error: expected 6 .* 3 more"):
        load_glossary(path)


def test_missing_or_wrong_header(tmp_path):
    path = write(tmp_path, row("one", "一", "One"), header=False)
    assert codes(path) == [(1, "error", "missing-header")]
    path = write(tmp_path, "id\tzh\ten", row("one", "一", "One"), header=False)
    assert (1, "error", "bad-header") in codes(path)


def test_keep_may_leave_en_empty(tmp_path):
    path = write(tmp_path, row("cptpp", "CPTPP", "", "keep"))
    assert codes(path) == []
    assert load_glossary(path).terms[0].rendering == "CPTPP"


def test_full_width_keep_form_is_noted(tmp_path):
    path = write(tmp_path, row("gdp", "ＧＤＰ", "", "keep"))
    assert codes(path) == [(2, "info", "keep-full-width")]


def test_duplicate_ids(tmp_path):
    path = write(tmp_path, row("one", "一", "One"), row("one", "壹号", "One bis"))
    assert (3, "error", "duplicate-id") in codes(path)


def test_same_chinese_form_under_two_entries_after_folding(tmp_path):
    path = write(
        tmp_path,
        row("a-age", "新黄金时代", "New Golden Age"),
        row("b-age", "新黃金時代", "New Golden Age"),  # traditional spelling, same rendering
        row("c-gdp", "ＧＤＰ", "GDP"),
        row("d-gdp", "GDP", "GDP"),  # half width
    )
    found = codes(path)
    assert (3, "error", "duplicate-form") in found
    assert (5, "error", "duplicate-form") in found


def test_conflicting_renderings(tmp_path):
    path = write(
        tmp_path,
        row("alliance", "美日同盟", "US-Japan alliance"),
        row("alliance-2", "日美同盟", "Japan-US alliance", variants="美日同盟"),
    )
    messages = [m for m in lint_glossary(path) if m.code == "conflicting-rendering"]
    assert len(messages) == 1
    assert messages[0].line == 3
    assert "'Japan-US alliance'" in messages[0].message
    assert "'US-Japan alliance'" in messages[0].message


def test_same_english_for_different_chinese_is_an_info(tmp_path):
    path = write(tmp_path, row("trump", "特朗普", "Trump"), row("trump-tw", "川普", "Trump"))
    assert codes(path) == [(3, "info", "same-rendering")]


def test_variant_equal_to_its_own_term(tmp_path):
    path = write(tmp_path, row("age", "新黄金时代", "New Golden Age", variants="新黃金時代"))
    assert codes(path) == [(2, "error", "variant-equals-term")]


def test_stray_whitespace_and_invisible_characters(tmp_path):
    path = write(
        tmp_path,
        row("a-one", "一 ", "One"),
        row("b-two", "二\u200b", "Two"),
        row("c-three", "三", "Three\u00a0"),
        row("d-four", "四", "Four", note="bom\ufeffinside"),
        row("e-five", "五", "Fi\x07ve"),
    )
    found = codes(path)
    assert (2, "error", "whitespace") in found
    assert (3, "error", "invisible-char") in found
    assert (4, "error", "whitespace") in found  # NBSP at the end is whitespace too
    assert (4, "error", "invisible-char") in found
    assert (5, "error", "invisible-char") in found
    assert (6, "error", "invisible-char") in found
    text = "\n".join(str(m) for m in lint_glossary(path))
    assert "U+200B ZERO WIDTH SPACE" in text
    assert "U+00A0 NO-BREAK SPACE" in text


def test_unsorted_rows_are_an_info_that_save_fixes(tmp_path):
    path = write(tmp_path, row("zeta", "乙", "Zeta"), row("alpha", "甲", "Alpha"))
    assert codes(path) == [(3, "info", "unsorted")]
    glossary = load_glossary(path)
    save_glossary(path, glossary.terms)
    assert codes(path) == []
    assert [t.id for t in load_glossary(path).terms] == ["alpha", "zeta"]


def test_contained_terms_are_noted(tmp_path):
    path = write(
        tmp_path,
        row("indo-pacific", "印太", "Indo-Pacific"),
        row("indo-pacific-strategy", "印太战略", "Indo-Pacific Strategy"),
        row("quad", "四方安全对话", "the Quad"),
        row("security-dialogue", "安全对话", "security dialogue"),
    )
    messages = [m for m in lint_glossary(path) if m.code == "contained-term"]
    assert [(m.line, m.level) for m in messages] == [(2, "info"), (5, "info")]
    assert messages[0].message == (
        "indo-pacific: '印太' also occurs inside indo-pacific-strategy (line 3); "
        "the longer match wins"
    )
    assert "check that 'the Quad' agrees with 'security dialogue'" in messages[1].message


def test_bom_crlf_and_comments(tmp_path):
    path = tmp_path / "terms.tsv"
    text = f"# Maintained by the desk\r\n{HEAD}\r\n# Person\r\n{row('biden', '拜登', 'Biden')}\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert codes(path) == [(0, "info", "crlf"), (1, "info", "bom")]
    glossary = load_glossary(path)
    save_glossary(path, glossary.terms, glossary.comments)
    assert path.read_text(encoding="utf-8") == (
        f"# Maintained by the desk\n{HEAD}\n# Person\n{row('biden', '拜登', 'Biden')}\n"
    )


def test_undecodable_file(tmp_path):
    path = tmp_path / "terms.tsv"
    path.write_bytes(f"{HEAD}\n".encode() + "biden\t拜登\tBiden\tterm\t\t\n".encode("gb18030"))
    assert (2, "error", "undecodable") in codes(path)


def test_missing_file_is_a_glossary_error(tmp_path):
    with pytest.raises(GlossaryError, match="glossary not found"):
        load_glossary(tmp_path / "nope.tsv")


def test_parse_glossary_is_pure_and_lenient():
    terms, problems = parse_glossary(f"{HEAD}\n{row('one', '一', '')}\nbroken\n", "mem.tsv")
    assert terms == (Term("one", "一", ""),)
    assert [(p.line, p.code) for p in problems] == [(2, "empty-en"), (3, "malformed-row")]


def test_format_is_sorted_stable_with_trailing_newline():
    text = format_glossary([Term("b", "乙", "B", ("乙乙",)), Term("a", "甲", "A", note="n")])
    assert (
        text == f"{HEAD}\n{row('a', '甲', 'A', note='n')}\n{row('b', '乙', 'B', variants='乙乙')}\n"
    )
    with pytest.raises(GlossaryError, match="contains a tab or line break"):
        format_glossary([Term("a", "甲", "A\tB")])


def test_save_is_atomic_and_keeps_the_file_mode(tmp_path):
    path = write(tmp_path, row("one", "一", "One"))
    path.chmod(0o640)
    save_glossary(path, [Term("two", "二", "Two")])
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["terms.tsv"]  # no temporary file left


def test_slugify():
    assert slugify("US-Japan alliance") == "us-japan-alliance"
    assert slugify("Sanae Takaichi's “new” plan!") == "sanae-takaichi-s-new-plan"
    assert slugify("5G network") == "t-5g-network"
    assert slugify("Élysée Palace") == "elysee-palace"
    assert slugify("——", fallback="破折号").startswith("term-")


def test_add_term_derives_id_and_keeps_file_sorted_and_clean(tmp_path):
    path = write(tmp_path, row("biden", "拜登", "Biden"), row("trump", "特朗普", "Trump"))
    term = add_term(path, " 全球南方 ", "Global South", note="Developing countries.")
    assert term == Term("global-south", "全球南方", "Global South", note="Developing countries.")
    assert [t.id for t in load_glossary(path).terms] == ["biden", "global-south", "trump"]
    assert [m for m in lint_glossary(path) if m.level == "error"] == []
    keep = add_term(path, "CPTPP", "CPTPP", kind=TermKind.KEEP)
    assert keep.id == "cptpp" and load_glossary(path).get("cptpp").kind is TermKind.KEEP


def test_add_term_refuses_what_lint_rejects(tmp_path):
    path = write(tmp_path, row("alliance", "美日同盟", "US-Japan alliance"))
    before = path.read_bytes()
    with pytest.raises(GlossaryError, match="cannot add 'japan-us-alliance'.*'Japan-US alliance'"):
        add_term(path, "美日同盟", "Japan-US alliance")
    with pytest.raises(GlossaryError, match="cannot add .*variant"):
        add_term(path, "新黄金时代", "New Golden Age", variants=["新黃金時代"])
    with pytest.raises(GlossaryError, match="empty English"):
        add_term(path, "稀土", "")
    with pytest.raises(GlossaryError, match="already exists"):
        add_term(path, "稀土", "rare earths", id="alliance")
    with pytest.raises(GlossaryError, match="bad id"):
        add_term(path, "稀土", "rare earths", id="Rare Earths")
    with pytest.raises(GlossaryError, match="invisible"):
        add_term(path, "稀\u200b土", "rare earths")
    assert path.read_bytes() == before


def test_add_term_makes_a_derived_id_unique(tmp_path):
    path = write(tmp_path, row("trump", "特朗普", "Trump"))
    assert add_term(path, "川普", "Trump").id == "trump-2"


def test_remove_term(tmp_path):
    path = write(tmp_path, row("biden", "拜登", "Biden"), row("trump", "特朗普", "Trump"))
    assert remove_term(path, "biden") == Term("biden", "拜登", "Biden")
    assert [t.id for t in load_glossary(path).terms] == ["trump"]
    with pytest.raises(GlossaryError, match="did you mean trump"):
        remove_term(path, "trumpp")


def test_remove_term_can_fix_a_conflict(tmp_path):
    path = write(
        tmp_path,
        row("alliance", "美日同盟", "US-Japan alliance"),
        row("alliance-old", "美日同盟", "Japan-US alliance"),
    )
    with pytest.raises(GlossaryError):
        load_glossary(path)
    remove_term(path, "alliance-old")
    assert [t.id for t in load_glossary(path).terms] == ["alliance"]


def test_remove_term_refuses_to_rewrite_a_malformed_file(tmp_path):
    path = write(tmp_path, row("biden", "拜登", "Biden"), "trump\t特朗普")
    before = path.read_bytes()
    with pytest.raises(GlossaryError, match=":3: error: expected 6"):
        remove_term(path, "biden")
    assert path.read_bytes() == before


def test_list_terms_greps_every_column_across_scripts(tmp_path):
    path = write(
        tmp_path,
        row("new-golden-age", "新黄金时代", "New Golden Age"),
        row("trump", "特朗普", "Trump", note="Donald Trump."),
        row("us-japan-alliance", "美日同盟", "US-Japan alliance", variants="日美同盟"),
    )
    glossary = load_glossary(path)
    assert [t.id for t in list_terms(glossary)] == ["new-golden-age", "trump", "us-japan-alliance"]
    assert [t.id for t in list_terms(glossary, "donald")] == ["trump"]
    assert [t.id for t in list_terms(glossary, "黃金時代")] == ["new-golden-age"]
    assert [t.id for t in list_terms(glossary, "日美")] == ["us-japan-alliance"]
    assert list_terms(glossary, "nothing-like-this") == []
