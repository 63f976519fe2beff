"""Incremental to the sentence: each distinct sentence decoded at most once per run, a
glossary change retranslating only the sentences it affects, and progress that counts
finished sentences (enforcement included)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import REPO, run_zhen
from zhen.segment import segment_sentences
from zhen.terminology.glossary import load_glossary
from zhen.terminology.matcher import TermMatcher, match_terms

ARTICLE = REPO / "tests" / "data" / "unseen-article.txt"
SUMMARY = re.compile(r"(?P<sentences>\d+) sentences, \d+ from human translations, "
                     r"(?P<memory>\d+) from memory, (?P<decoded>\d+) decoded, "
                     r"decoder calls: (?P<calls>\d+)")


def numbers(stderr: str) -> dict[str, int]:
    match = SUMMARY.search(stderr)
    assert match, stderr
    return {k: int(v) for k, v in match.groupdict().items()}


def distinct_sentences(path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {s for line in text.splitlines() if line.strip() for s in segment_sentences(line)}


@pytest.fixture
def work(tmp_path, tiny_model, zhen_env):
    glossary = tmp_path / "terms.tsv"
    shutil.copy(REPO / "glossary" / "terms.tsv", glossary)
    (tmp_path / "in").mkdir()
    return tmp_path, tiny_model, zhen_env, glossary


def translate(work, *inputs, extra=()):
    tmp, model, env, glossary = work
    res = run_zhen(["translate", *inputs, "-o", tmp / "out", "--model", model,
                    "--glossary", glossary, *extra], env, cwd=tmp)
    assert res.returncode == 0, res.stderr
    return numbers(res.stderr)


@pytest.mark.parametrize("memory", ["memory", "no-memory"])
def test_copies_of_an_article_decode_as_much_as_one(work, memory):
    tmp, *_ = work
    for n in range(6):
        shutil.copy(ARTICLE, tmp / "in" / f"copy{n}.txt")
    extra = ["--no-memory"] if memory == "no-memory" else []
    counts = translate(work, *sorted((tmp / "in").glob("*.txt")), extra=extra)
    distinct = len(distinct_sentences(ARTICLE))
    assert counts["decoded"] == distinct
    assert counts["sentences"] == 6 * sum(1 for line in ARTICLE.read_text("utf-8").splitlines()
                                          for _ in segment_sentences(line) if line.strip())
    first, *others = sorted((tmp / "out").glob("*.tei.xml"))
    english = re.compile(rb'<div type="translation".*?</div>', re.S)
    for other in others:  # every copy got the same English, terms and statuses
        assert english.search(other.read_bytes())[0] == english.search(first.read_bytes())[0]


def test_a_new_glossary_entry_retranslates_only_the_sentences_it_matches(work):
    tmp, _model, env, glossary = work
    shutil.copy(ARTICLE, tmp / "in" / "a.txt")
    first = translate(work, tmp / "in" / "a.txt")
    assert first["decoded"] > 0

    before = TermMatcher.from_glossary(load_glossary(glossary))
    res = run_zhen(["glossary", "add", "能源", "energy", "--glossary", glossary], env)
    assert res.returncode == 0, res.stderr
    after = TermMatcher.from_glossary(load_glossary(glossary))

    def signature(matcher, s):
        return [(m.term_id, m.start, m.end) for m in match_terms(matcher, s)]

    affected = {s for s in distinct_sentences(ARTICLE)
                if signature(before, s) != signature(after, s)}
    assert 0 < len(affected) < len(distinct_sentences(ARTICLE))
    second = translate(work, tmp / "in" / "a.txt", extra=["--update"])
    assert second["decoded"] == len(affected)
    assert second["memory"] == second["sentences"] - len(affected)


def test_progress_counts_each_sentence_once_and_ends_with_the_work(tmp_path, tiny_model):
    """Progress moves as sentences are finished, glossary enforcement rounds included: the
    counts add up to the sentences, and the last one comes after the last decoder call."""
    from zhen.batch.paragraphs import make_paragraph
    from zhen.batch.runner import BatchTranslator
    from zhen.settings import DecodingOptions

    batch = BatchTranslator(REPO / "glossary" / "terms.tsv", str(tiny_model),
                            DecodingOptions(threads=1))
    paragraphs = [make_paragraph(n, line, batch.matcher) for n, line in
                  enumerate(ARTICLE.read_text("utf-8").splitlines(), 1) if line.strip()]
    sentences = [s for p in paragraphs for s in p.sentences]
    sentences += [type(s)(s.id + "x", s.zh, terms=[type(o)(o.term_id, o.start, o.end)
                                                     for o in s.terms]) for s in sentences[:3]]
    calls = []
    batch.translate_sentences(sentences, lambda n: calls.append(
        (n, batch.decoder.decoder_calls)))
    assert sum(n for n, _ in calls) == len(sentences)
    assert calls[-1][1] == batch.decoder.decoder_calls
    assert any(s.terms for s in sentences)  # enforcement took part
    assert all(s.en is not None for s in sentences)


def test_output_file_and_standard_input(work):
    import subprocess
    import sys

    tmp, model, env, glossary = work
    shutil.copy(ARTICLE, tmp / "in" / "a.txt")
    shutil.copy(ARTICLE, tmp / "in" / "b.txt")
    res = run_zhen(["translate", "in/a.txt", "-o", "one.tei.xml", "--model", model,
                    "--glossary", glossary], env, cwd=tmp)
    assert res.returncode == 0, res.stderr
    assert (tmp / "one.tei.xml").is_file() and not (tmp / "one.tei.xml").is_dir()
    res = run_zhen(["translate", "in/a.txt", "in/b.txt", "-o", "two.tei.xml", "--model", model,
                    "--glossary", glossary], env, cwd=tmp)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "zhen: error: two.tei.xml: an output file takes one input, not 2; give a folder with "
        "-o for several"]
    assert not (tmp / "two.tei.xml").exists()
    piped = subprocess.run(
        [sys.executable, "-m", "zhen", "translate", "-", "-o", "piped", "--model",
         str(model), "--glossary", str(glossary)],
        input="今天天气很好。\n".encode(), env=env, cwd=tmp, capture_output=True)
    assert piped.returncode == 0, piped.stderr
    assert "今天天气很好。" in (tmp / "piped" / "stdin.tei.xml").read_text(encoding="utf-8")
