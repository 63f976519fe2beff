"""A score per sentence (zhen.scores): CTranslate2's hypothesis scores kept as
exp(mean token log-probability), recomputed here from CTranslate2 directly on the
synthetic model; carried through repetitions, the memory (both backends: see
test_memory_postgres) and the cluster's copy; written as TEI @cert, TMX x-score, VRT
s_score and an XLIFF note; dropped when a person edits; judged by the QA check low-score."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_zhen
from lxml import etree
from zhen.scores import LogProb, format_score, from_ctranslate2, parse_score

TEI = {"t": "http://www.tei-c.org/ns/1.0"}
REPEATED = "今天的会议讨论了城市防灾。"
# one sentence far over engines.translator.MAX_SOURCE_PIECES: translated clause by clause
LONG = "，".join(f"第{n}个城市加强了堤坝巡查并准备了应急物资" for n in range(40)) + "。"


@pytest.fixture(scope="module")
def translated(tmp_path_factory, package_dir):
    """Two documents translated once with the tiny model and a memory (read-only): the
    coast article (glossary terms: enforcement) and one with a repeated and a long
    sentence.  Returns (output folder, memory path, inputs, glossary, model)."""
    from zhen.batch.runner import translate_files

    tmp = tmp_path_factory.mktemp("scores")
    (tmp / "in").mkdir()
    shutil.copy(REPO / "tests" / "data" / "coast-article.txt", tmp / "in" / "coast.txt")
    (tmp / "in" / "repeat.txt").write_text(
        f"城市的新办法\n{REPEATED}专家表示满意。\n{LONG}\n{REPEATED}\n", encoding="utf-8")
    glossary = REPO / "glossary" / "terms.tsv"
    inputs = sorted((tmp / "in").glob("*.txt"))
    memory = tmp / "memory.sqlite3"
    report = translate_files(inputs, tmp / "out", glossary, model=str(package_dir),
                             memory_path=memory, show_progress=False)
    assert not report.failed
    return tmp / "out", memory, inputs, glossary, str(package_dir)


def english_s(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {s.get("corresp")[4:]: s for s in
            root.xpath("//t:div[@type='translation']//t:s", namespaces=TEI)}


@pytest.fixture(scope="module")
def ct2(package_dir):
    """The synthetic model in CTranslate2 itself, and zhen's engine for its tokenizers."""
    import ctranslate2
    from zhen.engines.registry import load_engine, resolve_model
    from zhen.settings import DecodingOptions

    engine = load_engine(resolve_model(str(package_dir)), DecodingOptions(device="cpu"))
    return ctranslate2.Translator(str(engine.info.model_dir), compute_type="int8"), engine


def exact_score(translator, source: list[str], target: list[str], ended: bool,
                skip: int = 0) -> float:
    """exp(mean log-probability) of `target`'s tokens after the first `skip` (and of the
    end token when `ended`), as CTranslate2's score_batch computes them."""
    (result,) = translator.score_batch([source], [target])
    logprobs = result.log_probs[skip: len(target) + (1 if ended else 0)]
    return math.exp(sum(logprobs) / len(logprobs))


# -- CTranslate2's score, read right -------------------------------------------------------


@pytest.mark.parametrize("beam, penalty", [(2, 1.0), (1, 1.0), (4, 0.2), (2, 0.0)])
@pytest.mark.parametrize("prefix", [0, 2], ids=["free", "prefix"])
def test_ctranslate2_scores_give_the_mean_token_logprob(ct2, beam, penalty, prefix):
    """Beam or greedy search, any length penalty, with or without a forced target prefix,
    ended by the end token or by the length cap: the mean log-probability of the tokens
    the model chose equals the one score_batch computes for them."""
    translator, engine = ct2
    sources = [engine.pieces(t) for t in ("沿海城市普遍加强了堤坝巡查。", "居民也被要求准备应急包。",
                                          "专家指出，印太地区的气候风险正在上升。")]
    for cap in (200, 6):  # the end token, or stopped by the cap
        forced = [["▁the", "▁city"][:prefix]] * len(sources)
        results = translator.translate_batch(
            sources, target_prefix=forced if prefix else None, beam_size=beam,
            length_penalty=penalty, max_decoding_length=cap, return_scores=True)
        for source, res in zip(sources, results):
            tokens = res.hypotheses[0]
            ended = len(tokens) < cap
            got = from_ctranslate2(res.scores[0], len(tokens), prefix, cap, penalty)
            assert got.tokens == len(tokens) - prefix + (1 if ended else 0)
            want = exact_score(translator, source, tokens, ended, skip=prefix)
            assert got.score == pytest.approx(want, rel=1e-3)


