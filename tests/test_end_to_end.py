"""End to end, as a user runs it: Chinese text in, valid aligned bilingual TEI out.

The model is a tiny synthetic package (random weights), so the English is noise: these
tests check mechanics, validity, alignment and term handling, never translation quality.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, run_zhen
from lxml import etree
from zhen.readers.text import read_text_file
from zhen.tei.names import TEI_NS
from zhen.tei.read import read_tei
from zhen.terminology.glossary import load_glossary
from zhen.terminology.matcher import TermMatcher, match_terms
from zhen.terminology.renderings import find_renderings

NS = {"t": TEI_NS}
ARTICLE = REPO / "tests" / "data" / "unseen-article.txt"
GLOSSARY = REPO / "glossary" / "terms.tsv"


def needs_unshare():
    if shutil.which("unshare") is None or subprocess.run(
        ["unshare", "-n", "true"], capture_output=True
    ).returncode:
        pytest.skip("cannot create a network namespace here (unshare -n)")


@pytest.fixture
def translated(tmp_path, tiny_model, zhen_env):
    """The unseen article translated with no network at all."""
    needs_unshare()
    out = tmp_path / "out"
    res = run_zhen(["translate", ARTICLE, "-o", out, "--model", tiny_model], zhen_env,
                   network=False)
    assert res.returncode == 0, res.stderr
    return out / "unseen-article.tei.xml", res


def test_offline_translation_writes_valid_tei(translated, tei_validator):
    path, res = translated
    assert path.is_file()
    tei_validator(path)
    assert "Traceback" not in res.stderr


def test_chinese_side_keeps_every_character(translated):
    path, _ = translated
    paragraphs, _ = read_text_file(ARTICLE)
    doc = read_tei(path)
    assert [p.zh for p in doc.paragraphs] == paragraphs


def test_every_chinese_sentence_has_exactly_one_english_partner(translated):
    path, _ = translated
    root = etree.parse(str(path)).getroot()
    zh_ids = root.xpath("//t:div[@xml:lang='zh']//t:s/@xml:id", namespaces=NS)
    corresp = root.xpath("//t:div[@xml:lang='en']//t:s/@corresp", namespaces=NS)
    assert sorted(c.lstrip("#") for c in corresp) == sorted(zh_ids)
    assert len(set(corresp)) == len(corresp)
    links = root.xpath("//t:linkGrp[@type='translation']/t:link", namespaces=NS)
    assert len(links) == len(zh_ids)


def test_every_glossary_term_is_marked_and_enforced(translated):
    path, _ = translated
    glossary = load_glossary(GLOSSARY)
    matcher = TermMatcher.from_glossary(glossary)
    terms = {t.id: t for t in glossary.terms}
    doc = read_tei(path)
    expected = [(s.id, o.term_id, o.start) for s in doc.sentences()
                for o in match_terms(matcher, s.zh)]
    marked = [(s.id, o.term_id, o.start) for s in doc.sentences() for o in s.terms]
    assert expected and marked == expected
    for s in doc.sentences():
        for occ in s.terms:
            # The tiny model never produces a term by itself: every one is enforced,
            # and the rendering is really in the English text where the TEI says.
            assert occ.status.value == "enforced", (s.id, occ)
            assert (occ.en_start, occ.en_end) in find_renderings(s.en, terms[occ.term_id].rendering)


def test_header_is_honest_about_the_synthetic_model(translated):
    path, _ = translated
    xml = path.read_text(encoding="utf-8")
    assert "SYNTHETIC" in xml and "random weights" in xml
    assert read_text_file(ARTICLE)[1].sha256 in xml
    assert load_glossary(GLOSSARY).sha256 in xml


def test_header_says_how_the_glossary_was_enforced(translated, tmp_path, tiny_model, zhen_env):
    path, _ = translated
    prov = read_tei(path).provenance
    assert (prov.beam_size, prov.compute_type, prov.package_synthetic) == (2, "int8", True)
    assert prov.glossary_enforcement.startswith("2-best list (beam 2) searched")
    assert prov.length_cap == "1.5 x source tokens + 10"
    res = run_zhen(["translate", ARTICLE, "-o", tmp_path / "off", "--model", tiny_model,
                    "--no-enforce", "--num-hypotheses", "4", "--max-length-ratio", "2"], zhen_env)
    assert res.returncode == 0, res.stderr
    prov = read_tei(tmp_path / "off" / path.name).provenance
    assert (prov.glossary_enforcement, prov.length_cap) == ("off", "2 x source tokens + 10")


def test_same_article_in_gbk_or_bom_crlf_gives_the_same_chinese_side(tmp_path, tiny_model,
                                                                   zhen_env):
    text = ARTICLE.read_text(encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes(text.encode("gbk"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    (tmp_path / "plain.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = run_zhen(["translate", tmp_path / "gbk.txt", tmp_path / "bom.txt",
                    tmp_path / "plain.txt", "-o", out, "--model", tiny_model], zhen_env)
    assert res.returncode == 0, res.stderr
    sides = {}
    for name in ("gbk", "bom", "plain"):
        doc = read_tei(out / f"{name}.tei.xml")
        sides[name] = [(s.id, s.zh, [(o.term_id, o.start) for o in s.terms])
                       for s in doc.sentences()]
    assert sides["gbk"] == sides["bom"] == sides["plain"]


def test_binary_file_is_refused_with_one_line_and_no_output(tmp_path, tiny_model, zhen_env):
    bad = tmp_path / "photo.txt"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = tmp_path / "out"
    res = run_zhen(["translate", bad, "-o", out, "--model", tiny_model], zhen_env)
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "photo.txt" in lines[0] and "Traceback" not in res.stderr
    assert not list(out.glob("*")) if out.exists() else True


def test_empty_file_gets_a_clear_message(tmp_path, tiny_model, zhen_env):
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\u3000\n", encoding="utf-8")
    res = run_zhen(["translate", empty, "-o", tmp_path / "out", "--model", tiny_model],
                   zhen_env)
    assert res.returncode != 0 and "only white space" in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_model_is_one_clear_line(tmp_path, zhen_env):
    res = run_zhen(["translate", ARTICLE, "-o", tmp_path, "--model", "no-such-model"], zhen_env)
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "zhen model" in res.stderr


def test_no_model_installed_says_how_to_install(tmp_path, zhen_env):
    res = run_zhen(["translate", ARTICLE, "-o", tmp_path], zhen_env)
    assert res.returncode != 0 and "zhen model install" in res.stderr


def test_memory_second_run_makes_no_decoder_call_and_edit_retranslates_one(tmp_path,
                                                                         tiny_model, zhen_env):
    src = tmp_path / "a.txt"
    shutil.copy(ARTICLE, src)
    args = ["translate", src, "-o", tmp_path / "out", "--model", tiny_model]
    first = run_zhen(args, zhen_env)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "out" / "a.tei.xml").read_bytes()
    second = run_zhen(args, zhen_env)
    assert "decoder calls: 0" in second.stderr and " 0 decoded" in second.stderr
    after = (tmp_path / "out" / "a.tei.xml").read_bytes()
    # what differs: how many sentences came from the memory (note and record)
    strip = re.compile(rb"<note type=\"translation-memory\">.*?</note>|\"from_memory\": \d+")
    assert strip.sub(b"", before) == strip.sub(b"", after)
    assert b"29 of 29 sentences were taken from the translation memory" in after
    text = src.read_text(encoding="utf-8").replace("全球能源转型", "全球能源格局转型", 1)
    src.write_text(text, encoding="utf-8")
    third = run_zhen(args, zhen_env)
    assert " 1 decoded" in third.stderr, third.stderr


def test_runtime_imports_no_stanza_spacy_or_torch(tmp_path, tiny_model, zhen_env):
    code = (
        "import sys\n"
        "from zhen.batch.runner import translate_files\n"
        f"translate_files([{str(ARTICLE)!r}], {str(tmp_path)!r}, {str(GLOSSARY)!r},"
        f" model={str(tiny_model)!r}, show_progress=False)\n"
        "print(sorted(m for m in ('torch', 'stanza', 'spacy', 'minisbd') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], env=zhen_env, cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_help_and_glossary_lint_do_not_load_ctranslate2(zhen_env):
    code = (
        "import sys\n"
        "from zhen.cli import main\n"
        "for argv in (['--help'], ['glossary', 'lint']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('ctranslate2' in sys.modules)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], env=zhen_env, cwd=REPO, capture_output=True,
                         text=True, timeout=120)
    assert res.stdout.strip().splitlines()[-1] == "False", res.stdout + res.stderr


def test_model_install_list_and_use_by_name_offline(tmp_path, tiny_model, zhen_env):
    needs_unshare()
    installed = run_zhen(["model", "install", tiny_model], zhen_env, network=False)
    assert installed.returncode == 0, installed.stderr
    listed = run_zhen(["model", "list"], zhen_env, network=False)
    assert "translate-zh_en-synthetic-tiny" in listed.stdout and "synthetic" in listed.stdout
    # With one zh→en package installed, no --model is needed at all.
    res = run_zhen(["translate", ARTICLE, "-o", tmp_path / "out"], zhen_env, network=False)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "unseen-article.tei.xml").is_file()


def test_model_install_from_index_offline_fails_cleanly(zhen_env):
    needs_unshare()
    res = run_zhen(["model", "install", "translate-zh_en"], zhen_env, network=False)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and "FILE.argosmodel" in res.stderr
