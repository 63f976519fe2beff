"""QA checks: planted faults found with their sentence ids and nothing else; numbers
understood in both languages; findings agree in the report, the TEI, the VRT and the view."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import REPO, run_zhen
from lxml import etree, html
from zhen.document import Document, Origin, Paragraph, Sentence, SourceInfo
from zhen.qa.annotate import annotate_tei
from zhen.qa.checks import CHECKS
from zhen.qa.numbers import compare_numbers, en_numbers, zh_numbers
from zhen.qa.run import check_document, check_documents
from zhen.tei.body import tei_bytes
from zhen.tei.edits import apply_edits
from zhen.tei.names import TEI_NS, XML_ID
from zhen.tei.read import read_tei

FAULTS = REPO / "tests" / "data" / "qa-faults.tei.xml"
# The planted faults of qa-faults.tei.xml, one per sentence.
PLANTED = {
    ("p2.s3", "numbers"),  # 2万 dropped
    ("p3.s1", "numbers"),  # 1.5万亿 as "1.5 billion"
    ("p3.s2", "untranslated"),  # 互联互通 left in the English
    ("p3.s3", "term-missed"),  # 供应链韧性 without its approved rendering
    ("p4.s1", "term-inconsistent"),  # Digital Silk Route here, Digital Silk Road before
}
NS = {"t": TEI_NS}


def test_cli_names_the_checks_of_the_library():
    from zhen.cli.checks import qa

    disable = next(p for p in qa.params if p.name == "disabled")
    assert list(disable.type.choices) == list(CHECKS)


# -- the planted faults ------------------------------------------------------------------


def test_zhen_qa_finds_each_planted_fault_and_nothing_else(zhen_env):
    res = run_zhen(["qa", FAULTS, "--format", "json"], zhen_env)
    assert res.returncode == 1, res.stderr  # errors among them: --fail-on error by default
    report = json.loads(res.stdout)
    found = {(f["sentence"], f["check"]) for f in report["findings"]}
    assert found == PLANTED
    details = {f["sentence"]: f["detail"] for f in report["findings"]}
    assert "2万" in details["p2.s3"] and "20,000" in details["p2.s3"]
    assert "1.5 trillion" in details["p3.s1"] and "1.5 billion" in details["p3.s1"]
    assert "互联互通" in details["p3.s2"]
    assert "供应链韧性" in details["p3.s3"] and "supply chain resilience" in details["p3.s3"]
    assert "Digital Silk Route" in details["p4.s1"] and "Digital Silk Road" in details["p4.s1"]
    assert report["counts"] == {"error": 4, "warning": 1, "info": 0}
    assert "5 finding(s) in 1 of 1 file(s): 4 errors, 1 warning, 0 info" in res.stderr


def test_zhen_qa_text_lines_and_fail_on(zhen_env):
    res = run_zhen(["qa", FAULTS, "--fail-on", "never"], zhen_env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0] == f"{FAULTS}:p2.s3: error: numbers: not in the English: 2万 (20,000)"
    assert all(re.match(rf"{re.escape(str(FAULTS))}:p\d\.s\d: (error|warning): [a-z-]+: ", x)
               for x in lines)
    res = run_zhen(["qa", FAULTS, "--disable", "numbers", "--disable", "untranslated",
                    "--disable", "term-missed"], zhen_env)
    assert res.returncode == 0, res.stderr  # a warning is left: not an error
    assert [x.split(": ")[2] for x in res.stdout.splitlines()] == ["term-inconsistent"]
    res = run_zhen(["qa", FAULTS, "--disable", "numbers", "--disable", "untranslated",
                    "--disable", "term-missed", "--fail-on", "warning"], zhen_env)
    assert res.returncode == 1
    res = run_zhen(["qa", FAULTS, "--sort", "severity"], zhen_env)
    assert res.stdout.splitlines()[-1].split(": ")[1] == "warning"


def test_zhen_qa_refuses_what_is_not_zhen_tei_in_one_line(tmp_path, zhen_env):
    bad = tmp_path / "bad.tei.xml"
    bad.write_text("<TEI><unclosed></TEI>")
    res = run_zhen(["qa", bad], zhen_env)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "bad.tei.xml" in res.stderr
    assert "Traceback" not in res.stderr
    res = run_zhen(["qa", FAULTS, "--disable", "spelling"], zhen_env)
    assert res.returncode == 2 and "spelling" in res.stderr


def test_annotate_tei_records_the_findings_and_stays_valid(tmp_path, tei_validator):
    path = tmp_path / FAULTS.name
    path.write_bytes(tei_bytes(read_tei(FAULTS)))  # as this zhen writes it
    done = annotate_tei(path)
    assert done.changed and {(f.sentence_id, f.check) for f in done.findings} == PLANTED
    root = etree.parse(str(path)).getroot()
    ana = {s.get(XML_ID).removeprefix("en."): s.get("ana") for s in
           root.xpath("//t:div[@type='translation']//t:s[@ana]", namespaces=NS)}
    assert ana == {sid: f"#qa.{check}" for sid, check in PLANTED}
    cats = root.xpath("//t:taxonomy[@xml:id='zhen.qa']/t:category", namespaces=NS)
    assert [(c.get(XML_ID), c.get("n")) for c in cats] == [
        (f"qa.{c.id}", c.severity) for c in CHECKS.values()]
    tei_validator(path)
    before = path.read_bytes()
    assert not annotate_tei(path).changed and path.read_bytes() == before
    doc = read_tei(path)  # read back: flags kept, and written back exactly
    assert {(s.id, s.qa) for s in doc.sentences() if s.qa} == {(i, (c,)) for i, c in PLANTED}
    assert tei_bytes(doc) == before

    # a person corrects a flagged sentence: the edit path runs QA again, which clears its
    # flag and keeps the others
    apply_edits(path, {"p2.s3": "The project plans to train 20,000 technical staff within "
                                "three years."}, None, "Reviewer")
    done = annotate_tei(path)
    assert not done.changed  # apply_edits recorded the findings already
    assert {(f.sentence_id, f.check) for f in done.findings} == PLANTED - {("p2.s3", "numbers")}
    doc = read_tei(path)
    assert doc.sentences()[3].human and doc.sentences()[3].qa == ()
    tei_validator(path)


# -- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize("zh, en", [
    ("总额达1.5万亿元。", "It reached 1.5 trillion yuan."),
    ("总额达1.5万亿元。", "It reached 1,500 billion yuan."),
    ("投资3000亿美元。", "An investment of $300 billion."),
    ("新增2万个岗位。", "20,000 new jobs."),
    ("新增2万个岗位。", "Twenty thousand new jobs."),
    ("增长百分之五。", "Growth of 5%."),
    ("增长百分之五。", "Growth of five per cent."),
    ("2027年将有三个国家加入。", "Three countries will join in 2027."),
    ("2027年将有三个国家加入。", "3 countries will join in 2027."),
    ("二〇二七年，一千万人", "In 2027, ten million people"),
    ("第十四个五年规划", "the 14th Five-Year Plan"),
    ("3月5日召开", "held on March 5"),
    ("两国领导人", "the leaders of both countries"),
    ("3000多亿元", "more than 300 billion yuan"),
    ("增长4.5%左右，汇率9.0353", "growth of about 4.5%, at a rate of 9.0353"),
    ("三十五点五", "thirty-five point five"),
    ("二十国集团", "the G20"),
    ("90年代", "the 1990s"),
    ("五角大楼表示，两岸关系紧张。", "The Pentagon said cross-Strait relations are tense."),
    ("一些国家统一行动。", "Some countries act as one."),
    ("数十个国家参加，十几个城市。", "Dozens of countries took part, in a dozen cities."),
    ("三分之一的预算", "a third of the budget"),
    ("5G网络", "5G networks"),
])
def test_numbers_that_agree(zh, en):
    assert compare_numbers(zh, en) == ([], [])


@pytest.mark.parametrize("zh, en, missing, extra", [
    ("总额达1.5万亿元。", "It reached 1.5 billion yuan.", ["1.5万亿"], ["1.5 billion"]),
    ("新增2万个岗位。", "New jobs were created.", ["2万"], []),
    ("增长百分之五。", "Growth of 6%.", ["百分之五"], ["6"]),
    ("三个国家加入。", "Four countries joined.", ["三"], ["4"]),
    ("2027年", "in 2028", ["2027"], ["2028"]),
    ("三千亿", "300 million", ["三千亿"], ["300 million"]),
])
def test_numbers_that_do_not(zh, en, missing, extra):
    got_missing, got_extra = compare_numbers(zh, en)
    assert [n.text for n in got_missing] == missing
    assert [n.text for n in got_extra] == extra


def test_number_values():
    assert [n.value for n in zh_numbers("1.5万亿、3000亿、2万、百分之五、2027年、三")] == [
        1.5e12, 3e11, 2e4, 5, 2027, 3]
    assert [n.value for n in en_numbers("1.5 trillion, 300 billion, 20,000, 5%, 2027, three")] \
        == [1.5e12, 3e11, 2e4, 5, 2027, 3]


# -- the other checks --------------------------------------------------------------------


def document(*pairs: tuple[str, str | None], doc_id: str = "d") -> Document:
    return Document(doc_id, "标题", SourceInfo("d.txt", "0" * 64, "utf-8"), paragraphs=[
        Paragraph("p1", [Sentence(f"p1.s{i}", zh, en) for i, (zh, en) in enumerate(pairs, 1)])])


def checks_of(doc: Document) -> list[tuple[str, str]]:
    return [(f.sentence_id, f.check) for f in check_document(doc)]


NORMAL = [("各方讨论了地区合作问题。", "The parties discussed regional cooperation."),
          ("会谈在北京进行。", "The talks took place in Beijing."),
          ("双方同意加强沟通。", "Both sides agreed to communicate more."),
          ("专家认为前景良好。", "Experts think the outlook is good."),
          ("这一进程仍面临挑战。", "The process still faces challenges."),
          ("各国应当相互尊重。", "Countries should respect each other."),
          ("对话应当继续下去。", "The dialogue should go on.")]


@pytest.mark.parametrize("zh, en, check", [
    ("会议在北京举行。", "", "empty"),
    ("会议在北京举行。", None, "empty"),
    ("会议在北京举行了。", "The meeting was held in the", "truncated"),
    ("会议在北京举行了。", "The meeting was held in Beijing", "truncated"),
    ("会议举行。", "The meeting the meeting the meeting was held.", "repetition"),
    ("会议（在北京）举行。", "The meeting (in Beijing was held.", "brackets"),
    ("他说：“会议举行。”", "He said: “The meeting was held.", "brackets"),
    ("会议会举行吗？", "The meeting will be held.", "question"),
    ("会议在北京举行。", "The meeting was held in 北京.", "untranslated"),
])
def test_sentence_checks(zh, en, check):
    assert checks_of(document(*NORMAL, (zh, en))) == [(f"p1.s{len(NORMAL) + 1}", check)]


def test_normal_sentences_raise_nothing():
    assert checks_of(document(*NORMAL)) == []


def test_length_ratio_outlier_against_the_document():
    short = ("这一系列措施将在未来几年内显著改善地区的基础设施和投资环境。", "Measures.")
    assert checks_of(document(*NORMAL, short)) == [(f"p1.s{len(NORMAL) + 1}", "length-ratio")]


def test_corpus_inconsistency_human_translation_wins():
    zh = "双方同意加强沟通。"
    a = document(*NORMAL[:3], doc_id="a")
    b = document((zh, "The two sides agreed to talk more."), doc_id="b")
    c = document((zh, "Both parties agree to strengthen communication."), doc_id="c")
    found = [(f.doc_id, f.sentence_id, f.check) for f in check_documents([a, b, c])]
    assert found == [("b", "p1.s1", "corpus-inconsistent"), ("c", "p1.s1",
                                                               "corpus-inconsistent")]
    b.sentences()[0].origin = Origin.HUMAN
    found = check_documents([a, b, c])
    assert [(f.doc_id, f.sentence_id) for f in found] == [("a", "p1.s3"), ("c", "p1.s1")]
    assert all("a person's translation in b p1.s1" in f.detail for f in found)
    assert check_documents([a, b, c], disabled=["corpus-inconsistent"]) == []


# -- the sample inputs, tiny model: report, TEI, VRT and view agree ----------------------


@pytest.fixture(scope="module")
def samples(tmp_path_factory, tiny_model):
    import os

    tmp = tmp_path_factory.mktemp("qa-samples")
    env = dict(os.environ, ZHEN_CACHE_DIR=str(tmp / "cache"),
               ZHEN_MEMORY=str(tmp / "cache" / "memory.sqlite3"))
    inputs = sorted((REPO / "input").glob("*.txt"))
    res = run_zhen(["translate", *inputs, "-o", tmp / "out", "--model", tiny_model], env)
    assert res.returncode == 0, res.stderr
    return tmp, env, sorted((tmp / "out").glob("*.tei.xml"))


def test_report_tei_vrt_and_view_agree_on_the_samples(samples, tei_validator):
    tmp, env, teis = samples
    res = run_zhen(["qa", *teis, "--format", "json", "--annotate", "--fail-on", "never"], env)
    assert res.returncode == 0, res.stderr
    report: dict[tuple[str, str], set[str]] = {}
    for f in json.loads(res.stdout)["findings"]:
        report.setdefault((Path(f["file"]).name, f["sentence"]), set()).add(f["check"])
    assert report, "the tiny model's noise should give findings"

    in_tei = {}
    for path in teis:
        root = etree.parse(str(path)).getroot()
        for s in root.xpath("//t:div[@type='translation']//t:s[@ana]", namespaces=NS):
            in_tei[(path.name, s.get(XML_ID).removeprefix("en."))] = {
                p.removeprefix("#qa.") for p in s.get("ana").split() if p.startswith("#qa.")}
    assert in_tei == report
    tei_validator(*teis)

    res = run_zhen(["export", "vrt", *teis, "-o", tmp / "vrt"], env)
    assert res.returncode == 0, res.stderr
    names = {read_tei(p).id: p.name for p in teis}
    in_vrt, doc = {}, None
    for line in (tmp / "vrt" / "zhen.en.vrt").read_text().splitlines():
        m = re.match(r'<text id="([^"]+)"', line)
        doc = names[m.group(1)] if m else doc
        m = re.match(r'<s id="en\.([^"]+)" origin="\w+" qa="([^"]*)" score="[0-9.]*">', line)
        if m and m.group(2) != "|":
            in_vrt[(doc, m.group(1))] = set(m.group(2).strip("|").split("|"))
    assert in_vrt == report

    in_view = {}
    for path in teis:
        res = run_zhen(["view", path, "-o", tmp / f"{path.name}.html", "--no-memory"], env)
        assert res.returncode == 0, res.stderr
        page = html.fromstring((tmp / f"{path.name}.html").read_bytes())
        for row in page.xpath("//tr[@data-qa]"):
            in_view[(path.name, row.get("id"))] = set(row.get("data-qa").split())
        assert page.xpath("//input[@id='only-flagged']")
    assert in_view == report
