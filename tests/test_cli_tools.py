"""The maintenance and consumption commands as a user runs them, on real files."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO, run_zhen
from zhen.tei.read import read_tei

ARTICLE = REPO / "tests" / "data" / "unseen-article.txt"

BROKEN_GLOSSARY = (
    "id\tzh\ten\tkind\tvariants\tnote\n"  # line 1
    "alpha\t印太\tIndo-Pacific\tterm\t\t\n"  # 2: fine
    "alpha\t稀土\trare earths\tterm\t\t\n"  # 3: duplicate id
    "beta\t印太\tAsia-Pacific\tterm\t\t\n"  # 4: same Chinese form, other rendering
    "gamma\t全球南方\t\tterm\t\t\n"  # 5: empty English
    "delta\t拜登\tBiden\tterm\t拜登\t\n"  # 6: variant equal to its term
    "epsilon\t特朗普\u200b\tTrump\tterm\t\t\n"  # 7: invisible character
    "zeta\t美国优先\tAmerica First\n"  # 8: malformed row
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tiny_model):
    """Two articles translated with the tiny model (the unseen one and a sample)."""
    import os

    from zhen.tei.schema import schema_cache_dir

    tmp = tmp_path_factory.mktemp("corpus")
    env = dict(os.environ, ZHEN_CACHE_DIR=str(tmp / "cache"), ZHEN_MEMORY=str(tmp / "tm.db"),
               ZHEN_SCHEMA_DIR=str(schema_cache_dir()))
    inputs = [ARTICLE, REPO / "input" / "us-alliance-burden.txt"]
    res = run_zhen(["translate", *inputs, "-o", tmp / "out", "--model", tiny_model], env)
    assert res.returncode == 0, res.stderr
    return tmp, env, sorted((tmp / "out").glob("*.tei.xml"))


def test_lint_finds_each_seeded_error_with_its_line(tmp_path, zhen_env):
    bad = tmp_path / "broken.tsv"
    bad.write_text(BROKEN_GLOSSARY, encoding="utf-8")
    res = run_zhen(["glossary", "lint", bad], zhen_env)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    errors = [line for line in res.stdout.splitlines() if ": error: " in line]
    lines = {int(line.split(":")[1]) for line in errors}
    assert {3, 4, 5, 6, 7, 8} <= lines
    assert 2 not in lines


def test_lint_is_clean_on_the_shipped_glossary(zhen_env):
    res = run_zhen(["glossary", "lint"], zhen_env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ": error: " not in res.stdout


def test_add_list_remove_keep_the_file_sorted_and_refuse_bad_adds(tmp_path, zhen_env):
    g = tmp_path / "terms.tsv"
    shutil.copy(REPO / "glossary" / "terms.tsv", g)
    ok = run_zhen(["glossary", "add", "关键矿产", "critical minerals", "--glossary", g], zhen_env)
    assert ok.returncode == 0, ok.stderr
    rows = g.read_text(encoding="utf-8").splitlines()[1:]
    assert rows == sorted(rows) and any(r.startswith("critical-minerals\t关键矿产") for r in rows)
    listed = run_zhen(["glossary", "list", "--grep", "矿产", "--glossary", g], zhen_env)
    assert listed.stdout.startswith("critical-minerals\t关键矿产\tcritical minerals")
    dup = run_zhen(["glossary", "add", "印太", "Asia-Pacific", "--glossary", g], zhen_env)
    assert dup.returncode != 0 and dup.stderr.count("\n") == 1
    gone = run_zhen(["glossary", "remove", "critical-minerals", "--glossary", g], zhen_env)
    assert gone.returncode == 0
    assert g.read_bytes() == (REPO / "glossary" / "terms.tsv").read_bytes()


def test_tbx_export_import_round_trip_and_other_tool_import(tmp_path, zhen_env):
    g = tmp_path / "terms.tsv"
    shutil.copy(REPO / "glossary" / "terms.tsv", g)
    tbx = tmp_path / "out.tbx"
    assert run_zhen(["glossary", "export", tbx, "--glossary", g], zhen_env).returncode == 0
    empty = tmp_path / "empty.tsv"
    empty.write_text("id\tzh\ten\tkind\tvariants\tnote\n", encoding="utf-8")
    res = run_zhen(["glossary", "import", tbx, "--glossary", empty], zhen_env)
    assert res.returncode == 0, res.stderr
    assert empty.read_bytes() == g.read_bytes()
    other = run_zhen(["glossary", "import", REPO / "tests" / "data" / "other-tool.tbx",
                      "--glossary", g], zhen_env)
    assert other.returncode == 0 and "added " in other.stdout, other.stderr


def test_hostile_tbx_is_refused_cleanly(tmp_path, zhen_env):
    evil = tmp_path / "evil.tbx"
    evil.write_text('<?xml version="1.0"?>\n<!DOCTYPE tbx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<tbx xmlns="urn:iso:std:iso:30042:ed-2"><text><body>&x;</body></text></tbx>',
                    encoding="utf-8")
    res = run_zhen(["glossary", "import", evil, "--glossary", tmp_path / "g.tsv"], zhen_env)
    assert res.returncode != 0 and "Traceback" not in res.stderr and "root:" not in res.stdout


def test_coverage_reports_full_compliance_with_the_tiny_model(corpus):
    _tmp, env, teis = corpus
    res = run_zhen(["glossary", "coverage", *teis], env)
    assert res.returncode == 0, res.stderr
    assert "compliance:" in res.stdout and "(100.0%)" in res.stdout
    assert "never seen:" in res.stdout
    rare = next(line for line in res.stdout.splitlines() if line.startswith("rare-earths\t"))
    assert rare.split("\t")[3] == rare.split("\t")[6]  # occurrences == compliant


def test_coverage_counts_an_input_given_with_its_tei_once(corpus):
    _tmp, env, teis = corpus
    alone = run_zhen(["glossary", "coverage", *teis], env)
    both = run_zhen(["glossary", "coverage", ARTICLE, *teis], env)
    assert both.returncode == 0, both.stderr
    assert both.stdout == alone.stdout
    with_text = run_zhen(["glossary", "coverage", ARTICLE], env)
    rare = next(ln for ln in with_text.stdout.splitlines() if ln.startswith("rare-earths\t"))
    assert int(rare.split("\t")[3]) > 0


@pytest.mark.slow  # jieba's POS dictionary loads in seconds
@pytest.mark.xdist_group("jieba")  # with test_suggest.py: jieba loads once
def test_suggest_lists_real_candidates_with_contexts(zhen_env):
    res = run_zhen(["glossary", "suggest", ARTICLE, "--limit", "15"], zhen_env)
    assert res.returncode == 0, res.stderr
    rows = res.stdout.splitlines()[1:]
    candidates = [r.split("\t")[3] for r in rows]
    assert "关键矿产" in candidates and "稀土" not in candidates  # known terms are excluded
    assert all("【" in r and "】" in r for r in rows)


def test_validate_passes_good_output_and_names_the_broken_spot(corpus, tmp_path):
    _tmp, env, teis = corpus
    good = run_zhen(["validate", *teis], env)
    assert good.returncode == 0, good.stdout + good.stderr
    damaged = tmp_path / "damaged.tei.xml"
    text = teis[0].read_text(encoding="utf-8")
    damaged.write_text(text.replace('corresp="#zh.p2.s1"', 'corresp="#zh.p99.s1"', 1),
                       encoding="utf-8")
    bad = run_zhen(["validate", damaged], env)
    assert bad.returncode != 0
    assert "zh.p99.s1" in bad.stdout and "damaged.tei.xml:" in bad.stdout


def test_exports_and_corpus_from_the_cli(corpus, tmp_path):
    _tmp, env, teis = corpus
    n = sum(len(read_tei(t).sentences()) for t in teis)
    for fmt, out in (("tmx", tmp_path / "c.tmx"), ("moses", tmp_path / "c"),
                     ("vrt", tmp_path / "vrt"), ("cesalign", tmp_path / "ces" / "c.xml")):
        res = run_zhen(["export", fmt, *teis, "-o", out], env)
        assert res.returncode == 0, (fmt, res.stderr)
    assert len((tmp_path / "c.zh").read_text(encoding="utf-8").splitlines()) == n
    corpus_file = tmp_path / "corpus.xml"
    res = run_zhen(["corpus", teis[0].parent, "-o", corpus_file], env)
    assert res.returncode == 0, res.stderr
    assert run_zhen(["validate", corpus_file], env).returncode == 0


def test_view_writes_a_page(corpus, tmp_path):
    _tmp, env, teis = corpus
    res = run_zhen(["view", teis[0], "-o", tmp_path / "page.html"], env)
    assert res.returncode == 0, res.stderr
    assert "<mark" in (tmp_path / "page.html").read_text(encoding="utf-8")


def test_cache_stats_and_clear(corpus):
    _tmp, env, _teis = corpus
    stats = run_zhen(["cache", "stats"], env)
    assert stats.returncode == 0 and " 0 machine translations" not in stats.stdout
    cleared = run_zhen(["cache", "clear"], env)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert " 0 machine translations" in run_zhen(["memory", "stats"], env).stdout


def test_translate_option_defaults_are_the_library_defaults():
    from zhen.cli.translate import translate
    from zhen.settings import DecodingOptions

    cli_defaults = {p.name: p.default for p in translate.params}
    library = DecodingOptions()
    for name in ("beam_size", "num_hypotheses", "batch_size", "batch_type", "threads",
                 "compute_type", "max_length_ratio"):
        assert cli_defaults[name] == getattr(library, name), name
