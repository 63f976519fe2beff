"""Documents in, as a new user brings them: a saved news page, a Word file made from the
same article, Markdown with front matter, a manifest; all through `zhen translate` (offline),
into valid TEI with the metadata everywhere; every bad input refused with one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_zhen, scratch_project
from lxml import etree
from test_make import make, summary
from test_readers import ARTICLE, BAD_INPUTS, DATA, TITLE, URL, make_docx
from zhen.exports.corpus import build_corpus
from zhen.exports.parallel import export_tmx
from zhen.exports.vrt import export_vrt
from zhen.tei.names import TEI_NS
from zhen.tei.read import read_tei
from zhen.ui.view import render_html

NS = {"t": TEI_NS}


def chinese_side(path: Path) -> list[tuple[str, str]]:
    """(element, text) of every p and head of the Chinese div, in order."""
    root = etree.parse(str(path)).getroot()
    return [(etree.QName(el).localname, "".join(el.itertext())) for el in root.xpath(
        "//t:div[@type='original']//*[self::t:p or self::t:head]", namespaces=NS)]


@pytest.fixture
def documents(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(DATA / "news-page.html", folder / "page.html")
    shutil.copy(DATA / "news-notes.md", folder / "notes.md")
    make_docx(folder / "word.docx")
    (folder / "metadata.csv").write_text(
        "file,publisher,desk\npage.html,东海评论网国际部,国际\n", encoding="utf-8")
    return folder


def test_documents_translate_into_valid_tei_with_their_metadata(documents, tmp_path,
                                                                 tiny_model, zhen_env,
                                                                 tei_validator):
    out = tmp_path / "output"
    run = run_zhen(["translate", documents, "-o", out, "--model", tiny_model],
                   zhen_env, network=False)  # offline: nothing is fetched
    assert run.returncode == 0, run.stderr
    teis = sorted(out.glob("*.tei.xml"))
    assert [p.name for p in teis] == ["notes.tei.xml", "page.tei.xml", "word.tei.xml"]
    tei_validator(*teis)
    expected = [(kind, text) for kind, text, _ in ARTICLE]
    for path in teis:  # the same article, the same Chinese side, whatever the format
        assert chinese_side(path) == expected, path.name
    docs = {p.stem.removesuffix(".tei"): read_tei(p) for p in teis}
    page = docs["page"]
    assert (page.title, page.info.author, page.info.date, page.info.url) == (
        TITLE, "周立", "2025-03-04", URL)
    assert page.info.publisher == "东海评论网国际部"  # the manifest wins over the page
    assert page.info.extra == (("desk", "国际"),)
    assert page.info.title_en  # the title is translated too
    assert docs["word"].info.date == docs["notes"].info.date == "2025-03-04"
    assert docs["notes"].info.publisher == "东海评论网"

    zh_vrt, en_vrt, *_ = export_vrt(teis, tmp_path / "cwb", "docs")
    for vrt in (zh_vrt, en_vrt):
        texts = [line for line in vrt.read_text("utf-8").splitlines()
                 if line.startswith("<text ")]
        assert len(texts) == 3
        assert all('date="2025-03-04"' in t and 'year="2025"' in t for t in texts)
        assert any('publisher="东海评论网国际部"' in t and f'url="{URL}"' in t for t in texts)
    assert '<p id="zh.h2" type="head">' in zh_vrt.read_text("utf-8")

    tmx = export_tmx(teis, tmp_path / "docs.tmx")[0].read_text("utf-8")
    assert '<prop type="x-date">2025-03-04</prop>' in tmx
    corpus = build_corpus(teis, tmp_path / "corpus.xml")[0]
    tei_validator(corpus)
    assert corpus.read_text("utf-8").count('<date when="2025-03-04">') >= 6  # header + members
    html = render_html(page)
    assert "东海评论网国际部" in html and "2025-03-04" in html and 'class="para head"' in html


def test_update_rebuilds_when_the_metadata_changes(documents, tmp_path, tiny_model, zhen_env):
    out = tmp_path / "output"
    args = ["translate", "--update", documents, "-o", out, "--model", tiny_model]
    assert run_zhen(args, zhen_env).returncode == 0
    again = run_zhen(args, zhen_env)
    assert "0 file(s) written" in again.stderr and "3 up to date" in again.stderr
    (documents / "metadata.csv").write_text(
        "file,publisher\npage.html,东海日报\n", encoding="utf-8")
    (documents / "word.meta.json").write_text('{"date": "2025年3月5日"}', encoding="utf-8")
    changed = run_zhen(args, zhen_env)
    assert "2 file(s) written" in changed.stderr and "1 up to date" in changed.stderr
    assert read_tei(out / "page.tei.xml").info.publisher == "东海日报"
    assert read_tei(out / "word.tei.xml").info.date == "2025-03-05"


def test_bad_inputs_are_refused_one_line_each_and_the_rest_translated(tmp_path, tiny_model,
                                                                       zhen_env):
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(DATA / "news-page.html", folder / "good.html")
    docx = make_docx(tmp_path / "model.docx").read_bytes()
    for name, (build, _) in BAD_INPUTS.items():
        (folder / name).write_bytes(build(docx))
    (folder / "bad-row.txt").write_text("正文。\n", encoding="utf-8")
    (folder / "metadata.csv").write_text(
        "file,date\ngone.html,2025-01-01\nbad-row.txt,2025-02-30\n", encoding="utf-8")
    out = tmp_path / "output"
    run = run_zhen(["translate", "-k", folder, "-o", out, "--model", tiny_model], zhen_env)
    assert run.returncode == 1
    assert [p.name for p in out.glob("*")] == ["good.tei.xml"]  # nothing half-written
    errors = [line for line in run.stderr.splitlines() if line.startswith("zhen: ERROR: ")]
    named = {name for name in [*BAD_INPUTS, "bad-row.txt", "gone.html"]
             if any(name in line for line in errors)}
    assert named == {*BAD_INPUTS, "bad-row.txt", "gone.html"}
    assert len(errors) == len(BAD_INPUTS) + 2
    assert "Traceback" not in run.stderr

    stopped = run_zhen(["translate", folder, "-o", tmp_path / "o2", "--model", tiny_model],
                       zhen_env)  # without -k: the manifest's missing file stops it first
    assert stopped.returncode == 1 and "gone.html, which is not in" in stopped.stderr
    assert not (tmp_path / "o2").exists() or not list((tmp_path / "o2").iterdir())


def test_make_translates_every_format_in_input_incrementally(documents, tmp_path, tiny_model,
                                                               zhen_env):
    project = scratch_project(tmp_path / "project")
    shutil.copytree(documents, project / "input")
    first = make(project, tiny_model, zhen_env)
    assert first.returncode == 0, first.stderr
    assert summary(first)[:2] == (3, 0)
    assert sorted(p.name for p in (project / "output").glob("*.tei.xml")) == [
        "notes.tei.xml", "page.tei.xml", "word.tei.xml"]
    assert summary(make(project, tiny_model, zhen_env)) == (0, 3, 0)
    one = make(project, tiny_model, zhen_env, "output/word.tei.xml")
    assert one.returncode == 0 and "input/word.docx" in one.stdout
