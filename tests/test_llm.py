"""The `llm` model kind against real servers on loopback ports.

The main path runs against llama-cpp-python's own server serving a tiny random-weight GGUF
that the tests write (`zhen.engines.llm.synth`): its English is noise, so these tests
check mechanics (requests, alignment, terms, scores, the memory, faults), never quality.
What a random model cannot show on demand comes from a scripted OpenAI-compatible server
(tests/llm_server_script.py), a process of its own on a port.  No client is patched.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from conftest import REPO
from lxml import etree
from zhen.cli import cli
from zhen.tei.names import TEI_NS
from zhen.tei.read import read_tei

NS = {"t": TEI_NS}
SCRIPT = Path(__file__).with_name("llm_server_script.py")
GLOSSARY = REPO / "glossary" / "terms.tsv"
ALIAS = "zhen-tiny-random"
# On one xdist worker (make test: --dist loadgroup): one llama.cpp server for the module.
pytestmark = pytest.mark.xdist_group("llm")

TEXT = ("印太地区的合作正在加强。新黄金时代的发展需要各方共同努力。\n"
        "政府发布了新的经济政策。该政策将促进贸易和投资。\n"
        "印太战略是一个重要议题。各国领导人将在会议上讨论这一问题。\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: "
                               f"{proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(url + "/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: the server did not come up")


def start_llama(gguf: Path, port: int | None = None, alias: str = ALIAS):
    """llama-cpp-python's server on a loopback port: (process, base URL)."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(port), "--model_alias", alias, "--n_ctx", "2048", "--n_threads", "1",
         "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_for(url, proc)
    except BaseException:
        proc.kill()
        raise
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def gguf_model(tmp_path_factory) -> Path:
    from zhen.engines.llm.synth import write_tiny_gguf

    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_tiny_gguf(path)
    return path


def require_llama() -> None:
    """Skip, saying why, where llama-cpp-python's server cannot be imported."""
    try:
        import llama_cpp  # noqa: F401
        import llama_cpp.server  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"llama-cpp-python[server] is not importable ({exc}): `make setup` "
                    "builds it")


@pytest.fixture(scope="session")
def llama_server(gguf_model):
    """The base URL of llama-cpp-python's server with the tiny GGUF, for the session."""
    require_llama()
    proc, url = start_llama(gguf_model)
    yield url
    stop(proc)