def test_the_score_on_s_is_exp_mean_logprob_recomputed_with_ctranslate2(translated, ct2):
    """Every machine sentence without terms (decoded alone, beam 2, not cut by the
    runaway guard) carries @cert = exp(mean log-probability) of its tokens."""
    from zhen.engines.engine import trim_repetition
    from zhen.tei.read import read_tei

    out, *_ = translated
    translator, engine = ct2
    checked = 0
    for path in sorted(out.glob("*.tei.xml")):
        elements = english_s(path)
        for s in read_tei(path).sentences():
            cert = elements[s.id].get("cert")
            assert cert is not None and re.fullmatch(r"[01]\.\d{4}", cert), (s.id, cert)
            assert s.score == float(cert)
            source = engine.pieces(s.zh)
            if s.terms or len(source) > 250:
                continue
            (res,) = translator.translate_batch([source], beam_size=2, return_scores=True,
                                                max_decoding_length=int(len(source) * 1.5) + 10,
                                                replace_unknowns=True)
            tokens = res.hypotheses[0]
            if engine.detokenize(tokens) != s.en or trim_repetition(tokens, 0, 3) < len(tokens):
                continue  # another batch's numerics, or cut by the runaway guard
            want = exact_score(translator, source, tokens, True)
            assert abs(float(cert) - want) <= 6e-5, (s.id, cert, want)
            checked += 1
    assert checked >= 5


def test_long_and_forced_sentences_combine_their_parts_token_weighted(ct2, monkeypatch):
    from zhen.document import Sentence, Term, TermMatch, TermStatus
    from zhen.engines.translator import MAX_SOURCE_PIECES, Translator, split_long

    translator, engine = ct2
    calls = []  # what the real decoder was asked and gave (recorded, not replaced)
    decode = engine.decode

    def recording(sources, prefixes=None, num_hypotheses=1, attention=False,
                  allowances=None, on_batch=None):
        out = decode(sources, prefixes, num_hypotheses, attention, allowances, on_batch)
        calls.append((sources, prefixes, allowances, out))
        return out

    monkeypatch.setattr(engine, "decode", recording)
    long = Sentence("p1.s1", LONG)
    term = Term("resilience", "韧性", "resilience and also flexibility")
    zh = "城市规划必须把韧性放在首位。"
    forced = Sentence("p1.s2", zh, terms=[TermMatch("resilience", zh.index("韧性"),
                                                    zh.index("韧性") + 2)])
    Translator(engine).translate([long, forced], {"resilience": term})

    # the long sentence: its clauses' tokens together
    parts = split_long(LONG, engine.pieces, MAX_SOURCE_PIECES)
    (clauses,) = [out for sources, _, _, out in calls if len(sources) == len(parts)]
    assert len(parts) > 1 and all(hyps[0].logprob.tokens > 0 for hyps in clauses)
    total = LogProb()
    for hyps in clauses:
        total = total + hyps[0].logprob
    assert long.score == pytest.approx(total.score)
    assert min(h[0].score for h in clauses) <= long.score <= max(h[0].score for h in clauses)

    # the forced one: the n-best list had no rendering, so it was forced as a prefix; its
    # score counts the kept tokens of the first hypothesis at that hypothesis's mean, then
    # the model's continuation as decoded, and not the rendering's pieces
    assert forced.terms[0].status is TermStatus.ENFORCED
    (first,) = [out[0] for sources, prefixes, _, out in calls
                if prefixes is None and len(sources) == 1]
    rounds = [(prefixes, allowances, out) for _, prefixes, allowances, out in calls if prefixes]
    assert len(rounds) == 1  # one term occurrence: one round of prefix forcing
    (prefix,), (allowance,), ((continued, *_),) = rounds[0]
    kept = len(prefix) - allowance
    assert 0 < allowance and continued.tokens[: len(prefix)] == prefix
    want = first[0].logprob.part(kept) + continued.logprob
    assert forced.score == pytest.approx(want.score)
    assert want.tokens == kept + continued.logprob.tokens < len(continued.tokens) + 1
    assert forced.score != pytest.approx(first[0].score)


