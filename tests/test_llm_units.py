"""The LLM engine's pure parts: reply hygiene, prompts from profiles, profile choice,
settings, and term success as WMT25 counts it."""

from __future__ import annotations

import pytest
from zhen.engines.llm.hygiene import (
    clean_reply,
    mean_logprob_score,
    parse_array,
    reply_problems,
)
from zhen.engines.llm.profiles import choose_profile, get_profile, profiles
from zhen.engines.llm.prompt import build_batch_prompt, build_prompt
from zhen.errors import ModelError

SRC = "印太战略是新黄金时代的一部分。"


@pytest.mark.parametrize("reply, expected", [
    ("<think>让我想想。</think>\nThe Indo-Pacific strategy.", "The Indo-Pacific strategy."),
    ("<think>首先分析这个句子", ""),  # left open by the length cap: all reasoning
    ("好的</think>The strategy.", "The strategy."),  # the template wrote the opening tag
    ("```\nThe strategy.\n```", "The strategy."),
    ("```text\nThe strategy.\n```", "The strategy."),
    ("Here is the translation:\n\nThe strategy.", "The strategy."),
    ("Sure! Here's the English translation: The strategy.", "The strategy."),
    ("Translation: The strategy.", "The strategy."),
    ("译文：The strategy.", "The strategy."),
    ('"The strategy."', "The strategy."),
    ("\u201cThe strategy.\u201d", "The strategy."),
    ("The strategy\nis new.", "The strategy is new."),
    ("The English of it.", "The English of it."),  # "English" inside: no preamble
])
def test_clean_reply(reply, expected):
    assert clean_reply(reply, SRC) == expected


def test_quotes_the_source_had_are_kept():
    assert clean_reply("\u201cThe strategy.\u201d", "\u201c印太战略。\u201d") == \
        "\u201cThe strategy.\u201d"


def test_reply_problems():
    assert reply_problems("The Indo-Pacific strategy is part of it.", SRC) == []
    assert reply_problems("", SRC) == ["empty"]
    assert "chinese" in reply_problems("The 印太 strategy.", SRC)
    assert reply_problems("The 印太 strategy is part of the age.", SRC, keep=("印太",)) == []
    assert "ratio" in reply_problems("A.", SRC)
    assert "ratio" in reply_problems("word " * 200, SRC)


def test_parse_array():
    assert parse_array('["a", "b"]', 2) == ["a", "b"]
    assert parse_array('```json\n["a", "b"]\n```', 2) == ["a", "b"]
    assert parse_array('{"translations": ["a", "b"]}', 2) == ["a", "b"]
    assert parse_array('Here: ["a", "b"] done', 2) == ["a", "b"]
    assert parse_array('["a", "b", "c"]', 2) is None
    assert parse_array('["a", 2]', 2) is None
    assert parse_array("not json", 2) is None
    assert parse_array('["a", "b"', 2) is None


def test_score_is_exp_mean_logprob():
    import math

    assert mean_logprob_score([-0.5, -1.5]) == pytest.approx(math.exp(-1.0))
    assert mean_logprob_score([]) is None
    assert mean_logprob_score([0.0]) == 1.0


def test_profiles_chosen_from_the_served_id():
    assert choose_profile("tencent/HY-MT1.5-1.8B-GGUF").name == "hunyuan"
    assert choose_profile("hunyuan-mt-7b").name == "hunyuan"
    assert choose_profile("Qwen3-8B-Q4_K_M.gguf").name == "qwen"
    assert choose_profile("gemmax2-28-9b").name == "completion"
    assert choose_profile("llama-3.1-8b-instruct").name == "chat"
    assert set(profiles()) >= {"hunyuan", "qwen", "chat", "completion"}
    with pytest.raises(ModelError, match="no such profile.*hunyuan"):
        get_profile("gpt-9")


def test_hunyuan_prompts_are_its_published_templates():
    p = get_profile("hunyuan")
    plain = build_prompt(p, SRC)
    assert plain.messages == [{"role": "user", "content":
                               "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n" + SRC}]
    terms = build_prompt(p, SRC, terms=[("印太", "Indo-Pacific")]).text
    assert terms == ("参考下面的翻译：\n印太 翻译成 Indo-Pacific\n\n"
                     "将以下文本翻译为英语，注意只需要输出翻译后的结果，不要额外解释：\n\n" + SRC)
    context = build_prompt(p, SRC, context=["前一句。"]).text
    assert context == ("前一句。\n参考上面的信息，把下面的文本翻译成英语，注意不需要翻译上文，"
                       "也不要额外解释：\n" + SRC)
    refs = build_prompt(p, SRC, references=[("印太战略很重要。", "The Indo-Pacific Strategy "
                                             "matters.")]).text
    assert refs.startswith("参考下面的翻译：\n印太战略很重要。 翻译成 The Indo-Pacific Strategy")


def test_qwen_switches_thinking_off_and_completion_is_a_prompt():
    q = build_prompt(get_profile("qwen"), SRC)
    assert q.messages[-1]["content"].endswith("/no_think")
    assert get_profile("qwen").extra_body == {"chat_template_kwargs": {"enable_thinking": False}}
    c = build_prompt(get_profile("completion"), SRC, terms=[("印太", "Indo-Pacific")])
    assert c.messages is None and c.prompt.endswith("English:") and "\n" in c.stop
    assert "印太 = Indo-Pacific" in c.prompt


def test_stressed_terms_and_braces_in_text():
    p = get_profile("chat")
    plain = build_prompt(p, "{x}印太。", terms=[("印太", "Indo-{Pacific}")]).text
    stressed = build_prompt(p, "{x}印太。", terms=[("印太", "Indo-{Pacific}")],
                            stressed=True).text
    assert "- 印太 → Indo-{Pacific}" in plain and "MUST" in stressed and "{x}印太。" in plain


def test_batch_prompt_asks_for_exactly_n_items():
    req = build_batch_prompt(get_profile("chat"), ["一。", "二。", "三。"])
    assert req.schema == {"type": "array", "items": {"type": "string"}, "minItems": 3,
                          "maxItems": 3}
    assert '["一。", "二。", "三。"]' in req.text and "exactly 3" in req.text


def test_settings_from_strings():
    from zhen.settings import LlmOptions

    o = LlmOptions.from_mapping({"context-sentences": "0", "backoff": "0.1"})
    assert o.context_sentences == 0 and o.backoff == 0.1
    with pytest.raises(ValueError, match="no such setting"):
        LlmOptions.from_mapping({"beam": "2"})
    with pytest.raises(ValueError, match="out of range"):
        LlmOptions.from_mapping({"batch_sentences": "0"})


def test_a_password_in_the_url_is_never_shown():
    from zhen.engines.llm.client import shown_url

    assert shown_url("http://me:sekrit@127.0.0.1:8080/v1") == "http://me:***@127.0.0.1:8080/v1"
    assert shown_url("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
