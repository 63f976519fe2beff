"""What a new user tripped over (issue 14, point 5), each as the user met it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_zhen, scratch_project
from test_make import make, summary
from zhen.document import Term, TermKind
from zhen.errors import OutputError
from zhen.exports.parallel import export_moses
from zhen.exports.vrt import export_vrt
from zhen.tei.validate import validate_files
from zhen.terminology.entries import new_id
from zhen.terminology.glossary import add_term

ARTICLE = REPO / "tests" / "data" / "unseen-article.txt"
SHORT = REPO / "input" / "us-alliance-burden.txt"
ODD_NAMES = ["my file.txt", "it's \"quoted\".txt", "中文 文章.txt"]


@pytest.fixture
def project(tmp_path):
    """A scratch copy of the project with inputs whose names have spaces, quotes, Chinese."""
    scratch_project(tmp_path)
    (tmp_path / "input").mkdir()
    for name in ODD_NAMES:
        shutil.copy(SHORT, tmp_path / "input" / name)
    shutil.copy(ARTICLE, tmp_path / "input")
    return tmp_path


def outputs(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "output").glob("*.tei.xml"))


def expected(project: Path) -> list[str]:
    return sorted(p.stem + ".tei.xml" for p in (project / "input").glob("*.txt"))


def edit_one_sentence(path: Path, english: str) -> None:
    """A person's correction of the first English sentence of the second paragraph."""
    data, n = re.subn(r'(<s xml:id="en\.p2\.s1"[^>]*>).*?(</s>)', rf"\g<1>{english}\g<2>",
                      path.read_text(encoding="utf-8"), count=1)
    assert n == 1
    path.write_text(data, encoding="utf-8")


# -- 1. make and file names -----------------------------------------------------------------


def test_make_takes_names_with_spaces_quotes_and_chinese(project, tiny_model, zhen_env):
    first = make(project, tiny_model, zhen_env, "-j2")
    assert first.returncode == 0, first.stderr
    assert outputs(project) == expected(project) and len(expected(project)) == 4
    assert validate_files(sorted((project / "output").glob("*.tei.xml")), schema=False) == []
    assert summary(first)[:2] == (4, 0)
    assert summary(make(project, tiny_model, zhen_env)) == (0, 4, 0)  # incremental

    one = project / "output" / "it's \"quoted\".tei.xml"  # a single-file target
    one.unlink()
    single = make(project, tiny_model, zhen_env, str(one.relative_to(project)))
    assert single.returncode == 0, single.stderr
    assert one.exists() and outputs(project) == expected(project)

    (project / "input" / "broken file.txt").write_bytes(bytes(range(256)) * 4)
    going = make(project, tiny_model, zhen_env, "-k")
    assert going.returncode != 0 and "broken file.txt" in going.stderr
    assert outputs(project) == sorted(set(expected(project)) - {"broken file.tei.xml"})


def test_translate_expands_a_folder_to_its_input_files(tmp_path, tiny_model, zhen_env):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SHORT, folder / "b c.txt")
    shutil.copy(SHORT, folder / "a.txt")
    (folder / ".hidden.txt").write_text("隐藏。\n", encoding="utf-8")
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "sub.txt").mkdir()  # a folder is not an input file, whatever its name
    res = run_zhen(["translate", folder, "-o", tmp_path / "out", "--model", tiny_model],
                   zhen_env)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tei.xml")) == [
        "a.tei.xml", "b c.tei.xml"]
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_zhen(["translate", empty, "--model", tiny_model], zhen_env)
    assert res.returncode != 0 and res.stderr.count("\n") == 1 and "no input file" in res.stderr


# -- 2. the glossary is found from any folder --------------------------------------------------