def test_logprob_parts_add_up_token_weighted():
    a, b = LogProb(-2.0, 4), LogProb(-6.0, 2)
    assert (a + b).score == pytest.approx(math.exp(-8.0 / 6))
    assert a.part(2) == LogProb(-1.0, 2) and a.part(9) == a and LogProb().score is None
    assert format_score(0.123456) == "0.1235" and format_score(1.2) == "1.0000"
    assert parse_score("0.5") == 0.5
    assert [parse_score(v) for v in (None, "", "high", "1.5", "-0.1", "nan")] == [None] * 6


# -- kept through repetitions, the memory, the TEI ----------------------------------------


def certs(path: Path) -> dict[str, str | None]:
    return {sid: s.get("cert") for sid, s in english_s(path).items()}


@pytest.mark.parametrize("memory", [True, False], ids=["memory", "run-cache"])
def test_repetitions_and_memory_reuse_keep_the_score(translated, tmp_path, memory):
    """A repeated sentence (decoded once, copied) and a second run served by the memory
    (or, without one, a run's own cache of decoded sentences) keep the decoded score."""
    from zhen.batch.runner import translate_files
    from zhen.tei.read import read_tei

    out, mem, inputs, glossary, model = translated
    twice = [s for s in read_tei(out / "repeat.tei.xml").sentences() if s.zh == REPEATED]
    assert len(twice) == 2 and twice[0].score is not None
    assert twice[0].score == twice[1].score
    copy = tmp_path / "memory.sqlite3"
    shutil.copy(mem, copy)
    report = translate_files(inputs, tmp_path / "out", glossary, model=model,
                             memory_path=copy if memory else None, show_progress=False)
    total = sum(len(read_tei(p).sentences()) for p in out.glob("*.tei.xml"))
    assert sum(f.from_memory for f in report.files) == (total if memory else 0)
    for path in sorted(out.glob("*.tei.xml")):
        assert certs(tmp_path / "out" / path.name) == certs(path)


def test_the_tei_differs_only_by_the_new_attribute(translated, tmp_path):
    """The English side is what it was before scores: drop @cert, and the body is the same
    as a TEI built from the same sentences without scores."""
    from zhen.tei.body import tei_bytes
    from zhen.tei.read import read_tei

    out, *_ = translated
    doc = read_tei(out / "coast.tei.xml")
    for s in doc.sentences():
        s.score, s.qa = None, ()
    plain = etree.fromstring(tei_bytes(doc))
    scored = etree.parse(str(out / "coast.tei.xml")).getroot()
    for s in scored.xpath("//t:s[@cert]", namespaces=TEI):
        del s.attrib["cert"]
    for s in scored.xpath("//t:s[@ana]", namespaces=TEI):  # QA flags are the writer's
        del s.attrib["ana"]
    body = "t:text/t:body"
    assert etree.tostring(plain.find(body, TEI)) == etree.tostring(scored.find(body, TEI))


