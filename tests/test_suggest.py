"""Glossary suggestions: recurring expressions, names, quoted phrases; known terms left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from zhen.document import Term
from zhen.terminology.glossary import load_glossary
from zhen.terminology.suggest import Candidate, suggest_terms

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = load_glossary(ROOT / "glossary" / "terms.tsv")

ARTICLE_A = (
    "日本首相高市早苗11月7日在国会答辩时称，“台湾有事”可能构成日本可以行使集体自卫权的"
    "“存亡危机事态”。美国总统特朗普表示，美日同盟是印太战略的基石。\n"
    "分析人士指出，集体自卫权的解禁使日本的专守防卫政策名存实亡。"
    "日本政府计划修改《防卫装备转移三原则》。\n"
    "日本防卫费连续增长，集体自卫权问题再次引发关注。我们认为，2025年的局势值得关注。"
)
ARTICLE_B = (
    "据共同社报道，高市早苗的“台湾有事”言论引发中方强烈反对。"
    "中国外交部发言人表示，日本应停止军事扩张，不要迈向所谓的「新黃金時代」。"
    "他说，“2025”不是一个数字。"
)
TEXTS = [("a.txt", ARTICLE_A), ("b.txt", ARTICLE_B)]
# On one xdist worker with test_cli_tools' suggest test: jieba's dictionaries load once.
pytestmark = pytest.mark.xdist_group("jieba")


@pytest.fixture(scope="module")
def suggestions() -> dict[str, Candidate]:
    return {c.text: c for c in suggest_terms(TEXTS, GLOSSARY, limit=100)}


def test_quoted_phrases_are_candidates_even_once(suggestions):
    assert suggestions["台湾有事"].kinds == ("quoted",)
    assert (suggestions["台湾有事"].count, suggestions["台湾有事"].documents) == (2, 2)
    assert suggestions["防卫装备转移三原则"].count == 1


def test_recurring_expressions_are_candidates(suggestions):
    candidate = suggestions["集体自卫权"]
    assert candidate.kinds == ("expression",)
    assert (candidate.count, candidate.documents) == (3, 1)
    assert candidate.source == "a.txt"


def test_an_expression_seen_once_is_not_a_candidate(suggestions):
    assert "名存实亡" not in suggestions
    assert "行使集体自卫权" not in suggestions


def test_names_are_candidates(suggestions):
    assert "name" in suggestions["共同社"].kinds
    assert "name" in suggestions["中国外交部"].kinds


def test_glossary_forms_are_left_out_in_either_script(suggestions):
    for known in ("高市早苗", "存亡危机事态", "美日同盟", "印太战略", "专守防卫", "新黃金時代"):
        assert known not in suggestions
    # Occurrences inside a glossary term are not counted: 黄金时代 only occurs in 新黃金時代.
    assert not any("黄金时代" in text or "黃金時代" in text for text in suggestions)


def test_numbers_and_function_words_are_not_candidates(suggestions):
    for text in ("2025", "2025年", "11月7日", "我们", "认为", "表示", "可以"):
        assert text not in suggestions


def test_generic_words_are_not_candidates(suggestions):
    for text in ("日本", "美国", "问题", "政策"):
        assert text not in suggestions


def test_ranked_by_score_with_context(suggestions):
    ranked = suggest_terms(TEXTS, GLOSSARY, limit=3)
    assert len(ranked) == 3
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
    assert ranked[0].text == "台湾有事"
    assert suggestions["台湾有事"].score > suggestions["共同社"].score
    context = suggestions["集体自卫权"].context
    assert "【集体自卫权】" in context
    left, right = context.split("【集体自卫权】")
    assert 0 < len(left) <= 20 and 0 < len(right) <= 20
    assert "\n" not in suggestions["防卫装备转移三原则"].context


def test_works_with_a_plain_term_list_and_no_glossary():
    with_terms = suggest_terms(
        TEXTS, [Term("taiwan-contingency", "台湾有事", "Taiwan contingency")]
    )
    assert "台湾有事" not in {c.text for c in with_terms}
    assert "台湾有事" in {c.text for c in suggest_terms(TEXTS, None)}


@pytest.mark.slow  # a real process: jieba's first load
def test_jieba_loads_quietly_and_without_network(tmp_path):
    script = (
        "import socket\n"
        "def deny(*a, **k):\n"
        "    raise RuntimeError('network used')\n"
        "socket.socket.connect = deny\n"
        "socket.create_connection = deny\n"
        "from zhen.terminology.suggest import suggest_terms\n"
        "print(len(suggest_terms([('x', '“台湾有事”与集体自卫权，集体自卫权。')], None)))\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # jieba's own cache goes to a fresh folder
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert result.stderr == ""


def test_english_words_are_not_candidates_but_acronyms_are():
    text = (
        "Japan's defense budget has doubled in a decade. Some call it militarism; others call "
        "it deterrence. 日本加入CPTPP后，CPTPP成员国的GDP合计占全球GDP的15%。"
    )
    found = {c.text for c in suggest_terms([("e.txt", text)], None, min_count=1)}
    assert {"CPTPP", "GDP"} <= found
    for word in ("call", "it", "Some", "Japan", "budget", "militarism", "in"):
        assert word not in found
