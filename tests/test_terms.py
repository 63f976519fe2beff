"""Glossary term matching: longest first, variants, derived scripts, width, raw offsets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from zhen.document import Term, TermKind
from zhen.terminology.glossary import load_glossary
from zhen.terminology.matcher import (
    TermMatcher,
    build_matcher,
    convert,
    find_all,
    fold_width,
    match_terms,
    normalize_form,
    script_forms,
)

GLOSSARY = Path(__file__).resolve().parent.parent / "glossary" / "terms.tsv"

TERMS = [
    Term("indo-pacific", "印太", "Indo-Pacific"),
    Term("indo-pacific-strategy", "印太战略", "Indo-Pacific Strategy"),
    Term("us-japan-alliance", "美日同盟", "US-Japan alliance", variants=("日美同盟",)),
    Term("new-golden-age", "新黄金时代", "New Golden Age"),
    Term("gdp", "ＧＤＰ", "GDP", kind=TermKind.KEEP),
    Term("takaichi", "高市", "Takaichi"),
    Term("sanae-takaichi", "高市早苗", "Sanae Takaichi"),
    Term("ab", "甲乙", "AB"),
    Term("bcd", "乙丙丁", "BCD"),
]
MATCHER = build_matcher(TERMS)


def found(text: str, matcher: TermMatcher = MATCHER) -> list[tuple[str, str]]:
    return [(m.term_id, text[m.start : m.end]) for m in match_terms(matcher, text)]


def test_opencc_converts_offline_with_bundled_data():
    assert convert("s2t", "新黄金时代") == "新黃金時代"
    assert convert("t2s", "美日同盟與印太戰略") == "美日同盟与印太战略"
    assert {"新黃金時代", "新黄金时代"} <= script_forms("新黄金时代")


def test_longest_match_wins():
    assert found("推进印太战略。") == [("indo-pacific-strategy", "印太战略")]
    assert found("印太地区与印太战略") == [
        ("indo-pacific", "印太"),
        ("indo-pacific-strategy", "印太战略"),
    ]
    assert found("高市早苗说，高市认为") == [
        ("sanae-takaichi", "高市早苗"),
        ("takaichi", "高市"),
    ]


def test_overlapping_candidates_resolve_to_the_longest():
    # 甲乙 (0-2) and 乙丙丁 (1-4) overlap: the longer one wins even though it starts later.
    assert found("甲乙丙丁") == [("bcd", "乙丙丁")]
    # Equal lengths: the leftmost wins.
    equal = build_matcher([Term("x", "甲乙", "X"), Term("y", "乙丙", "Y")])
    assert found("甲乙丙", equal) == [("x", "甲乙")]


def test_variants_match_under_their_entry():
    assert found("日美同盟和美日同盟") == [
        ("us-japan-alliance", "日美同盟"),
        ("us-japan-alliance", "美日同盟"),
    ]


def test_traditional_forms_are_derived():
    assert found("邁向新黃金時代") == [("new-golden-age", "新黃金時代")]
    assert found("鞏固美日同盟與印太戰略") == [
        ("us-japan-alliance", "美日同盟"),
        ("indo-pacific-strategy", "印太戰略"),
    ]
    assert found("日美同盟") == [("us-japan-alliance", "日美同盟")]


def test_simplified_text_matches_a_traditional_entry():
    matcher = build_matcher([Term("new-golden-age", "新黃金時代", "New Golden Age")])
    assert found("新黄金时代", matcher) == [("new-golden-age", "新黄金时代")]


def test_full_width_entry_matches_half_width_text_and_back():
    assert found("日本ＧＤＰ增长") == [("gdp", "ＧＤＰ")]
    assert found("日本GDP增长") == [("gdp", "GDP")]
    half = build_matcher([Term("gdp", "GDP", "GDP", kind=TermKind.KEEP)])
    assert found("日本ＧＤＰ增长", half) == [("gdp", "ＧＤＰ")]


def test_latin_forms_respect_word_boundaries():
    half = build_matcher([Term("gdp", "GDP", "GDP", kind=TermKind.KEEP)])
    assert found("GDPR规定", half) == []
    assert found("XGDP", half) == []
    assert found("(GDP)", half) == [("gdp", "GDP")]


def test_offsets_index_the_raw_text():
    text = "ＡＢＣ　据报道，美日同盟（ＧＤＰ）与印太战略"
    for m in match_terms(MATCHER, text):
        assert fold_width(text[m.start : m.end]) in MATCHER.forms
    spans = [(m.start, m.end) for m in match_terms(MATCHER, text)]
    assert spans == [(8, 12), (13, 16), (18, 22)]


def test_fold_width_keeps_length_and_folds_compatibility_characters():
    text = "ＧＤＰ　１２％ｶﬁ⽇本"
    folded = fold_width(text)
    assert len(folded) == len(text)
    assert folded == "GDP 12%カﬁ日本"  # ﬁ would become two letters: left alone


def test_normalize_form_folds_script_and_width():
    assert normalize_form("新黃金時代") == "新黄金时代"
    assert normalize_form("ＧＤＰ") == "GDP"


def test_matching_is_per_sentence_and_never_crosses_a_boundary():
    from zhen.batch.paragraphs import make_paragraph

    paragraph = make_paragraph(1, "他谈到印。太战略很重要。", MATCHER)
    assert [s.terms for s in paragraph.sentences] == [[], []]
    assert found("他谈到印太战略。") == [("indo-pacific-strategy", "印太战略")]


def test_a_paragraph_s_sentences_carry_their_terms():
    from zhen.batch.paragraphs import make_paragraph

    paragraph = make_paragraph(1, "美日同盟与新黃金時代", MATCHER)
    assert [(m.term_id, m.start, m.end, m.status) for m in paragraph.sentences[0].terms] == [
        ("us-japan-alliance", 0, 4, None),
        ("new-golden-age", 5, 10, None),
    ]


def test_find_all_reports_overlapping_occurrences():
    spans = [(m.term_id, m.start, m.end) for m in find_all(MATCHER, "印太战略")]
    assert spans == [("indo-pacific", 0, 2), ("indo-pacific-strategy", 0, 4)]


def test_typed_form_beats_derived_form_of_another_entry():
    matcher = build_matcher(
        [Term("a-simplified", "台湾", "Taiwan"), Term("b-traditional", "臺灣", "Taiwan (trad.)")]
    )
    assert found("臺灣", matcher) == [("b-traditional", "臺灣")]
    assert found("台湾", matcher) == [("a-simplified", "台湾")]


def test_from_glossary_uses_the_real_glossary():
    matcher = TermMatcher.from_glossary(load_glossary(GLOSSARY))
    assert found("高市早苗強調日美同盟", matcher) == [
        ("sanae-takaichi", "高市早苗"),
        ("us-japan-alliance", "日美同盟"),
    ]


@pytest.mark.slow  # a timing on a megabyte
def test_fast_on_thousands_of_terms_and_a_megabyte():
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]
    terms = [
        Term(f"t{i}", chars[i % 400] + chars[(i * 7) % 400] + chars[(i * 13) % 400], "x")
        for i in range(3000)
    ]
    matcher = build_matcher(terms)
    sentence = "".join(terms[k].zh + chars[k % 400] for k in range(0, 3000, 250))  # 48 chars
    start = time.perf_counter()
    total = sum(len(match_terms(matcher, sentence)) for _ in range(21_000))  # 1M characters
    elapsed = time.perf_counter() - start
    assert total >= 12 * 21_000
    assert elapsed < 10, f"{elapsed:.1f}s for 1M characters"


SAMPLE = "印太战略甲乙丙丁美日同盟新黃金時代ＧＤＰGDP高市早苗，。 "


@settings(max_examples=examples(200), deadline=None)
@given(st.text(alphabet=st.sampled_from(SAMPLE), max_size=40))
def test_matches_are_sorted_disjoint_and_known_forms(text):
    matches = match_terms(MATCHER, text)
    ends = [0]
    for m in matches:
        assert m.start >= ends[-1]
        assert m.start < m.end
        ends.append(m.end)
        assert MATCHER.forms[fold_width(text[m.start : m.end])] == m.term_id
    # Every form found anywhere is either matched or overlaps a longer/leftmost match.
    chosen = [(m.start, m.end) for m in matches]
    for m in find_all(MATCHER, text):
        if (m.start, m.end) not in chosen and not fold_width(text[m.start : m.end]).isascii():
            assert any(a < m.end and m.start < b and b - a >= m.end - m.start for a, b in chosen)


# -- OpenCC's conversions of the glossary's forms, kept in the cache folder --------------------


@pytest.fixture
def fresh_memo(tmp_path, monkeypatch):
    """This process as if new: nothing remembered, the cache folder empty."""
    from zhen.terminology import opencc_memo

    monkeypatch.setenv("ZHEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(opencc_memo, "_MEMO", opencc_memo._Memo())
    return opencc_memo


def test_the_next_process_needs_no_opencc_for_the_same_glossary(fresh_memo, monkeypatch):
    """Loading a glossary and compiling its matcher keep their conversions on disk; a new
    process with the same glossary gets the same terms and forms without loading OpenCC."""
    plain = build_matcher(load_glossary(GLOSSARY).terms).forms  # OpenCC itself, nothing kept
    glossary = load_glossary(GLOSSARY)
    assert TermMatcher.from_glossary(glossary).forms == plain
    monkeypatch.setattr(fresh_memo, "_MEMO", fresh_memo._Memo())
    monkeypatch.setattr(fresh_memo, "_converter",
                        lambda config: pytest.fail(f"OpenCC loaded for {config}"))
    again = load_glossary(GLOSSARY)
    assert again.terms == glossary.terms
    assert TermMatcher.from_glossary(again).forms == plain


def test_a_new_form_is_converted_and_added(fresh_memo, tmp_path):
    load_glossary(GLOSSARY)
    (memo,) = (tmp_path / "cache").glob("opencc-*.json")
    before = memo.read_bytes()
    assert "臺灣" not in before.decode("utf-8")
    with fresh_memo.remembered():
        assert script_forms("台湾海峡") >= {"台湾海峡", "臺灣海峽"}
    assert "臺灣海峽" in memo.read_text(encoding="utf-8")
    assert convert("s2t", "台湾") == "臺灣"  # outside a block: OpenCC, nothing kept


@pytest.mark.parametrize("damage", [b"{not json", b'{"t2s": {"\\u5370\\u592a": 5}}', b"[]"])
def test_a_damaged_memo_is_ignored_and_replaced(fresh_memo, tmp_path, damage):
    plain = build_matcher(load_glossary(GLOSSARY).terms).forms
    memo = tmp_path / "cache" / f"opencc-{fresh_memo._opencc_version()}.json"
    memo.parent.mkdir(exist_ok=True)
    memo.write_bytes(damage)
    assert TermMatcher.from_glossary(load_glossary(GLOSSARY)).forms == plain
    assert json.loads(memo.read_bytes())["t2s"]["印太"] == "印太"


def test_an_unwritable_cache_folder_changes_nothing(fresh_memo, tmp_path, monkeypatch):
    plain = build_matcher(load_glossary(GLOSSARY).terms).forms
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ZHEN_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    assert TermMatcher.from_glossary(load_glossary(GLOSSARY)).forms == plain
