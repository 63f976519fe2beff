"""Tests for zhen.segment: sentence rules, exact join, data model ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zhen.segment import segment_sentences
from zhen.terminology.glossary import load_glossary

GLOSSARY = Path(__file__).resolve().parent.parent / "glossary" / "terms.tsv"


def seg(text: str) -> list[str]:
    result = segment_sentences(text)
    assert "".join(result) == text
    return result


@pytest.mark.parametrize("mark", ["。", "！", "？", "；", "!", "?", ";", "."])
def test_split_after_terminal_punctuation_before_chinese(mark):
    assert seg(f"日本提高了防卫预算{mark}美国表示欢迎。") == [
        f"日本提高了防卫预算{mark}",
        "美国表示欢迎。",
    ]


@pytest.mark.parametrize("ellipsis", ["……", "…", "..."])
def test_split_after_ellipsis(ellipsis):
    assert seg(f"谈判还在继续{ellipsis}结果仍不明朗。") == [
        f"谈判还在继续{ellipsis}",
        "结果仍不明朗。",
    ]


def test_ellipsis_before_deng_does_not_split():
    assert seg("日本、澳大利亚、印度……等国参加了会议。") == [
        "日本、澳大利亚、印度……等国参加了会议。"
    ]


@pytest.mark.parametrize("run", ["！？", "？！", "。。。", "！！！", "?!", "……。"])
def test_runs_of_terminal_punctuation_stay_together(run):
    assert seg(f"这就是所谓的盟友{run}华盛顿显然不这么看。") == [
        f"这就是所谓的盟友{run}",
        "华盛顿显然不这么看。",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("他说：“这是真的。”然后走了。", ["他说：“这是真的。”", "然后走了。"]),
        ("她问：‘为什么？’没人回答。", ["她问：‘为什么？’", "没人回答。"]),
        ("「事态严重。」他补充道。", ["「事态严重。」", "他补充道。"]),
        ("『不可能！』他说。", ["『不可能！』", "他说。"]),
        ("（详见附件。）下文从略。", ["（详见附件。）", "下文从略。"]),
        ("他说“形势严峻！”）。会议继续。", ["他说“形势严峻！”）。", "会议继续。"]),
        ("“Why?”他问。", ["“Why?”", "他问。"]),
        ('He said "It works." Then it failed.', ['He said "It works." ', "Then it failed."]),
        ("(This is true.) Next one.", ["(This is true.) ", "Next one."]),
    ],
)
def test_closing_quotes_and_brackets_stay_with_their_sentence(text, expected):
    assert seg(text) == expected


def test_ascii_double_quote_opening_the_next_sentence_is_not_a_closer():
    assert seg('他说："好。"然后走了。"下一句"也是。') == [
        '他说："好。"',
        "然后走了。",
        '"下一句"也是。',
    ]


@pytest.mark.parametrize(
    "text",
    [
        "日元汇率为9.0353，较上月下跌。",
        "国防预算增长1.8%，达到3.5亿美元。",
        "版本v2.0.1发布。",
        "访问www.mod.go.jp了解详情。",
        "It rose 3.5 percent in 2024 and 1.8% in 2025.",
    ],
)
def test_never_split_inside_numbers_or_names(text):
    assert seg(text) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "U.S. officials said so.",
        "U.S. President Trump spoke.",
        "Dr. Smith arrived.",
        "Asian partners, e.g. Japan and Korea, agreed.",
        "See No. 5 on the list.",
        "The talks began at 9 a.m. Tokyo time.",
        "Donald J. Trump said so.",
        "He met Mr. Ishiba in Tokyo.",
        "美国(U.S.)表示关切。",
        "Mr.史密斯表示同意。",
        "某某Co., Ltd.于2024年成立。",
    ],
)
def test_never_split_after_abbreviations(text):
    assert seg(text) == [text]


def test_company_suffix_ends_an_english_sentence():
    assert seg("He works at Google Inc. The deal closed.") == [
        "He works at Google Inc. ",
        "The deal closed.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He said: It works. Then it failed.", ["He said: It works. ", "Then it failed."]),
        ("Is it true? Yes! It is.", ["Is it true? ", "Yes! ", "It is."]),
        ("特朗普说：America First. 随后离场。", ["特朗普说：America First. ", "随后离场。"]),
        (
            "拜登说：“We will not back down.”随后离开。",
            ["拜登说：“We will not back down.”", "随后离开。"],
        ),
        ("It is 3.5 percent. 中国经济增长。", ["It is 3.5 percent. ", "中国经济增长。"]),
    ],
)
def test_embedded_english_sentences(text, expected):
    assert seg(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He said so. then he left.",  # lower case after the period
        "Wait... then nothing happened.",
        "A ratio of 3. 5 to one.",
    ],
)
def test_ascii_period_without_a_new_sentence_after_it_does_not_split(text):
    assert seg(text) == [text]


@pytest.mark.parametrize(
    "text",
    ["日本防卫政策的新动向", "一、坚持专守防卫原则", "（三）印太战略的演变", "1. 坚持和平发展道路"],
)
def test_heading_or_list_line_is_one_sentence(text):
    assert seg(text) == [text]


def test_whitespace_between_sentences_stays_with_the_previous_sentence():
    assert seg("第一句。  第二句。\u3000第三句。 ") == ["第一句。  ", "第二句。\u3000", "第三句。 "]
    assert seg("It works.   Then it failed.") == ["It works.   ", "Then it failed."]


def test_no_split_inside_a_title():
    text = "社论以《亚太能否迎来新黄金时代？》为题。《同盟的未来！》一书随后出版。"
    assert seg(text) == [
        "社论以《亚太能否迎来新黄金时代？》为题。",
        "《同盟的未来！》一书随后出版。",
    ]


def test_a_stray_title_bracket_does_not_stop_segmentation():
    text = "他提到《同盟一事。" + "日本增加了防卫预算。" * 12  # a title ends within 60 chars
    assert len(seg(text)) == 7


def test_no_split_before_a_comma_or_colon():
    assert seg("他说……，然后停住了。") == ["他说……，然后停住了。"]


def test_punctuation_only_fragments_join_a_neighbour():
    assert seg("……他走了。") == ["……他走了。"]
    assert seg("。。他走了。") == ["。。他走了。"]
    assert seg("他走了。 ！") == ["他走了。 ！"]
    assert seg("！？。") == ["！？。"]


def test_degenerate_paragraphs():
    assert segment_sentences("") == []
    assert segment_sentences("   ") == ["   "]


def test_n_sentences_ending_in_full_stop():
    sentences = [
        "日本通过了新的国家安全战略。",
        "美国表示欢迎。",
        "中国提出批评。",
        "专家认为影响深远。",
    ]
    assert seg("".join(sentences)) == sentences


CJK = "日本美国同盟防卫政策印太战略高市早苗经济增长预算"
PUNCT = "。！？；…，、：“”‘’「」『』（）《》〈〉【】.!?;:,\"'()[]"
_words = st.sampled_from(["Japan", "U.S.", "Dr.", "e.g.", "it", "The", "No.", "a.m.", "I", "J."])
_numbers = st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,4})?%?", fullmatch=True)
_chunks = st.one_of(
    st.text(alphabet=CJK, min_size=1, max_size=6),
    st.text(alphabet=PUNCT, min_size=1, max_size=3),
    st.text(alphabet=" \u3000\t", min_size=1, max_size=2),
    _words,
    _numbers,
)
mixed_text = st.lists(_chunks, max_size=30).map("".join)


@given(st.one_of(mixed_text, st.text()))
def test_join_is_exact_and_no_sentence_is_empty(text):
    sentences = segment_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)
    if any(c.isalnum() for c in text):
        assert all(any(c.isalnum() for c in s) for s in sentences)
    elif text:
        assert sentences == [text]


_sentence = st.lists(
    st.one_of(st.text(alphabet=CJK, min_size=1, max_size=8), _numbers, _words), min_size=1
).map(" ".join)


@given(st.lists(_sentence, min_size=1, max_size=10))
def test_n_sentences_each_ending_in_full_stop_give_n(sentences):
    paragraph = "".join(s + "。" for s in sentences)
    assert segment_sentences(paragraph) == [s + "。" for s in sentences]


def test_paragraphs_build_the_model():
    from zhen.batch.paragraphs import make_paragraph
    from zhen.terminology.matcher import TermMatcher

    matcher = TermMatcher.from_glossary(load_glossary(GLOSSARY))
    paragraphs = [make_paragraph(n, text, matcher) for n, text in
                  enumerate(["日本防卫政策", "第一句。第二句！", "He left. Then it rained."], 1)]
    assert [p.id for p in paragraphs] == ["p1", "p2", "p3"]
    assert [[s.id for s in p.sentences] for p in paragraphs] == [
        ["p1.s1"],
        ["p2.s1", "p2.s2"],
        ["p3.s1", "p3.s2"],
    ]
    assert paragraphs[1].sentences[1].zh == "第二句！"
    assert paragraphs[2].zh == "He left. Then it rained."
    for sentence in (s for p in paragraphs for s in p.sentences):
        assert sentence.en is None
