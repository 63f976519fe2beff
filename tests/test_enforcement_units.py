"""Units of the translation stage that need no model: rendering search and the runaway guard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from zhen.document import Sentence, Term, TermKind, TermMatch, TermStatus
from zhen.engines.engine import trim_repetition
from zhen.terminology.renderings import allocate_renderings, find_renderings, locate_renderings

TERMS = {
    "indo-pacific": Term("indo-pacific", "印太", "Indo-Pacific"),
    "indo-pacific-strategy": Term("indo-pacific-strategy", "印太战略", "Indo-Pacific Strategy"),
    "burden-sharing": Term("burden-sharing", "责任分担", "burden sharing"),
    "gdp": Term("gdp", "GDP", "", kind=TermKind.KEEP),
}


def test_rendering_ignores_case_and_articles():
    assert find_renderings("The Indo-Pacific matters", "the Indo-Pacific") == [(4, 16)]
    assert find_renderings("BURDEN SHARING and burden sharing", "burden sharing") == [(0, 14), (19, 33)]


def test_rendering_respects_word_boundaries():
    assert find_renderings("TrumpTower", "Trump") == []
    assert find_renderings("Trump's plan", "Trump") == [(0, 5)]


def test_keep_entry_renders_as_source():
    assert TERMS["gdp"].rendering == "GDP"


def test_longer_rendering_is_placed_first():
    occ = [TermMatch("indo-pacific", 0, 2), TermMatch("indo-pacific-strategy", 5, 9)]
    text = "the Indo-Pacific Strategy and the Indo-Pacific"
    spans = allocate_renderings(text, occ, TERMS)
    assert spans[1] == (4, 25)  # the strategy keeps its whole span
    assert spans[0] == (34, 46)  # the region takes the other match, not the strategy's


def test_two_occurrences_need_two_renderings():
    occ = [TermMatch("indo-pacific", 0, 2), TermMatch("indo-pacific", 6, 8)]
    assert allocate_renderings("Indo-Pacific only once", occ, TERMS)[1] is None


def test_missing_rendering_is_marked_missed_never_claimed():
    s = Sentence("p1.s1", "印太很重要。", en="The region matters.",
                 terms=[TermMatch("indo-pacific", 0, 2)])
    locate_renderings(s, TERMS, TermStatus.ENFORCED)
    assert s.terms[0].status is TermStatus.MISSED
    assert s.terms[0].en_start is None


def test_rendering_already_in_model_output_is_model():
    s = Sentence("p1.s1", "印太与责任分担。", en="Indo-Pacific and burden sharing.",
                 terms=[TermMatch("indo-pacific", 0, 2), TermMatch("burden-sharing", 3, 7)])
    locate_renderings(s, TERMS, TermStatus.ENFORCED, model_text="Indo-Pacific and costs.")
    assert [o.status for o in s.terms] == [TermStatus.MODEL, TermStatus.ENFORCED]
    assert s.en[s.terms[1].en_start : s.terms[1].en_end] == "burden sharing"


def test_trim_repetition_cuts_runaway_loop():
    toks = ["▁a", "▁b", "▁x", "▁y", "▁x", "▁y", "▁x", "▁y", "▁x", "▁y"]
    assert trim_repetition(toks, 0, 3) == 4  # a b x y
    assert trim_repetition(["▁a", "▁b", "▁c"], 0, 3) == 3


def test_trim_repetition_never_cuts_the_forced_prefix():
    toks = ["▁x"] * 5 + ["▁end"]
    assert trim_repetition(toks, 5, 3) == 6


@given(st.lists(st.sampled_from(["▁a", "▁b", "▁c"]), max_size=40), st.integers(0, 40))
def test_trim_repetition_keeps_prefix_and_is_a_prefix(tokens, protect):
    protect = min(protect, len(tokens))
    cut = trim_repetition(tokens, protect, 3)
    assert protect <= cut <= len(tokens)


def test_split_long_is_lossless_and_bounded():
    from zhen.engines.translator import split_long

    text = "，".join(["这是一个相当长的分句" * 3] * 40) + "。" + "无标点长串" * 200
    chunks = split_long(text, list, 100)  # one piece per character
    assert "".join(chunks) == text
    assert all(len(c) <= 100 for c in chunks)


def test_decoded_english_never_holds_xml_forbidden_characters(tiny_model, tmp_path):
    import zipfile

    from zhen.engines.engine import SentencePieceTokenizer

    with zipfile.ZipFile(tiny_model) as z:
        z.extractall(tmp_path)
    tok = SentencePieceTokenizer(str(next(tmp_path.glob("*/sentencepiece.model"))))
    raw = tok.processor.decode_pieces(["<0x01>", "▁ok", "<0x0B>"])
    assert "\x01" in raw  # the model can emit control bytes…
    clean = tok.decode(["<0x01>", "▁ok", "<0x0B>"])
    assert "ok" in clean and not any(ord(c) < 0x20 for c in clean)  # …the English never does


def test_length_cap_holds_for_the_whole_output_forced_prefix_included(tiny_model, tmp_path,
                                                                      monkeypatch):
    from zhen.engines.registry import load_engine, resolve_model
    from zhen.settings import DecodingOptions

    monkeypatch.setenv("ZHEN_CACHE_DIR", str(tmp_path / "cache"))
    options = DecodingOptions(max_length_ratio=1.0, max_length_extra=2)
    translator = load_engine(resolve_model(str(tiny_model)), options)
    source = translator.pieces("美国总统特朗普表示，美日同盟是印太战略的基石。")
    cap = len(source) + 2
    free = translator.decode([source] * 3, num_hypotheses=2)
    assert all(len(h.tokens) <= cap for hyps in free for h in hyps)
    prefix = (free[0][0].tokens * 3)[: cap - 2]  # nearly the whole cap already forced
    forced = translator.decode([source], [prefix])[0][0].tokens
    assert forced[: len(prefix)] == prefix
    assert len(prefix) < len(forced) <= cap  # not prefix + cap
    longer = translator.decode([source], [prefix], allowances=[5])[0][0].tokens
    assert len(forced) < len(longer) <= cap + 5  # a forced rendering may add its pieces