def test_glossary_is_found_from_a_subfolder_by_env_or_not_at_all(tmp_path, zhen_env):
    zhen_env.pop("ZHEN_GLOSSARY", None)
    project = tmp_path / "project"
    shutil.copytree(REPO / "glossary", project / "glossary")
    deep = project / "input" / "2026"
    deep.mkdir(parents=True)
    found = run_zhen(["glossary", "list", "--grep", "印太"], zhen_env, cwd=deep)
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("indo-pacific\t印太")
    coverage = run_zhen(["glossary", "coverage", SHORT], zhen_env, cwd=deep)
    assert coverage.returncode == 0, coverage.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    missing = run_zhen(["glossary", "list"], zhen_env, cwd=elsewhere)
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1
    assert "--glossary" in missing.stderr and "ZHEN_GLOSSARY" in missing.stderr
    assert "Traceback" not in missing.stderr

    other = tmp_path / "other.tsv"
    other.write_text("id\tzh\ten\tkind\tvariants\tnote\nx-term\t某词\tsome word\tterm\t\t\n",
                     encoding="utf-8")
    by_env = run_zhen(["glossary", "list"], dict(zhen_env, ZHEN_GLOSSARY=str(other)),
                      cwd=deep)
    assert by_env.stdout.startswith("x-term\t某词")
    by_option = run_zhen(["glossary", "list", "--glossary", project / "glossary" / "terms.tsv"],
                         dict(zhen_env, ZHEN_GLOSSARY=str(other)), cwd=elsewhere)
    assert "indo-pacific\t印太" in by_option.stdout

    gone = run_zhen(["glossary", "list", "--glossary", tmp_path / "nope.tsv"], zhen_env)
    assert gone.returncode != 0 and "--glossary" in gone.stderr and "ZHEN_GLOSSARY" in gone.stderr


# -- 3. outputs whose input is gone -------------------------------------------------------------


def test_make_reports_prunes_and_leaves_out_outputs_whose_input_is_gone(project, tiny_model,
                                                                          zhen_env):
    from zhen.memory.sqlite import SqliteMemory

    assert make(project, tiny_model, zhen_env).returncode == 0
    stale = project / "output" / "my file.tei.xml"
    edit_one_sentence(stale, "A person's English.")
    (project / "input" / "my file.txt").unlink()

    again = make(project, tiny_model, zhen_env)
    assert again.returncode == 0, again.stderr
    assert "output/my file.tei.xml: its source my file.txt is no longer in input/" in again.stderr
    assert stale.exists()  # reported, not removed

    corpus = make(project, tiny_model, zhen_env, "corpus")
    assert corpus.returncode == 0, corpus.stderr
    assert "left out 1 output(s)" in corpus.stderr
    text = (project / "output" / "corpus.xml").read_text(encoding="utf-8")
    assert text.count("<TEI ") == 3 and 'xml:id="my' not in text

    pruned = make(project, tiny_model, zhen_env, "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "removed output/my file.tei.xml" in pruned.stdout
    assert not stale.exists()
    assert outputs(project) == expected(project)
    memory = SqliteMemory(Path(zhen_env["ZHEN_MEMORY"]))
    try:
        assert "A person's English." in [h.target for h in memory.human_entries()]
    finally:
        memory.close()
    assert make(project, tiny_model, zhen_env).stderr.count("no longer in") == 0


def test_prune_removes_nothing_when_the_memory_cannot_take_the_translations(
        project, tiny_model, zhen_env):
    assert make(project, tiny_model, zhen_env).returncode == 0
    (project / "input" / "my file.txt").unlink()
    (project / "input" / "中文 文章.txt").unlink()
    broken = project / "output" / "中文 文章.tei.xml"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text[:text.index("</teiHeader>") + 200], encoding="utf-8")  # cut short
    refused = make(project, tiny_model, zhen_env, "prune")
    assert refused.returncode != 0 and "nothing was removed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (project / "output" / "my file.tei.xml").exists() and broken.exists()

    broken.write_text(text[:200], encoding="utf-8")  # not even a header: whose is it?
    pruned = make(project, tiny_model, zhen_env, "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "cannot tell its source, left alone" in pruned.stderr
    assert broken.exists() and not (project / "output" / "my file.tei.xml").exists()


# -- 4. -o does the obvious thing or refuses ---------------------------------------------------


@pytest.fixture(scope="module")
def teis(tmp_path_factory, tiny_model):
    import os

    from zhen.tei.schema import schema_cache_dir

    tmp = tmp_path_factory.mktemp("teis")
    env = dict(os.environ, ZHEN_CACHE_DIR=str(tmp / "cache"), ZHEN_MEMORY=str(tmp / "tm.db"),
               ZHEN_SCHEMA_DIR=str(schema_cache_dir()))
    res = run_zhen(["translate", ARTICLE, SHORT, "-o", tmp / "out", "--model", tiny_model], env)
    assert res.returncode == 0, res.stderr
    return env, sorted((tmp / "out").glob("*.tei.xml"))


def test_moses_into_a_folder_writes_inside_it(teis, tmp_path, monkeypatch):
    env, files = teis
    monkeypatch.chdir(tmp_path)
    res = run_zhen(["export", "moses", *files, "-o", "mdir/"], env, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "mdir").iterdir()) == ["zhen.en", "zhen.zh"]
    assert not list(tmp_path.glob("mdir.*"))
    (tmp_path / "existing").mkdir()
    written = export_moses(files, tmp_path / "existing", "corpus")
    assert [p.name for p in written] == ["corpus.zh", "corpus.en"]
    assert export_moses(files, tmp_path / "train")[0] == tmp_path / "train.zh"  # a prefix