def test_an_edited_sentence_loses_its_score_and_the_file_stays_valid(translated, tmp_path,
                                                                     tei_validator):
    from zhen.tei.edits import apply_edits
    from zhen.tei.read import read_tei

    out, *_ = translated
    path = tmp_path / "coast.tei.xml"
    shutil.copy(out / "coast.tei.xml", path)
    before = certs(path)
    first, second, *_ = read_tei(path).sentences()
    apply_edits(path, {first.id: "Coastal cities rethink disaster prevention."}, None,
                "Reviewer")
    after = certs(path)
    assert after[first.id] is None and before[first.id] is not None
    assert {k: v for k, v in after.items() if k != first.id} == \
        {k: v for k, v in before.items() if k != first.id}
    doc = read_tei(path)
    assert doc.sentences()[0].human and doc.sentences()[0].score is None
    tei_validator(path)
    # an edit made in the file itself, @cert left behind: read back as a person's, no score
    raw = path.read_text("utf-8")
    s = english_s(path)[second.id]
    text = "".join(s.itertext())
    assert s.get("cert") and text in raw
    path.write_text(raw.replace(text, "A person wrote this instead.", 1), "utf-8")
    again = next(x for x in read_tei(path).sentences() if x.id == second.id)
    assert again.human and again.score is None


def test_zhen_validate_refuses_a_cert_that_is_no_probability(translated, tmp_path):
    from zhen.tei.validate import validate_files

    out, *_ = translated
    path = tmp_path / "coast.tei.xml"
    raw = (out / "coast.tei.xml").read_text("utf-8")
    path.write_text(re.sub(r'cert="[0-9.]+"', 'cert="1.5"', raw, count=1), "utf-8")
    problems = validate_files([path])
    assert [p.message for p in problems if "cert" in p.message] == \
        [p.message for p in problems]
    assert len(problems) == 1 and "is not a probability" in problems[0].message


def test_header_says_what_cert_is(translated):
    from zhen.tei.names import SCORE_DESCRIPTION

    out, *_ = translated
    root = etree.parse(str(out / "coast.tei.xml")).getroot()
    assert root.xpath("string(t:teiHeader/t:encodingDesc/t:p)", namespaces=TEI) == \
        SCORE_DESCRIPTION


# -- exports ------------------------------------------------------------------------------


def test_tmx_carries_the_score_as_a_prop_that_translate_toolkit_reads(translated, tmp_path):
    from translate.storage.tmx import tmxfile
    from zhen.exports.parallel import export_tmx
    from zhen.tei.edits import apply_edits
    from zhen.tei.read import read_tei

    out, *_ = translated
    shutil.copy(out / "coast.tei.xml", tmp_path / "coast.tei.xml")
    human = read_tei(tmp_path / "coast.tei.xml").sentences()[1]
    apply_edits(tmp_path / "coast.tei.xml", {human.id: "A person's sentence."}, None, "R")
    (tmx,) = export_tmx([tmp_path / "coast.tei.xml"], tmp_path / "c.tmx")
    with open(tmx, "rb") as fh:
        store = tmxfile(fh)
    want = {sid: cert for sid, cert in certs(tmp_path / "coast.tei.xml").items()}
    units = {u.getid().split(":zh.")[1]: u for u in store.units}
    assert set(units) == set(want)
    for sid, unit in units.items():
        props = {p.get("type"): p.text for p in unit.xmlelement.iter("{*}prop", "prop")}
        assert props.get("x-score") == want[sid], sid
        assert unit.target and unit.source  # the pair is read as before
    assert "x-score" not in {p.get("type") for p in units[human.id].xmlelement.iter("prop")}


def test_the_memorys_tmx_export_carries_the_scores(translated, tmp_path):
    from translate.storage.tmx import tmxfile
    from zhen.memory import open_memory
    from zhen.memory.transfer import export_translations

    out, memory, *_ = translated
    with open_memory(memory) as mem:
        stored = {(source, target): score for source, target, _, _, score in
                  mem.machine_entries()}
        assert export_translations(mem, tmp_path / "m.tmx") == len(stored)
    with open(tmp_path / "m.tmx", "rb") as fh:
        units = tmxfile(fh).units
    got = {(u.source, u.target): {p.get("type"): p.text for p in u.xmlelement.iter("prop")}
           .get("x-score") for u in units}
    assert got == {pair: format_score(score) for pair, score in stored.items()}