@pytest.fixture
def scripted(tmp_path):
    """start(mode, models=...) → (base URL, request log path) of a scripted server."""
    procs = []

    def start(mode: str, models: str = "scripted-model"):
        log = tmp_path / f"requests-{len(procs)}.jsonl"
        proc = subprocess.Popen([sys.executable, str(SCRIPT), mode, "--log", str(log),
                                 "--model", models], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        port = int(proc.stdout.readline())
        return f"http://127.0.0.1:{port}/v1", log

    yield start
    for proc in procs:
        stop(proc)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A registry of model servers, a memory and a glossary inside tmp_path."""
    monkeypatch.setenv("ZHEN_LLM_MODELS", str(tmp_path / "models.json"))
    monkeypatch.setenv("ZHEN_MEMORY", str(tmp_path / "memory.sqlite3"))
    monkeypatch.setenv("ZHEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ZHEN_MODEL", raising=False)
    src = tmp_path / "article.txt"
    src.write_text(TEXT, encoding="utf-8")
    return tmp_path


def requests_of(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@dataclass
class Result:
    exit_code: int
    output: str


def zhen(*args) -> Result:
    """The CLI in-process; a ZhenError as `zhen.cli.main` prints it: one line."""
    from zhen.errors import ZhenError

    result = CliRunner().invoke(cli, [str(a) for a in args])
    exc = result.exception
    if isinstance(exc, ZhenError):
        return Result(exc.exit_code, result.output + f"zhen: error: {exc}\n")
    if exc is not None and not isinstance(exc, SystemExit):
        raise exc
    return Result(result.exit_code, result.output)


def translate(env, model, *extra, out="out.tei.xml", source="article.txt"):
    return zhen("translate", env / source, "-o", env / out, "--model", model,
                "--glossary", GLOSSARY, *extra)


def register(name, url, *settings, **options):
    args = ["model", "add", name, url]
    for key, value in options.items():
        args += ["--" + key.replace("_", "-"), value]
    for s in settings:
        args += ["--set", s]
    return zhen(*args)


# -- the main path, on llama-cpp-python's server ---------------------------------------------


def test_translate_with_a_server_url(env, llama_server, tei_validator):
    res = translate(env, llama_server)
    assert res.exit_code == 0, res.output
    out = env / "out.tei.xml"
    tei_validator(out)
    doc = read_tei(out)
    # lossless Chinese, 1:1 alignment with today's ids
    assert [p.zh for p in doc.paragraphs] == [line for line in TEXT.splitlines()]
    root = etree.parse(str(out)).getroot()
    zh_ids = root.xpath("//t:div[@xml:lang='zh']//t:s/@xml:id", namespaces=NS)
    corresp = root.xpath("//t:div[@xml:lang='en']//t:s/@corresp", namespaces=NS)
    assert sorted(c.lstrip("#") for c in corresp) == sorted(zh_ids) and len(zh_ids) == 6
    assert all(s.en and s.en.strip() for s in doc.sentences())
    # every glossary occurrence has a status
    occurrences = [o for s in doc.sentences() for o in s.terms]
    assert occurrences and all(o.status is not None for o in occurrences)
    # the header names the served model id and the profile, and how terms were given
    header = etree.tostring(root.find("t:teiHeader", NS), encoding="unicode")
    assert ALIAS in header and "profile chat" in header
    assert "terms matched in each sentence given in the prompt" in header
    assert "decoded" in res.output


def test_each_sentence_gets_a_score_from_the_logprobs(env, llama_server):
    from zhen.batch.runner import BatchTranslator
    from zhen.document import Sentence

    batch = BatchTranslator(GLOSSARY, llama_server)
    try:
        sentences = [Sentence(id=f"s{i}", zh=zh) for i, zh in enumerate(
            ["政府发布了新的经济政策。", "该政策将促进贸易。"])]
        batch.translate_sentences(sentences)
    finally:
        batch.decoder.close()
    assert all(s.score is not None and 0.0 < s.score <= 1.0 for s in sentences)


def test_second_run_makes_no_request(env, llama_server):
    first = translate(env, llama_server)
    assert first.exit_code == 0, first.output
    second = translate(env, llama_server, out="again.tei.xml")
    assert second.exit_code == 0, second.output
    assert "0 decoded, decoder calls: 0" in second.output
    a, b = read_tei(env / "out.tei.xml"), read_tei(env / "again.tei.xml")
    assert [s.en for s in a.sentences()] == [s.en for s in b.sentences()]


def test_registered_name_and_model_list(env, llama_server):
    res = register("tiny", llama_server, "context_sentences=1")
    assert res.exit_code == 0, res.output
    assert "serves zhen-tiny-random" in res.output
    entry = json.loads((env / "models.json").read_text())["tiny"]
    assert entry["url"] == llama_server and entry["served_model"] == ALIAS
    closed = f"http://127.0.0.1:{free_port()}/v1"
    res = register("later", closed)
    assert res.exit_code == 0 and "not answering now" in res.output
    listing = zhen("model", "list")
    assert any(x.startswith("later\tllm") and "answers: no" in x
               for x in listing.output.splitlines())
    assert listing.exit_code == 0
    line = next(x for x in listing.output.splitlines() if x.startswith("tiny"))
    assert "\tllm\t" in line and "answers: yes" in line
    res = translate(env, "tiny")
    assert res.exit_code == 0, res.output


@pytest.mark.slow
def test_a_server_killed_mid_run_then_the_rerun_completes_the_rest(env, gguf_model, tmp_path):
    """Kill the server while zhen translates: one line, finished sentences kept; after a
    restart the rerun sends requests for the rest only."""
    require_llama()
    N = 30
    port = free_port()
    proc, url = start_llama(gguf_model, port)
    lines = [f"第{i}条新闻：政府发布了新的经济政策，促进贸易和投资。" for i in range(1, N + 1)]
    (env / "long.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    registry = env / "models.json"
    res = register("tiny", url, "concurrency=1", "backoff=0.05", "http_retries=2",
                   "context_sentences=0", "reply_retries=0")
    assert res.exit_code == 0, res.output
    environ = dict(os.environ, ZHEN_LLM_MODELS=str(registry),
                   ZHEN_MEMORY=str(env / "memory.sqlite3"))
    run = subprocess.Popen([sys.executable, "-m", "zhen", "translate", str(env / "long.txt"),
                            "-o", str(env / "long.tei.xml"), "--model", "tiny",
                            "--glossary", str(GLOSSARY), "-q"],
                           env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and machine_rows(env) < 5:
            time.sleep(0.05)
        assert machine_rows(env) >= 5, run.stderr.read() if run.poll() is not None else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        _, err = run.communicate(timeout=120)
    finally:
        stop(proc)
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    problem = [line for line in err.splitlines() if line.strip()]
    assert len(problem) == 1, err
    assert url in problem[0] and "in the memory; a rerun continues" in problem[0]
    assert "Traceback" not in err
    assert not (env / "long.tei.xml").exists()
    kept = machine_rows(env)
    assert 5 <= kept < N
    proc, url = start_llama(gguf_model, port)
    try:
        done = subprocess.run([sys.executable, "-m", "zhen", "translate", str(env / "long.txt"),
                               "-o", str(env / "long.tei.xml"), "--model", "tiny",
                               "--glossary", str(GLOSSARY)], env=environ,
                              capture_output=True, text=True, timeout=300)
    finally:
        stop(proc)
    assert done.returncode == 0, done.stderr
    assert f"{kept} from memory, {N - kept} decoded" in done.stderr
    assert len(read_tei(env / "long.tei.xml").sentences()) == N


def machine_rows(env: Path) -> int:
    path = env / "memory.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as db:
            return db.execute("SELECT count(*) FROM tm").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_eval_compares_the_llm_with_an_argos_package(env, llama_server, tiny_model):
    zh = ["政府发布了新的经济政策。", "印太地区的合作正在加强。", "新黄金时代需要努力。"]
    en = ["The government issued a new economic policy.",
          "Cooperation in the Indo-Pacific region is strengthening.",
          "The New Golden Age needs effort."]
    (env / "t.zh").write_text("\n".join(zh) + "\n", encoding="utf-8")
    (env / "t.en").write_text("\n".join(en) + "\n", encoding="utf-8")
    res = zhen("eval", "--source", env / "t.zh", "--reference", env / "t.en",
               "--model", tiny_model, "--model", llama_server, "--glossary", GLOSSARY,
               "--format", "json", "-o", env / "hyps")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output[res.output.index("["):res.output.rindex("]") + 1])
    assert [r["kind"] for r in rows] == ["argos", "llm"]
    assert rows[1]["model"] == ALIAS and rows[1]["sentences"] == 3
    for r in rows:
        assert r["term_success_wmt"] is None or 0.0 <= r["term_success_wmt"] <= 1.0
    assert len((env / "hyps" / f"{ALIAS}.en").read_text(encoding="utf-8").splitlines()) == 3


def test_wmt25_term_success():
    from zhen.document import Sentence, Term, TermMatch
    from zhen.evaluate import wmt_term_success

    terms = {"ip": Term("ip", "印太", "Indo-Pacific"), "us": Term("us", "美国", "United States")}
    s1 = Sentence("s1", "印太和印太", en="The Indo-Pacific.",
                  terms=[TermMatch("ip", 0, 2), TermMatch("ip", 3, 5)])
    s2 = Sentence("s2", "美国", en="The United States.", terms=[TermMatch("us", 0, 2)])
    s3 = Sentence("s3", "无", en="None.")
    assert wmt_term_success([s1, s2, s3], terms) == pytest.approx((0.5 + 1.0) / 2)
    assert wmt_term_success([s3], terms) is None


# -- what a random model cannot show: the scripted server --------------------------------------


@pytest.mark.parametrize("mode", ["think", "think-open", "preamble", "fence"])
def test_reply_hygiene(env, scripted, mode):
    url, log = scripted(mode)
    res = translate(env, url)
    assert res.exit_code == 0, res.output
    for s in read_tei(env / "out.tei.xml").sentences():
        assert s.en.startswith("Sentence ") and s.en.endswith(".")
        assert "<think" not in s.en and "translation" not in s.en and '"' not in s.en


def test_a_reply_with_chinese_is_retried_then_kept_and_flagged(env, scripted):
    url, log = scripted("chinese")
    (env / "one.txt").write_text("政府发布了新的经济政策。\n", encoding="utf-8")
    res = translate(env, url, source="one.txt")
    assert res.exit_code == 0, res.output
    bodies = requests_of(log)
    assert len(bodies) == 3  # the reply and two retries (reply_retries), no more
    assert [b["seed"] for b in bodies] == [42, 43, 44]
    assert bodies[0]["temperature"] == 0 and bodies[1]["temperature"] > 0
    (s,) = read_tei(env / "out.tei.xml").sentences()
    assert "还有中文" in s.en and "untranslated" in s.qa


def test_terms_in_the_prompt_checked_and_stressed_once(env, scripted):
    url, log = scripted("ok")
    res = translate(env, url)
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "out.tei.xml")
    statuses = [o.status.value for s in doc.sentences() for o in s.terms]
    assert statuses and set(statuses) == {"model"}
    prompts = [b["messages"][-1]["content"] for b in requests_of(log)]
    assert any("- 印太 → Indo-Pacific" in p for p in prompts)
    plain = next(p for p in prompts if "政府发布了新的经济政策" in p)
    assert "Glossary" not in plain  # only the terms of the sentence itself

    url, log = scripted("ignores-terms")
    res = translate(env, url, "--no-memory", out="missed.tei.xml")
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "missed.tei.xml")
    statuses = [o.status.value for s in doc.sentences() for o in s.terms]
    assert statuses and set(statuses) == {"missed"}
    stressed = [b for b in requests_of(log) if "MUST" in b["messages"][-1]["content"]]
    with_terms = [s for s in doc.sentences() if s.terms]
    assert len(stressed) == len(with_terms)  # one stressed retry each, no more

    url, log = scripted("stressed-terms")
    res = translate(env, url, "--no-memory", out="enforced.tei.xml")
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "enforced.tei.xml")
    statuses = [o.status.value for s in doc.sentences() for o in s.terms]
    assert statuses and set(statuses) == {"enforced"}
    header = (env / "enforced.tei.xml").read_text(encoding="utf-8")
    assert "a miss asked once more with the terms stressed" in header


def test_a_persons_correction_is_a_reference_in_a_similar_sentences_prompt(env, scripted):
    url, log = scripted("ok")
    (env / "a.txt").write_text("政府发布了新的经济政策。\n", encoding="utf-8")
    res = translate(env, url, source="a.txt", out="a.tei.xml")
    assert res.exit_code == 0, res.output
    # a person corrects the English in the TEI; the next run keeps it in the memory
    tree = etree.parse(str(env / "a.tei.xml"))
    (es,) = tree.getroot().xpath("//t:div[@xml:lang='en']//t:s", namespaces=NS)
    for child in list(es):
        es.remove(child)
    es.text = "The government issued a fresh economic policy."
    tree.write(str(env / "a.tei.xml"), xml_declaration=True, encoding="UTF-8")
    before = len(requests_of(log))
    res = translate(env, url, source="a.txt", out="a.tei.xml")
    assert res.exit_code == 0, res.output
    assert len(requests_of(log)) == before  # the person's translation: no request
    assert read_tei(env / "a.tei.xml").sentences()[0].human
    # a similar new sentence: the person's translation is a reference in its prompt
    (env / "b.txt").write_text("政府发布了新的经济政策和措施。\n", encoding="utf-8")
    res = translate(env, url, source="b.txt", out="b.tei.xml")
    assert res.exit_code == 0, res.output
    prompt = requests_of(log)[before]["messages"][-1]["content"]
    assert "The government issued a fresh economic policy." in prompt
    assert "政府发布了新的经济政策。" in prompt


def test_previous_sentences_are_context(env, scripted):
    url, log = scripted("ok")
    res = translate(env, url)
    assert res.exit_code == 0, res.output
    prompts = {b["messages"][-1]["content"] for b in requests_of(log)}
    second = next(p for p in prompts if p.rstrip().endswith("新黄金时代的发展需要各方共同努力。"))
    assert "Context" in second and "印太地区的合作正在加强。" in second


def test_concurrent_requests_keep_the_order(env, scripted):
    url, log = scripted("ok")
    assert register("s", url, "concurrency=4", "context_sentences=0").exit_code == 0
    res = translate(env, "s")
    assert res.exit_code == 0, res.output
    bodies = requests_of(log)
    for s in read_tei(env / "out.tei.xml").sentences():
        n = int(s.en.split()[1].rstrip("."))
        assert bodies[n - 1]["messages"][-1]["content"].rstrip().endswith(s.zh)


def test_json_array_batches_and_their_fallback(env, scripted):
    url, log = scripted("batch")
    assert register("b", url, "batch_sentences=3", "context_sentences=0").exit_code == 0
    res = translate(env, "b")
    assert res.exit_code == 0, res.output
    bodies = requests_of(log)
    assert any(b.get("response_format", {}).get("schema", {}).get("minItems") == 2
               or b.get("response_format", {}).get("schema", {}).get("minItems") == 3
               for b in bodies)
    assert len(read_tei(env / "out.tei.xml").sentences()) == 6

    url, log = scripted("batch-wrong-count")
    assert register("w", url, "batch_sentences=3", "context_sentences=0").exit_code == 0
    res = translate(env, "w", "--no-memory", out="w.tei.xml")
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "w.tei.xml")
    assert len(doc.sentences()) == 6 and all(s.en.startswith("Sentence") for s in doc.sentences())

    url, log = scripted("batch-refused")  # a server without JSON schemas: single sentences
    assert register("r", url, "batch_sentences=3", "context_sentences=0").exit_code == 0
    res = translate(env, "r", "--no-memory", out="r.tei.xml")
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "r.tei.xml")
    assert len(doc.sentences()) == 6 and all(s.en.startswith("Sentence") for s in doc.sentences())
    # refused once per group at most (both groups of 3 may be in flight together)
    assert sum(1 for b in requests_of(log) if b.get("response_format")) <= 2


def test_max_tokens_bounds_a_model_that_never_stops(env, scripted):
    url, log = scripted("never-stops")
    assert register("n", url, "reply_retries=0").exit_code == 0
    res = translate(env, "n")
    assert res.exit_code == 0, res.output
    for body in requests_of(log):
        zh = body["messages"][-1]["content"].splitlines()[-1]
        assert body["max_tokens"] == int(len(zh) * 2.0) + 32


def test_busy_and_malformed_replies_are_retried(env, scripted):
    for mode in ("busy", "malformed"):
        url, log = scripted(mode)
        assert register(mode, url, "backoff=0.01").exit_code == 0
        res = translate(env, mode, "--no-memory", out=f"{mode}.tei.xml")
        assert res.exit_code == 0, res.output
        assert len(read_tei(env / f"{mode}.tei.xml").sentences()) == 6


@pytest.mark.parametrize("mode, expected", [
    ("error500", "HTTP 500"),
    ("malformed-always", "not an OpenAI-compatible chat completion"),
])
def test_faults_are_one_line(env, scripted, mode, expected):
    url, log = scripted(mode)
    assert register("f", url, "backoff=0.01", "http_retries=2").exit_code == 0
    res = translate(env, "f")
    assert res.exit_code != 0
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and expected in lines[0] and url in lines[0]
    assert not (env / "out.tei.xml").exists()


def test_no_server_at_the_url(env):
    url = f"http://127.0.0.1:{free_port()}/v1"
    res = translate(env, url)
    assert res.exit_code != 0
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and url in lines[0] and "llama-server" in lines[0]
    assert "ollama serve" in lines[0]


def test_api_key_from_its_variable_never_written(env, scripted, monkeypatch):
    url, log = scripted("auth")
    monkeypatch.setenv("ZHEN_TEST_KEY", "sekrit-123")
    res = register("k", url, api_key_env="ZHEN_TEST_KEY")
    assert res.exit_code != 0 and "ZHEN_TEST_KEY" in res.output
    url, log = scripted("ok")
    res = register("k", url, api_key_env="ZHEN_TEST_KEY")
    assert res.exit_code == 0, res.output
    res = translate(env, "k")
    assert res.exit_code == 0, res.output
    assert all(b["_auth"] == "Bearer sekrit-123" for b in requests_of(log))
    for path in (env / "models.json", env / "memory.sqlite3", env / "out.tei.xml"):
        assert b"sekrit" not in path.read_bytes()
    monkeypatch.delenv("ZHEN_TEST_KEY")
    res = translate(env, "k", out="x.tei.xml")
    assert res.exit_code != 0 and "ZHEN_TEST_KEY" in res.output


@pytest.mark.parametrize("args, expected", [
    (["model", "add", "x", "ftp://127.0.0.1/v1"], "not an http(s) URL"),
    (["model", "add", "x", "http://127.0.0.1:9/v1", "--profile", "gpt9"], "no such profile"),
    (["model", "add", "x", "http://127.0.0.1:9/v1", "--api-key-env", "my key"],
     "not an environment variable's name"),
    (["model", "add", "x", "http://127.0.0.1:9/v1", "--set", "beam=4"], "no such setting"),
    (["translate", "article.txt", "--model", "ftp://127.0.0.1/v1", "--glossary", GLOSSARY],
     "not an http(s) URL"),
])
def test_bad_input_is_one_line(env, args, expected, monkeypatch):
    monkeypatch.chdir(env)
    res = zhen(*args)
    assert res.exit_code != 0
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and expected in lines[0], res.output
    assert not (env / "models.json").exists() and not (env / "output").exists()


def test_several_or_no_served_models(env, scripted):
    url, _ = scripted("ok", models="a-model,b-model")
    res = register("x", url)
    assert res.exit_code != 0 and "--served-model" in res.output
    res = register("x", url, served_model="b-model")
    assert res.exit_code == 0, res.output
    url, _ = scripted("ok", models="")
    res = translate(env, url)
    assert res.exit_code != 0 and "serves no model" in res.output


def test_a_model_without_chat_template(env, scripted):
    """llama-server's /props says when a model has no chat template (llama-cpp-python's
    server falls back to a built-in one, so it cannot show it)."""
    url, log = scripted("no-template")
    res = translate(env, url)
    assert res.exit_code != 0 and "--profile completion" in res.output
    assert register("p", url, profile="completion").exit_code == 0
    res = translate(env, "p")
    assert res.exit_code == 0, res.output
    assert all(b["_path"] == "/v1/completions" and b["prompt"].endswith("English:")
               for b in requests_of(log))


def test_the_completion_profile_on_a_real_server(env, llama_server):
    assert register("c", llama_server, profile="completion").exit_code == 0
    res = translate(env, "c")
    assert res.exit_code == 0, res.output
    doc = read_tei(env / "out.tei.xml")
    assert len(doc.sentences()) == 6 and all("\n" not in s.en for s in doc.sentences())


def test_concurrency_from_the_servers_slots(env, scripted):
    from zhen.engines.llm.registry import resolve

    url, _ = scripted("ok")
    assert resolve(url).concurrency == 3  # its /props: total_slots
    assert register("one", url, "concurrency=1").exit_code == 0
    assert resolve("one").concurrency == 1
    assert register("two", url).exit_code == 0  # asked when the first sentence needs it
    model = resolve("two")
    client = model.client()
    try:
        assert model.parallel(client) == 3
    finally:
        client.close()


def test_a_registered_server_is_not_needed_when_nothing_is_to_translate(env, scripted):
    url, log = scripted("ok")
    # few, short retries: the server that is gone at the end is refused at once
    assert register("s", url, "backoff=0.05", "http_retries=1").exit_code == 0
    assert translate(env, "s", "--update").exit_code == 0
    # the server goes away: `make` with every output up to date still works
    gone = f"http://127.0.0.1:{free_port()}/v1"
    entries = json.loads((env / "models.json").read_text())
    entries["s"]["url"] = gone
    (env / "models.json").write_text(json.dumps(entries))
    res = translate(env, "s", "--update")
    assert res.exit_code == 0 and "1 up to date" in res.output, res.output
    (env / "article.txt").write_text(TEXT + "新的一段。\n", encoding="utf-8")
    res = translate(env, "s", "--update")
    assert res.exit_code != 0 and "no server answers" in res.output and gone in res.output


def test_cluster_is_refused_for_a_model_on_a_server(env, scripted):
    url, _ = scripted("ok")
    res = translate(env, url, "--cluster", "local:2")
    assert res.exit_code != 0
    lines = [x for x in res.output.splitlines() if x.strip()]
    assert len(lines) == 1 and "run without --cluster" in lines[0]


def test_ctrl_c_keeps_what_finished(env, scripted):
    """SIGINT during a run against a slow server: exit 130 at once, one line, the memory
    keeps the sentences finished before."""
    url, log = scripted("slow-after-3")
    registry = env / "models.json"
    assert register("s", url, "concurrency=1", "context_sentences=0").exit_code == 0
    environ = dict(os.environ, ZHEN_LLM_MODELS=str(registry),
                   ZHEN_MEMORY=str(env / "memory.sqlite3"))
    run = subprocess.Popen([sys.executable, "-m", "zhen", "translate", str(env / "article.txt"),
                            "-o", str(env / "out.tei.xml"), "--model", "s", "--glossary",
                            str(GLOSSARY), "-q"], env=environ, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(requests_of(log)) < 4:
        time.sleep(0.05)
    time.sleep(0.3)
    started = time.monotonic()
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=30)
    assert time.monotonic() - started < 5  # the slow reply in flight is not waited for
    assert run.returncode == 130
    assert "interrupted; 3 decoded sentence(s) saved in the memory" in err
    assert machine_rows(env) == 3 and not (env / "out.tei.xml").exists()


def test_update_skips_an_up_to_date_output_without_a_request(env, scripted):
    url, log = scripted("ok")
    assert translate(env, url, "--update").exit_code == 0
    sent = len(requests_of(log))
    res = translate(env, url, "--update")
    assert res.exit_code == 0 and "1 up to date" in res.output
    assert len(requests_of(log)) == sent
    res = translate(env, url, "--update", "--no-enforce")  # another setting: translated again
    assert res.exit_code == 0 and "0 up to date" in res.output


def test_context_never_crosses_documents(env, scripted):
    url, log = scripted("ok")
    (env / "a.txt").write_text("第一篇的第一句。第一篇的第二句。\n", encoding="utf-8")
    (env / "b.txt").write_text("第二篇的第一句。第二篇的第二句。\n", encoding="utf-8")
    res = zhen("translate", env / "a.txt", env / "b.txt", "-o", env / "out", "--model", url,
               "--glossary", GLOSSARY)
    assert res.exit_code == 0, res.output
    prompts = [b["messages"][-1]["content"] for b in requests_of(log)]
    first_b = next(p for p in prompts if p.rstrip().endswith("第二篇的第一句。"))
    second_b = next(p for p in prompts if p.rstrip().endswith("第二篇的第二句。"))
    assert "第一篇" not in first_b and "Context" not in first_b
    assert "第二篇的第一句。" in second_b.split("Translate")[0]
    header = (env / "out" / "a.tei.xml").read_text(encoding="utf-8")
    assert "length cap" not in header and "beam size" not in header