def test_vrt_to_a_file_name_is_refused_in_one_line(teis, tmp_path):
    env, files = teis
    res = run_zhen(["export", "vrt", *files, "-o", tmp_path / "v.vrt"], env)
    assert res.returncode != 0 and res.stderr.count("\n") == 1 and "folder" in res.stderr
    assert not (tmp_path / "v.vrt").exists()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="writes a folder"):
        export_vrt(files, tmp_path / "file", "zhen")


def test_view_of_several_files_writes_one_page_each_into_a_folder(teis, tmp_path):
    env, files = teis
    res = run_zhen(["view", *files, "-o", tmp_path / "html", "--no-memory"], env)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == sorted(
        f.name.removesuffix(".tei.xml") + ".html" for f in files)
    one = run_zhen(["view", files[0], "-o", f"{tmp_path / 'one'}/", "--no-memory"], env)
    assert one.returncode == 0, one.stderr
    assert [p.name for p in (tmp_path / "one").iterdir()] == [
        files[0].name.removesuffix(".tei.xml") + ".html"]
    page = run_zhen(["view", files[0], "-o", tmp_path / "page.html", "--no-memory"], env)
    assert page.returncode == 0 and (tmp_path / "page.html").is_file()
    bad = run_zhen(["view", *files, "-o", tmp_path / "all.html", "--no-memory"], env)
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "folder" in bad.stderr
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(files[0], copy / files[0].name)
    same = run_zhen(["view", files[0], copy / files[0].name, "-o", tmp_path / "twice",
                     "--no-memory"], env)
    assert same.returncode != 0 and "two folders" in same.stderr


# -- 5. error messages that blame the right thing, once -----------------------------------------


def test_unsupported_compute_type_is_named_before_any_work(tmp_path, tiny_model, zhen_env):
    import ctranslate2

    if "float16" in ctranslate2.get_supported_compute_types("cpu"):
        pytest.skip("this CPU supports float16")
    res = run_zhen(["translate", SHORT, "-o", tmp_path / "out", "--model", tiny_model,
                    "--compute-type", "float16"], zhen_env)
    assert res.returncode != 0 and res.stderr.count("\n") == 1, res.stderr
    assert "--compute-type float16: not supported" in res.stderr
    assert "reinstall" not in res.stderr and "int8" in res.stderr
    assert not (tmp_path / "out").exists()
    auto = run_zhen(["translate", SHORT, "-o", tmp_path / "out", "--model", tiny_model,
                     "--compute-type", "auto", "--no-memory"], zhen_env)
    assert auto.returncode == 0, auto.stderr