def test_vrt_s_regions_carry_the_score(translated, tmp_path):
    from test_export import read_vrt
    from zhen.exports.vrt import export_vrt

    out, *_ = translated
    zh_vrt, en_vrt, *_ = export_vrt([out / "repeat.tei.xml"], tmp_path, "zhen")
    want = certs(out / "repeat.tei.xml")
    for vrt in (zh_vrt, en_vrt):
        regions, _ = read_vrt(vrt)
        assert {r["attrs"]["id"].split(".", 1)[1]: r["attrs"]["score"] for r in regions} == want
        assert all(list(r["attrs"])[:4] == ["id", "origin", "qa", "score"] for r in regions)


def test_xliff_gives_the_score_as_a_note_cat_tools_show(translated, tmp_path):
    from translate.storage.xliff import xlifffile
    from zhen.exports.xliff import export_xliff

    out, *_ = translated
    (xlf,) = export_xliff([out / "repeat.tei.xml"], tmp_path)
    with open(xlf, "rb") as fh:
        store = xlifffile(fh)
    want = certs(out / "repeat.tei.xml")
    for unit in store.units:
        if not unit.istranslatable():
            continue
        notes = unit.getnotes()
        assert f"machine translation score {want[unit.getid().split(chr(4))[-1]]}" in notes, \
            notes


# -- QA and the review workbench ------------------------------------------------------------


def test_qa_flags_low_scores_at_the_threshold_set(translated, monkeypatch, zhen_env):
    from click.testing import CliRunner
    from zhen.cli import cli

    out, *_ = translated
    disable = next(p for p in cli.commands["qa"].params if p.name == "disabled")
    assert "low-score" in disable.type.choices
    paths = [str(p) for p in sorted(out.glob("*.tei.xml"))]
    scores = [float(c) for p in sorted(out.glob("*.tei.xml")) for c in certs(p).values()]
    runner = CliRunner()

    def low_findings(*extra: str) -> list[dict]:
        res = runner.invoke(cli, ["qa", *paths, "--format", "json", "--fail-on", "never",
                                  *extra])
        assert res.exit_code == 0, res.output
        return [f for f in json.loads(res.stdout)["findings"] if f["check"] == "low-score"]

    low = low_findings()
    assert len(low) == len(scores)  # random weights: the model is unsure of everything
    assert all(f["severity"] == "warning" and "below 0.3" in f["detail"] for f in low)
    middle = sorted(scores)[len(scores) // 2]
    assert len(low_findings("--low-score", str(middle))) == sum(s < middle for s in scores) > 0
    monkeypatch.setenv("ZHEN_LOW_SCORE", str(middle))
    assert len(low_findings()) == sum(s < middle for s in scores)
    assert low_findings("--low-score", "0") == []  # the option wins over the variable
    assert low_findings("--disable", "low-score") == []
    # a threshold that is no number: one line, exit non-zero (the CLI's own process)
    res = run_zhen(["qa", *paths], {**zhen_env, "ZHEN_LOW_SCORE": "high"})
    assert res.returncode == 1 and res.stderr.startswith(
        "zhen: error: ZHEN_LOW_SCORE='high': give a number from 0 to 1")
    assert len(res.stderr.splitlines()) == 1


SCORED = {"p1.s1": 0.9, "p1.s2": 0.2, "p1.s3": None, "p1.s4": 0.5, "p1.s5": 0.05}


@pytest.fixture
def review_folder(tmp_path) -> Path:
    """A folder with one document whose sentences have known scores (p1.s3 a person's)."""
    from zhen.document import Document, Origin, Paragraph, Sentence, SourceInfo
    from zhen.tei.body import tei_bytes

    zh = ["会议在北京举行。", "双方讨论了贸易。", "记者参加了会议。", "会议持续两天。", "专家表示满意。"]
    sentences = []
    for (sid, score), text in zip(SCORED.items(), zh):
        s = Sentence(sid, text, f"Sentence {sid} in English.", score=score)
        if score is None:
            s.origin, s.translator = Origin.HUMAN, "Reviewer"
        sentences.append(s)
    doc = Document("scored", "会议", SourceInfo("scored.txt", "0" * 64, "utf-8"),
                   paragraphs=[Paragraph("p1", sentences)])
    root = tmp_path / "review"
    root.mkdir()
    (root / "scored.tei.xml").write_bytes(tei_bytes(doc))
    return root


def test_review_state_has_scores_and_a_save_drops_its_own(review_folder, monkeypatch):
    from starlette.testclient import TestClient
    from zhen.tei.read import read_tei
    from zhen.ui.review.app import create_app

    monkeypatch.setenv("ZHEN_LOW_SCORE", "0.6")
    app = create_app(review_folder, None, "Reviewer", hosts=("testserver",))
    with TestClient(app) as client:
        state = client.get("/api/documents/scored.tei.xml").json()
        sentences = {s["id"]: s for p in state["paragraphs"] for s in p["sentences"]}
        assert {sid: s["score"] for sid, s in sentences.items()} == SCORED
        assert state["low_score"] == 0.6
        assert sorted(sid for sid, s in sentences.items()
                      if any(f["check"] == "low-score" for f in s["findings"])) == \
            ["p1.s2", "p1.s4", "p1.s5"]
        r = client.post("/api/documents/scored.tei.xml/sentences/p1.s5",
                        headers={"Origin": "http://testserver",
                                 "Content-Type": "application/json",
                                 "If-Match": f'"{state["version"]}"'},
                        content=json.dumps({"en": "The experts were satisfied."}))
        assert r.status_code == 200, r.text
        saved = next(s for p in r.json()["paragraphs"] for s in p["sentences"]
                     if s["id"] == "p1.s5")
        assert saved["score"] is None and saved["findings"] == []
    s5 = next(s for s in read_tei(review_folder / "scored.tei.xml").sentences()
              if s.id == "p1.s5")
    assert s5.human and s5.score is None


def test_review_page_orders_and_filters_by_score(review_folder, browser, zhen_env):
    import subprocess
    import sys
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "zhen", "review", str(review_folder),
                             "--port", "0"], env=zhen_env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, f"zhen review did not start: {line}"
        threading.Thread(target=proc.stderr.read, daemon=True).start()
        page = browser.new_context().new_page()
        errors: list = []
        page.on("pageerror", lambda e: errors.append(e))
        page.goto(f"{url.group(0)}#/doc/scored.tei.xml")
        page.wait_for_selector("body[data-ready=doc]")

        def order() -> list[str]:
            return page.eval_on_selector_all("#pairs tr.pair:not([hidden])",
                                             "rs => rs.filter(r => r.offsetParent !== null)"
                                             ".map(r => r.dataset.sid)")

        assert order() == list(SCORED)
        assert page.get_attribute('tr[data-sid="p1.s5"]', "data-score") == "0.0500"
        assert page.get_attribute('tr[data-sid="p1.s3"]', "data-score") is None  # a person's
        page.select_option("#order", "score")  # lowest first, a person's English last
        assert order() == ["p1.s5", "p1.s2", "p1.s4", "p1.s1", "p1.s3"]
        page.keyboard.press("j")  # moving follows the order on screen
        page.keyboard.press("j")
        assert page.get_attribute("tr.pair.current", "data-sid") == "p1.s2"
        page.keyboard.press("s")  # back to document order
        assert order() == list(SCORED)
        assert page.input_value("#score-max") == "0.3"  # QA's threshold to start with
        page.keyboard.press("l")  # only scores below it
        assert order() == ["p1.s2", "p1.s5"]
        page.fill("#score-max", "0.6")
        assert order() == ["p1.s2", "p1.s4", "p1.s5"]
        page.uncheck("#only-low")
        assert len(order()) == 5
        assert errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)