def test_glossary_add_names_the_real_line_of_the_clash(tmp_path):
    g = tmp_path / "terms.tsv"
    shutil.copy(REPO / "glossary" / "terms.tsv", g)
    line = next(n for n, row in enumerate(g.read_text(encoding="utf-8").splitlines(), 1)
                if row.startswith("indo-pacific\t"))
    from zhen.errors import GlossaryError

    with pytest.raises(GlossaryError) as info:
        add_term(g, "印太", "Asia Pacific")
    assert f"indo-pacific (line {line}, as '印太')" in str(info.value)
    assert "line 0" not in str(info.value)


def test_validate_of_a_missing_file_says_so_once(tmp_path, zhen_env):
    res = run_zhen(["validate", "missing.xml"], zhen_env, cwd=tmp_path)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stdout == "missing.xml: no such file\n"
    assert res.stderr == "zhen: 0 of 1 file(s) valid, 1 problem(s)\n"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (" \n\t\u3000\r\n".encode(), "the file has only white space"),
    ("美日同盟的新黄金时代。\n最近一年GDP增长1.8%。\n".encode("utf-16-le"),
     "looks like UTF-16 without a byte-order mark: save it as UTF-8 (or UTF-16 with a BOM)"),
    ("美日同盟的新黄金时代。\n".encode("utf-16-be"), "looks like UTF-16 without a byte-order"),
], ids=["empty", "white-space", "utf16-le", "utf16-be"])
def test_an_unreadable_input_is_named_for_what_it_is(tmp_path, tiny_model, zhen_env, data,
                                                     message):
    path = tmp_path / "in.txt"
    path.write_bytes(data)
    res = run_zhen(["translate", path, "-o", tmp_path / "out", "--model", tiny_model,
                    "--no-memory"], zhen_env)
    assert res.returncode != 0 and res.stderr.count("\n") == 1, res.stderr
    assert message in res.stderr and "binary" not in res.stderr


# -- 6. readable ids -------------------------------------------------------------------------


def test_glossary_add_makes_readable_ids(tmp_path, zhen_env):
    g = tmp_path / "terms.tsv"
    shutil.copy(REPO / "glossary" / "terms.tsv", g)
    added = run_zhen(["glossary", "add", "CPTPP", "--keep", "--glossary", g], zhen_env)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added cptpp: CPTPP → CPTPP")
    assert add_term(g, "五眼", "", kind=TermKind.KEEP).id == "keep-1"
    assert add_term(g, "四方", "", kind=TermKind.KEEP).id == "keep-2"
    assert add_term(g, "ＲＣＥＰ", "", kind=TermKind.KEEP).id == "rcep"  # full width
    assert add_term(g, "关键矿产", "critical minerals").id == "critical-minerals"
    assert add_term(g, "东盟", "ASEAN", kind=TermKind.KEEP).id == "asean"  # Han zh: from en


def test_new_id_rules():
    keep, term = TermKind.KEEP, TermKind.TERM
    assert new_id(Term("", "G7", "", (), keep), set()) == "g7"
    assert new_id(Term("", "5G", "", (), keep), set()) == "t-5g"
    assert new_id(Term("", "CPTPP", "", (), keep), {"cptpp"}) == "cptpp-2"
    assert new_id(Term("", "稀土", "rare earths", (), term), set()) == "rare-earths"
    assert new_id(Term("", "破折号", "——", (), term), {"term-1"}) == "term-2"
    assert new_id(Term("", "五眼", "", (), keep), {"keep-1", "keep-3"}) == "keep-2"
