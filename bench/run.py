#!/usr/bin/env python3
"""zhen throughput benchmark on the synthetic `base` model (see bench/README.md).

One run prints one table: (a) raw CTranslate2 `translate_batch` (the floor), (b) `zhen
translate` end to end with a fresh memory, (b') the same without glossary enforcement,
(c) argostranslate's own translation path, (d) `zhen translate` again from (b)'s memory,
(b.cl) (b) on a local Dask cluster of two worker processes on the same cores, then ratios against the issue's targets, a linearity check and a small table of decoder
settings.  Every measurement runs in a subprocess of its own, so its peak RSS is its own
(its VmHWM, polled).  Cached in bench/out/ (git-ignored): the model, the corpus, argos' venv.

The argos worker runs this same file in argos' own venv, which has no zhen: at import, only
the standard library is required (zhen's DecodingOptions defaults are read when present).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MODEL = OUT / "base.argosmodel"
TINY = OUT / "tiny.argosmodel"  # for the pipeline's linearity up to 1M characters
LINEAR_DOCS = (10, 100, 1000)  # ~10k, 100k and 1M characters
CORPUS = OUT / "corpus"
GLOSSARY_ADDITION = ("安全", "security")  # for (g): frequent in the corpus, not in the glossary
RUNS = OUT / "runs"
ZHEN_CACHE = OUT / "zhen-cache"  # zhen unpacks the model here, not in the user cache
ARGOS_VENV = OUT / "argos-venv"
ARGOS_HOME = OUT / "argos-home"  # argostranslate's data, config, cache and packages
SOURCES = [*sorted((ROOT / "input").glob("*.txt")), ROOT / "tests" / "data" / "unseen-article.txt"]
ARGOS_VERSION = "1.11.0"
TORCH_VERSION = "2.13.0"  # a CPU wheel of it lies on this machine's disk (see machine notes)
DOC_CHARS = 1000  # characters per generated document
SEED = 20240611

# Same decoding options for every row: zhen's defaults ((c) can only share the beam size).
try:
    from zhen.settings import DecodingOptions

    _ZHEN = DecodingOptions().resolved("cpu")
    BEAM, BATCH_SIZE, BATCH_TYPE = _ZHEN.beam_size, _ZHEN.batch_size, _ZHEN.batch_type
    _ZHEN_NBEST = _ZHEN.num_hypotheses
    RATIO, EXTRA = _ZHEN.max_length_ratio, _ZHEN.max_length_extra  # cap: RATIO × input + EXTRA
    COMPUTE_TYPE, LENGTH_PENALTY = _ZHEN.compute_type, _ZHEN.length_penalty
except ImportError:  # argos' venv (its worker gets the beam size from the environment)
    BEAM, BATCH_SIZE, BATCH_TYPE, RATIO, EXTRA, COMPUTE_TYPE = 2, 512, "tokens", 1.5, 10, "int8"
    LENGTH_PENALTY = 1.0
    _ZHEN_NBEST = 4
EX_BATCH = 32  # (b.ex): sentence-bounded batches, zhen's default before token batches

# Chinese sentence ends for argos' regex splitter: a run of terminals plus closing quotes.
ZH_SENTENCE = re.compile(r".+?(?:[。！？；…!?]+[”’」』）》)\]]*|$)", re.S)


# -- helpers -------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def busy_cores(seconds: float = 1.0) -> float:
    """Cores busy machine-wide over `seconds` (this harness idles meanwhile): the noise."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:]]
        idle = vals[3] + vals[4]
        return sum(vals[:8]) - idle, sum(vals[:8])

    try:
        b0, t0 = sample()
        time.sleep(seconds)
        b1, t1 = sample()
    except OSError:
        return float("nan")
    return (b1 - b0) / max(t1 - t0, 1) * (os.cpu_count() or 1)


@dataclass
class Run:
    """One measured subprocess."""

    wall: float
    rss_mb: float
    rc: int
    stdout: str
    stderr: str
    busy_before: float = float("nan")
    cpu: float = float("nan")  # user + system seconds of the process

    def json(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


def run_measured(cmd: list[str], env: dict | None = None) -> Run:
    """Run cmd; wall time, CPU time (wait4's rusage) and the peak RSS of that one process.

    The peak is the child's own VmHWM, polled: wait4's ru_maxrss is no good here, since
    Linux carries the parent's RSS at fork over into the child's, so every child of a large
    harness would seem large.
    """
    busy = busy_cores()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        peak_kb = 0
        while True:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, peak_kb / 1024, proc.returncode,
                   out.read().decode(errors="replace"), err.read().decode(errors="replace"), busy,
                   usage.ru_utime + usage.ru_stime)


def _vm_hwm_kb(pid: int) -> int:
    """The peak resident set of a running process, in kB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_cmd(python: Path | str, name: str, args: dict) -> list[str]:
    return [str(python), str(Path(__file__).resolve()), "--worker", name, json.dumps(args)]


def zhen_env() -> dict:
    env = dict(os.environ, ZHEN_CACHE_DIR=str(ZHEN_CACHE))
    env.pop("ZHEN_MEMORY", None)
    return env


def zhen_cmd() -> list[str]:
    script = Path(sys.executable).parent / "zhen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "zhen"]


def chars_of(files: list[Path]) -> int:
    return sum(len(line.strip()) for f in files for line in f.read_text("utf-8").splitlines())


def fail(run: Run, what: str) -> None:
    if run.rc != 0:
        sys.exit(f"bench: {what} failed (exit {run.rc}):\n{run.stderr[-3000:]}")


def measure_llm(ldocs: list[Path], tiny: Path, rows: dict) -> str:
    """(l) `zhen translate` with its LLM engine on llama-cpp-python's server with a tiny
    random GGUF, and (l.floor) the same server driven directly with the same concurrent
    requests; adds both rows, or returns why not."""
    proc, url = llm_server()
    if proc is None:
        return url
    try:
        registry = RUNS / "llm-models.json"
        registry.unlink(missing_ok=True)
        env = dict(zhen_env(), ZHEN_LLM_MODELS=str(registry))
        sets = [x for k, v in LLM_SETTINGS.items() for x in ("--set", f"{k}={v}")]
        added = subprocess.run([*zhen_cmd(), "model", "add", "bench", url, *sets],
                               env=env, capture_output=True, text=True)
        if added.returncode:
            sys.exit(f"bench: zhen model add failed: {added.stderr}")
        from zhen.engines.llm.profiles import choose_profile

        def floor_run():
            run = run_measured(worker_cmd(sys.executable, "llm_floor", {
                "files": list(map(str, ldocs)), "url": url, "served": LLM_ALIAS,
                "profile": choose_profile(LLM_ALIAS).name, "settings": LLM_SETTINGS,
                "concurrency": LLM_CONCURRENCY}))
            fail(run, "(l.floor)")
            return run

        floor_run()  # warms the server up

        def llm_run(docs, out, memory):
            if out.exists():
                shutil.rmtree(out)
            return run_measured([*zhen_cmd(), "translate", *map(str, docs), "-o", str(out),
                                 "--model", "bench", "--memory", str(memory), "--no-enforce"],
                                env)

        walls = []
        for _ in range(3):
            r = llm_run([tiny], RUNS / "tiny-llm", fresh_memory("tiny-llm"))
            fail(r, "zhen translate (one sentence, model server)")
            walls.append(r.wall)
        llm_fixed = statistics.median(walls)
        log(f"(l) zhen translate --model {url} on {len(ldocs)} documents, (l.floor) the "
            f"same requests direct: {LLM_REPS} runs each, alternating")
        zhen_runs, floor_runs = [], []
        for _ in range(LLM_REPS):  # alternating, so that both meet the same machine load
            r = llm_run(ldocs, RUNS / "l", fresh_memory("l"))
            fail(r, "(l)")
            zhen_runs.append(r)
            floor_runs.append(floor_run())
        r = sorted(zhen_runs, key=lambda x: x.wall)[LLM_REPS // 2]  # the median run
        lf = sorted(floor_runs, key=lambda x: x.json()["seconds"])[LLM_REPS // 2]
        fl = lf.json()
        lchars, lsent = chars_of(ldocs), len(_zhen_sentences(list(map(str, ldocs))))
        rows["l"] = Row("l", "zhen translate, LLM server", len(ldocs), lchars, lsent, r.wall,
                        r.wall - llm_fixed, r.rss_mb, r.busy_before, r.cpu,
                        [f"requests {decoder_calls(r)}", f"fixed cost {llm_fixed:.1f}s",
                         f"median of {LLM_REPS}"])
        rows["l.floor"] = Row("l.floor", "same requests, httpx direct", len(ldocs), lchars,
                              lsent, lf.wall, fl["seconds"], lf.rss_mb, lf.busy_before, lf.cpu,
                              [f"requests {fl['requests']}", f"concurrency {LLM_CONCURRENCY}",
                               f"median of {LLM_REPS}"])
    finally:
        proc.terminate()
        proc.wait()
    return ""


# -- model and corpus ----------------------------------------------------------------------


def ensure_model() -> Path:
    if not MODEL.is_file():
        log("building the synthetic base model (6+6 layers, d512, 32k vocabulary)")
        from zhen.engines.synth import build_synthetic_package

        build_synthetic_package(MODEL, size="base", seed=0)
    return MODEL


def package_dir(model: Path) -> Path:
    """The unpacked package zhen uses for `model` (unpacked on first use)."""
    os.environ["ZHEN_CACHE_DIR"] = str(ZHEN_CACHE)
    from zhen.engines.registry import resolve_model

    return resolve_model(str(model)).path


_PAIRS = ("“”", "‘’", "《》", "（）", "「」", "『』", "()")
_TERMINAL_TAIL = re.compile(r"[。！？；…!?.;]+[”’」』）》)]*$")


def _balanced(text: str) -> bool:
    return all(text.count(a) == text.count(b) for a, b in _PAIRS)


def source_sentences() -> list[str]:
    from zhen.readers.text import read_text_file
    from zhen.segment import segment_sentences

    found = []
    for path in SOURCES:
        paragraphs, _ = read_text_file(path)
        for para in paragraphs:
            found += [s.strip() for s in segment_sentences(para) if s.strip()]
    return found


def generate_corpus(n_docs: int, seed: int = SEED, folder: Path = CORPUS) -> list[Path]:
    """n_docs documents of ~DOC_CHARS characters: the sample articles' clauses recombined.

    Sentences keep the sources' clause counts and endings; every sentence is unique, so
    the translation memory never hits within a run.  Deterministic for a seed.
    """
    rng = random.Random(seed)
    clauses, counts, ends = [], [], []
    for sent in source_sentences():
        tail = _TERMINAL_TAIL.search(sent)
        if not tail:  # a heading
            continue
        ends.append(tail.group())
        parts = [p.strip("，") for p in re.split(r"(?<=，)", sent[: tail.start()])]
        parts = [p for p in parts if p]
        counts.append(len(parts))
        clauses += [p for p in parts if _balanced(p)]
    clauses = sorted(set(clauses))
    short = [c for c in clauses if len(c) <= 20 and not re.search(r"[，。、：；“”]", c)]
    seen: set[str] = set()

    def sentence() -> str:
        n = rng.choice(counts)
        for tries in range(1000):
            k = min(n + tries // 20, len(clauses))
            text = "，".join(rng.sample(clauses, k)) + rng.choice(ends)
            if text not in seen:
                seen.add(text)
                return text
        raise RuntimeError("corpus generator ran out of unique sentences")

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for d in range(1, n_docs + 1):
        heading = next((h for h in rng.sample(short, len(short)) if h not in seen), None)
        lines = [heading] if heading else []
        seen.add(heading or "")
        size = len(heading or "")
        while size < DOC_CHARS:
            para = "".join(sentence() for _ in range(rng.randint(2, 5)))
            lines.append(para)
            size += len(para)
        path = folder / f"doc{d:04d}.txt"
        text = "\n\n".join(lines) + "\n"
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")
        files.append(path)
    for stale in set(folder.glob("doc*.txt")) - set(files):
        stale.unlink()
    return files


# -- workers (run as subprocesses) ----------------------------------------------------------


def _zhen_sentences(files: list[str]) -> list[str]:
    """The sentences zhen decodes, as zhen reads and segments them."""
    from zhen.readers import read_texts
    from zhen.segment import segment_sentences

    return [s for f in files for text in read_texts(Path(f)) for s in segment_sentences(text)]


def _thread_split(threads: int, batch_type: str = BATCH_TYPE) -> tuple[int, int]:
    """(inter_threads, intra_threads) as zhen's Translator uses them."""
    from zhen.engines.engine import thread_split

    return thread_split(threads, batch_type)


def worker_floor(a: dict) -> dict:
    """(a): one translate_batch over the pre-tokenised sentences; load and tokenising excluded."""
    import ctranslate2
    import sentencepiece as spm

    sentences = _zhen_sentences(a["files"])
    sp = spm.SentencePieceProcessor(model_file=str(Path(a["package"]) / "sentencepiece.model"))
    tokens = [sp.encode(s, out_type=str) for s in sentences]
    kind, size = a.get("batch_type", BATCH_TYPE), a.get("batch_size", BATCH_SIZE)
    inter, intra = a.get("threads") or _thread_split(0, kind)
    t0 = time.perf_counter()
    model = ctranslate2.Translator(str(Path(a["package"]) / "model"), device="cpu",
                                   compute_type=COMPUTE_TYPE, inter_threads=inter,
                                   intra_threads=intra)
    load = time.perf_counter() - t0
    longest = max(len(t) for t in tokens)
    t0 = time.perf_counter()
    results = model.translate_batch(
        tokens, beam_size=BEAM, max_batch_size=size, batch_type=kind,
        max_decoding_length=int(longest * RATIO) + EXTRA, max_input_length=0,
        replace_unknowns=True, length_penalty=LENGTH_PENALTY,  # as zhen decodes
    )
    seconds = time.perf_counter() - t0
    out_lens = [len(r.hypotheses[0]) for r in results]
    capped = sum(1 for t, n in zip(tokens, out_lens) if n >= int(len(t) * RATIO) + EXTRA)
    return {
        "sentences": len(sentences), "load": load, "seconds": seconds,
        "in_tokens": sum(map(len, tokens)), "out_tokens": sum(out_lens),
        "mean_ratio": statistics.mean(n / max(len(t), 1) for t, n in zip(tokens, out_lens)),
        "capped": capped, "inter": inter, "intra": intra,
    }


def worker_argos(a: dict) -> dict:
    """(c): argostranslate.translate on the installed package, a regex sentence splitter."""
    t0 = time.perf_counter()
    from argostranslate import package, translate

    class RegexSentencizer:  # argos' own splitters download their models
        def __init__(self, pkg):
            self.pkg = pkg

        def split_sentences(self, text: str) -> list[str]:
            return [s for s in ZH_SENTENCE.findall(text) if s.strip()]

    translate.MiniSBDSentencizer = translate.StanzaSentencizer = RegexSentencizer
    translate.SpacySentencizerSmall = RegexSentencizer
    imports = time.perf_counter() - t0
    installed = Path(os.environ["ARGOS_PACKAGES_DIR"]) / a["package_name"]
    if not (installed / "metadata.json").is_file():
        package.install_from_path(Path(a["model"]))
    t0 = time.perf_counter()
    translation = translate.get_translation_from_codes("zh", "en")
    translation.translate("今天。")  # loads the CTranslate2 model (lazily, on first use)
    load = time.perf_counter() - t0
    texts = ["\n".join(ln.strip() for ln in Path(f).read_text("utf-8").splitlines() if ln.strip())
             for f in a["files"]]
    sentences = sum(len(RegexSentencizer(None).split_sentences(p))
                    for t in texts for p in t.split("\n"))
    t0 = time.perf_counter()
    out_chars = sum(len(translation.translate(t)) for t in texts)
    seconds = time.perf_counter() - t0
    import argostranslate.settings as st

    return {"imports": imports, "load": load, "seconds": seconds, "sentences": sentences,
            "out_chars": out_chars, "beam": st.beam_size, "inter": st.inter_threads,
            "intra": st.intra_threads, "batch": st.batch_size, "compute": st.compute_type}


def worker_llm_floor(a: dict) -> dict:
    """(l.floor): the requests zhen's LLM engine sends for the documents (one per distinct
    sentence: its prompt with the previous sentences and the sentence's glossary terms, its
    max_tokens and sampling: zhen's own request builder), sent straight to the server with
    httpx, `concurrency` at a time.  Building the prompts is not timed."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    from zhen.engines.llm.profiles import get_profile
    from zhen.engines.llm.prompt import build_prompt
    from zhen.engines.llm.translator import max_tokens_for, request_body
    from zhen.settings import LlmOptions
    from zhen.terminology.glossary import load_glossary
    from zhen.terminology.matcher import TermMatcher, match_terms

    options = LlmOptions.from_mapping(a["settings"])
    profile = get_profile(a["profile"])
    glossary = load_glossary(ROOT / "glossary" / "terms.tsv")
    matcher = TermMatcher.from_glossary(glossary)
    terms = {t.id: t for t in glossary.terms}
    k = options.context_sentences
    bodies, seen = [], set()
    for f in a["files"]:
        sentences = _zhen_sentences([f])
        for i, zh in enumerate(sentences):
            if zh in seen:
                continue
            seen.add(zh)
            pairs = []
            for m in match_terms(matcher, zh):
                pair = (zh[m.start:m.end], terms[m.term_id].rendering)
                if pair not in pairs:
                    pairs.append(pair)
            req = build_prompt(profile, zh, terms=pairs,
                               context=sentences[max(0, i - k):i] if k else [])
            bodies.append(request_body(a["served"], profile, options, req,
                                       max_tokens_for(zh, options)))
    client = httpx.Client(base_url=a["url"], timeout=600, trust_env=False,
                          limits=httpx.Limits(max_connections=a["concurrency"]))

    def send(body: dict) -> int:
        resp = client.post("/chat/completions", json=body)
        resp.raise_for_status()
        return len(resp.json()["choices"][0]["message"]["content"])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(a["concurrency"]) as pool:
        chars = sum(pool.map(send, bodies))
    return {"seconds": time.perf_counter() - t0, "requests": len(bodies), "chars": chars}


WORKERS = {"floor": worker_floor, "argos": worker_argos, "llm_floor": worker_llm_floor}


# -- the LLM engine against a model server ------------------------------------------------------

LLM_GGUF = OUT / "tiny-random.gguf"
LLM_ALIAS = "zhen-bench-tiny"
LLM_CONCURRENCY = 4
LLM_REPS = 3  # runs of (l) and of (l.floor), alternating; the medians are compared
# zhen's defaults, but no reply retries: a random model's replies are noise, and a retry of
# one zhen finds wanting would be work the floor does not do; with --no-enforce, the
# requests are the floor's own.
LLM_SETTINGS = {"reply_retries": "0", "concurrency": str(LLM_CONCURRENCY)}


def llm_server():
    """llama-cpp-python's server with a tiny random GGUF on a free loopback port:
    (process, base URL), or (None, why not)."""
    import socket

    try:
        import llama_cpp.server  # noqa: F401
        from zhen.engines.llm.synth import write_tiny_gguf
    except ImportError as exc:
        return None, f"llama-cpp-python[server] is not installed ({exc}): make setup"
    if not LLM_GGUF.is_file():
        write_tiny_gguf(LLM_GGUF)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(LLM_GGUF), "--host",
         "127.0.0.1", "--port", str(port), "--model_alias", LLM_ALIAS, "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    import urllib.request

    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/models", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                return None, f"its server exited with {proc.returncode}"
            time.sleep(0.1)
    proc.kill()
    return None, "its server did not come up in 60 s"


# -- argos' environment ----------------------------------------------------------------------


def argos_python() -> tuple[Path | None, str]:
    """argos' own venv with its full dependencies (stanza, torch, …); created on first use."""
    py = ARGOS_VENV / "bin" / "python"
    probe = [str(py), "-c", "import argostranslate.translate, ctranslate2, torch"]
    env = argos_env(1, 1)
    if py.exists() and subprocess.run(probe, env=env, capture_output=True).returncode == 0:
        return py, ""
    import ctranslate2

    log(f"creating {ARGOS_VENV.relative_to(ROOT)}: argostranslate {ARGOS_VERSION} with its "
        f"dependencies, torch {TORCH_VERSION} (first run only, ~1-2 min)")
    install_log = OUT / "argos-install.log"
    steps = [
        [sys._base_executable, "-m", "venv", "--clear", str(ARGOS_VENV)],
        [str(py), "-m", "pip", "install", "--quiet", f"torch=={TORCH_VERSION}"],
        [str(py), "-m", "pip", "install", "--quiet", f"argostranslate=={ARGOS_VERSION}",
         f"ctranslate2=={ctranslate2.__version__}"],  # the CTranslate2 zhen runs on
    ]
    with open(install_log, "w") as fh:
        for step in steps:
            if subprocess.run(step, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
                tail = install_log.read_text().strip().splitlines()[-1:] or ["?"]
                return None, f"`{' '.join(step[2:5])}` failed: {tail[0][:160]}"
    if subprocess.run(probe, env=env, capture_output=True).returncode != 0:
        return None, "argostranslate does not import in its venv (see bench/out/argos-install.log)"
    return py, ""


def argos_env(inter: int, intra: int) -> dict:
    env = dict(os.environ)
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_CACHE_HOME", "cache"), ("ARGOS_PACKAGES_DIR", "packages")):
        env[var] = str(ARGOS_HOME / sub)
    env.update(ARGOS_BEAM_SIZE=str(BEAM), ARGOS_COMPUTE_TYPE=COMPUTE_TYPE,
               ARGOS_DEVICE_TYPE="cpu", ARGOS_INTER_THREADS=str(inter),
               ARGOS_INTRA_THREADS=str(intra), ARGOS_DEBUG="0")
    return env


# -- the benchmark ---------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    what: str
    docs: int
    chars: int
    sentences: int
    total: float  # seconds, whole process
    work: float  # seconds, model load and start-up excluded
    rss_mb: float
    busy: float
    cpu: float  # user + system seconds of the whole process
    notes: list[str] = field(default_factory=list)
    notes_stderr: str = ""  # zhen's own summary, for figures read from it

    @property
    def sps(self) -> float:
        return self.sentences / self.work

    @property
    def cps(self) -> float:
        return self.chars / self.work


def zhen_translate(files: list[Path], out: Path, memory: Path | None, *extra: str,
                   model: Path = MODEL) -> Run:
    if out.exists():
        shutil.rmtree(out)
    mem = ["--memory", str(memory)] if memory else ["--no-memory"]
    cmd = [*zhen_cmd(), "translate", *map(str, files), "-o", str(out), "--model", str(model),
           *mem, *extra]
    return run_measured(cmd, zhen_env())


def fresh_memory(name: str) -> Path:
    """An empty translation-memory path under bench/out/runs."""
    path = RUNS / f"memory-{name}.sqlite3"
    for f in RUNS.glob(path.name + "*"):
        f.unlink()
    return path


def decoder_calls(run: Run) -> int:
    """N of zhen's summary line `decoder calls: N` (-1 if absent)."""
    m = re.search(r"decoder calls: (\d+)", run.stderr)
    return int(m.group(1)) if m else -1


def decoder_calls_of(row: Row) -> int:
    m = re.search(r"decoder calls (-?\d+)", "; ".join(row.notes))
    return int(m.group(1)) if m else -1


def changed_matches(before: Path, after: Path, sentences: set[str]) -> int:
    """How many of `sentences` match other glossary entries (or spans) under `after`."""
    from zhen.terminology.glossary import load_glossary
    from zhen.terminology.matcher import TermMatcher, match_terms

    old, new = (TermMatcher.from_glossary(load_glossary(p)) for p in (before, after))

    def spans(matcher, s):
        return [(m.term_id, m.start, m.end) for m in match_terms(matcher, s)]

    return sum(spans(old, s) != spans(new, s) for s in sentences)


def log_slope(points: list[tuple[float, float]]) -> float:
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# Decoder settings compared: threads ("1x": one worker on every core, "Nx": one worker per
# core, one thread each, None: zhen's own split), batch type and size.
GRID = [
    (None, "examples", 32),
    ("1x", "tokens", 1024),
    ("Nx", "examples", 32),
    ("Nx", "examples", 16),
    ("Nx", "tokens", 256),
    ("Nx", "tokens", 512),
    ("Nx", "tokens", 1024),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=90,
                    help="documents in the corpus, ~1,060 characters each [90]")
    ap.add_argument("--subset", type=int, default=5, help="first N documents for (c), "
                    "(b.ex) and the middle linearity point [5]")
    ap.add_argument("--small", type=int, default=2,
                    help="first N documents for the small linearity point [2]")
    ap.add_argument("--grid-docs", type=int, default=3,
                    help="first N documents for the decoder-settings table [3]")
    ap.add_argument("--grid-reps", type=int, default=2)
    ap.add_argument("--no-argos", action="store_true", help="skip (c)")
    ap.add_argument("--no-grid", action="store_true", help="skip the decoder-settings table")
    ap.add_argument("--llm-docs", type=int, default=5,
                    help="first N documents for the LLM engine's rows (l), (l.floor) [5]")
    ap.add_argument("--no-llm", action="store_true", help="skip (l) and (l.floor)")
    ap.add_argument("--no-linear", action="store_true",
                    help="skip the pipeline's linearity check up to 1M characters")
    args = ap.parse_args()
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    RUNS.mkdir(exist_ok=True)
    ensure_model()
    pkg = package_dir(MODEL)
    model_mb = sum(f.stat().st_size for f in (pkg / "model").iterdir()) / 2**20
    files = generate_corpus(args.docs)
    sub = files[: min(args.subset, len(files))]
    small = files[: min(args.small, len(files))]
    chars, sub_chars = chars_of(files), chars_of(sub)
    n_sent = len(_zhen_sentences(list(map(str, files))))
    sub_sent = len(_zhen_sentences(list(map(str, sub))))
    log(f"corpus: {len(files)} documents, {chars:,} characters, {n_sent:,} sentences in "
        f"{CORPUS.relative_to(ROOT)}")
    from zhen.engines.engine import available_cores

    cores = available_cores()
    rows: dict[str, Row] = {}

    def zhen_row(key: str, what: str, docs: list[Path], memory: Path | None, *extra: str) -> Row:
        log(f"({key}) {what} on {len(docs)} documents")
        r = zhen_translate(docs, RUNS / key, memory, *extra)
        fail(r, f"({key}) zhen translate {' '.join(extra)}")
        whole = docs is files
        row = Row(key, what, len(docs), chars if whole else chars_of(docs),
                  n_sent if whole else len(_zhen_sentences(list(map(str, docs)))),
                  r.wall, r.wall - fixed, r.rss_mb, r.busy_before, r.cpu,
                  [f"decoder calls {decoder_calls(r)}"])
        row.notes_stderr = r.stderr
        rows[key] = row
        return row

    # Fixed cost of a zhen process (imports, glossary, model load): a one-sentence run.
    tiny = RUNS / "tiny.txt"
    tiny.write_text("今天天气很好。\n", "utf-8")

    def fixed_cost(model: Path, *extra: str) -> float:
        walls = []
        for _ in range(3):
            r = zhen_translate([tiny], RUNS / "tiny", None, *extra, model=model)
            fail(r, f"zhen translate (one sentence, {model.name}) {' '.join(extra)}")
            walls.append(r.wall)
        return statistics.median(walls)

    fixed = fixed_cost(MODEL)
    log(f"zhen start-up + model load + one sentence: {fixed:.2f} s (median of 3)")

    log(f"(a) raw translate_batch on {len(files)} documents")
    r = run_measured(worker_cmd(sys.executable, "floor",
                                {"files": list(map(str, files)), "package": str(pkg)}))
    fail(r, "(a)")
    fa = r.json()
    rows["a"] = Row("a", "CTranslate2 translate_batch", len(files), chars, n_sent, r.wall,
                    fa["seconds"], r.rss_mb, r.busy_before, r.cpu,
                    [f"load {fa['load']:.2f}s", f"threads {fa['inter']}x{fa['intra']}"])

    memory = fresh_memory("b")
    zhen_row("b", "zhen translate", files, memory)
    d = zhen_row("d", "zhen translate, memory of (b)", files, memory)
    d.work = d.total  # nothing to exclude: it loads no model
    d_calls = decoder_calls_of(d)

    # (g) one glossary entry added after (b): only the sentences it matches are decoded.
    glossary_plus = RUNS / "glossary-plus.tsv"
    shutil.copy(ROOT / "glossary" / "terms.tsv", glossary_plus)
    added = subprocess.run([*zhen_cmd(), "glossary", "add", GLOSSARY_ADDITION[0],
                            GLOSSARY_ADDITION[1], "--glossary", str(glossary_plus)],
                           env=zhen_env(), capture_output=True, text=True)
    if added.returncode:
        sys.exit(f"bench: glossary add failed: {added.stderr}")
    memory_g = fresh_memory("g")
    for f in RUNS.glob(memory.name + "*"):
        shutil.copy(f, RUNS / f.name.replace(memory.name, memory_g.name))
    g = zhen_row("g", "+1 glossary entry, memory of (b)", files, memory_g,
                 "--glossary", str(glossary_plus))
    g_decoded = int(re.search(r"(\d+) decoded", g.notes_stderr)[1]) if g.notes_stderr else -1
    g_expected = changed_matches(ROOT / "glossary" / "terms.tsv", glossary_plus,
                                 set(_zhen_sentences(list(map(str, files)))))

    zhen_row("b'", "zhen translate --no-enforce", files, fresh_memory("noenf"), "--no-enforce")

    # (b.cl) (b) on a local Dask cluster of two worker processes sharing the same cores
    # (cores/2 threads each): what the cluster costs over one process.  Its fixed cost
    # (starting the cluster, a model per worker) is its own.
    cluster_reason = ""
    try:
        import distributed  # noqa: F401
    except ImportError:
        cluster_reason = "Dask is not installed (pip install 'zhen[cluster]')"
    if not cluster_reason:
        cluster_fixed = fixed_cost(MODEL, "--cluster", "local:2")
        cl = zhen_row("b.cl", "zhen translate --cluster local:2", files, fresh_memory("cl"),
                      "--cluster", "local:2")
        cl.work = cl.total - cluster_fixed
        cl.notes.append(f"fixed cost {cluster_fixed:.1f}s")
    zhen_row("b.sub", "zhen translate", sub, fresh_memory("sub"))
    zhen_row("b'.sub", "zhen translate --no-enforce", sub, fresh_memory("noenf-sub"),
             "--no-enforce")
    zhen_row("b.ex", f"zhen --batch-type examples {EX_BATCH}", sub, fresh_memory("ex"),
             "--batch-type", "examples", "--batch-size", str(EX_BATCH))

    argos_reason = "skipped (--no-argos)"
    if not args.no_argos:
        py, argos_reason = argos_python()
        if py is not None:
            log(f"(c) argostranslate.translate on {len(sub)} documents")
            inter, intra = _thread_split(0)
            r = run_measured(worker_cmd(py, "argos", {
                "files": list(map(str, sub)), "model": str(MODEL), "package_name": pkg.name}),
                argos_env(inter, intra))
            if r.rc == 0:
                fc = r.json()
                rows["c"] = Row("c", "argostranslate.translate", len(sub), sub_chars, sub_sent,
                                r.wall, fc["seconds"], r.rss_mb, r.busy_before, r.cpu, [
                                    f"imports {fc['imports']:.1f}s, load {fc['load']:.1f}s",
                                    f"regex splitter {fc['sentences']} sentences",
                                    f"beam {fc['beam']}, batch {fc['batch']} tokens, threads "
                                    f"{fc['inter']}x{fc['intra']}"])
            else:
                argos_reason = f"its worker failed: {r.stderr.strip().splitlines()[-1:]}"
    if "c" not in rows:
        log(f"(c) unavailable: {argos_reason}")

    import ctranslate2

    gpu_reason = "no CUDA GPU on this machine"
    if ctranslate2.get_cuda_device_count():
        zhen_row("b.gpu", "zhen translate --device cuda", files, fresh_memory("gpu"),
                 "--device", "cuda")
    zhen_row("b.small", "zhen translate", small, fresh_memory("small"))
    lin = [(rows[k].chars, rows[k].work) for k in ("b.small", "b.sub", "b")]

    grid: dict[str, list[tuple[float, float]]] = {}
    if not args.no_grid:
        gfiles = list(map(str, files[: args.grid_docs]))
        log(f"decoder settings on the first {len(gfiles)} documents")
        for _ in range(args.grid_reps):
            for split, kind, size in GRID:
                threads = {"1x": (1, cores), "Nx": (cores, 1)}.get(split) or _thread_split(0, kind)
                r = run_measured(worker_cmd(sys.executable, "floor", {
                    "files": gfiles, "package": str(pkg), "threads": threads,
                    "batch_type": kind, "batch_size": size}))
                fail(r, "decoder settings")
                key = f"{threads[0]} x {threads[1]}|{size} {kind}"
                grid.setdefault(key, []).append((r.json()["seconds"], r.rss_mb))

    # (l) zhen's LLM engine against a model server, (l.floor) that server driven directly
    llm_reason = "skipped (--no-llm)" if args.no_llm else \
        measure_llm(files[: min(args.llm_docs, len(files))], tiny, rows)

    # The whole pipeline from 10k to 1M characters, on the tiny model: decoding is cheap
    # there, so reading, segmenting, term matching, the memory and TEI writing weigh in.
    linear: list[tuple[int, float, float]] = []  # (characters, seconds excl. fixed, RSS MB)
    if not args.no_linear:
        if not TINY.is_file():
            from zhen.engines.synth import build_synthetic_package

            build_synthetic_package(TINY, size="tiny", seed=0)
        tiny_fixed = fixed_cost(TINY)
        for n in LINEAR_DOCS:
            docs = generate_corpus(n, folder=OUT / f"linear-{n}")
            log(f"pipeline linearity: {n} documents, {chars_of(docs):,} characters, tiny model")
            r = zhen_translate(docs, RUNS / f"linear-{n}", fresh_memory(f"linear-{n}"),
                               model=TINY)
            fail(r, f"zhen translate on {n} documents (tiny model)")
            linear.append((chars_of(docs), r.wall - tiny_fixed, r.rss_mb))

    # -- report ------------------------------------------------------------------------
    print()
    print(f"zhen benchmark: synthetic base model ({model_mb:.0f} MB int8), {cores} cores, "
          f"beam {BEAM}, batch {BATCH_SIZE} {BATCH_TYPE}, cap {RATIO}x+{EXTRA}, {COMPUTE_TYPE}")
    print(f"corpus: {len(files)} docs, {chars:,} chars, {n_sent:,} sentences; subset: first "
          f"{len(sub)} docs, {sub_chars:,} chars, {sub_sent:,} sentences")
    print(f"zhen fixed cost (start-up, model load, one sentence; median of 3): {fixed:.2f} s")
    print()
    head = (f"{'':10}{'what':30}{'docs':>5}{'chars':>9}{'total s':>9}{'excl. s':>9}"
            f"{'sent/s':>8}{'char/s':>8}{'CPU s':>7}{'RSS MB':>8}{'busy':>6}  notes")
    print(head)
    print("-" * len(head))
    for x in rows.values():
        print(f"{'(' + x.key + ')':10}{x.what:30}{x.docs:5}{x.chars:9,}{x.total:9.1f}"
              f"{x.work:9.1f}{x.sps:8.1f}{x.cps:8.0f}{x.cpu:7.0f}{x.rss_mb:8.0f}{x.busy:6.1f}  "
              + "; ".join(x.notes))
    if "c" not in rows:
        print(f"{'(c)':10}argostranslate.translate: unavailable: {argos_reason}")
    if "b.gpu" not in rows:
        print(f"{'(b.gpu)':10}zhen translate --device cuda: skipped: {gpu_reason}")
    if "l" not in rows:
        print(f"{'(l)':10}zhen's LLM engine: unavailable: {llm_reason}")
    print("excl. s: (a) the translate_batch call, (c) its translate() calls, zhen rows the run "
          "minus zhen's fixed cost;\nCPU s: user+system of the whole process; busy: cores "
          "busy machine-wide just before the run (other users: noise)")
    print()
    print(f"output/input tokens (a): {fa['out_tokens'] / fa['in_tokens']:.2f} overall, "
          f"{fa['mean_ratio']:.2f} mean per sentence; {fa['capped']} of {n_sent} sentences "
          f"reached the cap ({RATIO}x+{EXTRA}); {fa['in_tokens'] / n_sent:.1f} source pieces "
          f"per sentence, {fa['in_tokens'] / chars:.2f} per character")
    print()
    a, b, noenf = rows["a"], rows["b"], rows["b'"]
    print("targets:")
    pa = noenf.cps / a.cps
    print(f"  (b')/(a) pipeline overhead, zhen with the decoder work of (a) (--no-enforce), load "
          f"excluded: {pa:.2f}  (target >= 0.9)  {verdict(pa >= 0.9)}")
    ba = b.cps / a.cps
    print(f"  (b)/(a) with glossary enforcement, load excluded: {ba:.2f}  (target >= 0.9)  "
          f"{verdict(ba >= 0.9)}")
    wider = (f"decoded with beam {_ZHEN_NBEST} for its {_ZHEN_NBEST}-best list instead of beam "
             f"{BEAM}, and " if _ZHEN_NBEST > BEAM else "")
    print(f"     extra decoder work, not pipeline overhead: each sentence with terms is {wider}"
          "decoded once more\n     per occurrence whose rendering is missing, with it forced; "
          "the random model never writes a rendering, so that is every occurrence")
    ex = rows["b.ex"]
    print(f"     batches: (b.sub) {BATCH_SIZE} {BATCH_TYPE} {rows['b.sub'].cps:.0f} char/s, "
          f"{rows['b.sub'].rss_mb:.0f} MB; (b.ex) {EX_BATCH} examples {ex.cps:.0f} char/s, "
          f"{ex.rss_mb:.0f} MB")
    if "c" in rows:
        c, bs = rows["c"], rows["b.sub"]
        bc = bs.cps / c.cps
        print(f"  (b)/(c) throughput on the same {len(sub)} docs, load excluded: {bc:.2f}; "
              f"whole processes: {c.total / bs.total:.2f}  (target >= 3)  {verdict(bc >= 3)}")
        plain = rows["b'.sub"]
        pc = plain.cps / c.cps
        print(f"  (b')/(c) the same without enforcement, which argostranslate does not do: "
              f"{pc:.2f}; whole processes: {c.total / plain.total:.2f}  "
              f"(target >= 3)  {verdict(pc >= 3)}")
    else:
        print(f"  (b)/(c): (c) unavailable: {argos_reason}")
    db = d.total / b.total
    print(f"  (d)/(b) time: {db:.3f}, decoder calls {d_calls}  (target < 0.05 and 0 calls)  "
          f"{verdict(db < 0.05 and d_calls == 0)}")
    gb = g.total / b.total
    print(f"  (g)/(b) after adding one glossary entry ({GLOSSARY_ADDITION[0]} → "
          f"{GLOSSARY_ADDITION[1]}): time {gb:.3f}, {g_decoded} sentences decoded, "
          f"{g_expected} distinct sentences whose matches it changes  (target: decoded = those)  "
          f"{verdict(g_decoded == g_expected)}")
    if "b.cl" in rows:
        clb = rows["b.cl"].work / b.work
        print(f"  (b.cl)/(b) time on a local 2-worker Dask cluster over one process on the same "
              f"{cores} cores, fixed costs excluded: {clb:.2f}  (target <= 1.1)  "
              f"{verdict(clb <= 1.1)}")
    else:
        print(f"  (b.cl)/(b): {cluster_reason}")
    if "l" in rows:
        lr = rows["l"].cps / rows["l.floor"].cps
        print(f"  (l)/(l.floor) zhen's LLM engine against the same server driven directly with "
              f"the same requests,\n     {LLM_CONCURRENCY} at a time (tiny random GGUF on "
              f"llama-cpp-python's server; zhen's fixed cost excluded): {lr:.2f}  "
              f"(target >= 0.9)  {verdict(lr >= 0.9)}")
    else:
        print(f"  (l)/(l.floor): {llm_reason}")
    limit = model_mb + 400
    print(f"  peak RSS vs model {model_mb:.0f} MB + 400 = {limit:.0f} MB: (b) {b.rss_mb:.0f} MB "
          f"{verdict(b.rss_mb < limit)}; "
          + ", ".join(f"({k}) {rows[k].rss_mb:.0f}" for k in ("b'", "b.ex", "d")))
    slope = log_slope(lin)
    pts = ", ".join(f"{c / 1000:.0f}k chars {t:.1f}s" for c, t in lin)
    print(f"  linearity, zhen time excl. fixed cost: {pts}; log-log slope {slope:.2f}  "
          f"(target 0.9-1.1)  {verdict(0.9 <= slope <= 1.1)}")
    span = math.log10(lin[-1][0] / lin[0][0])
    print(f"     (a 1M-character run would take ~{lin[-1][1] / lin[-1][0] * 1e6 / 60:.0f} min at "
          f"(b)'s rate; these span {span:.1f} decades)")
    if linear:
        slope = log_slope([(c, t) for c, t, _ in linear])
        pts = ", ".join(f"{c / 1000:.0f}k chars {t:.1f}s {m:.0f} MB" for c, t, m in linear)
        print(f"  linearity of the whole pipeline on the tiny model (cheap decoding: reading, "
              f"segmenting, terms, memory, TEI weigh in),\n     time excl. fixed cost and peak "
              f"RSS: {pts}; log-log slope {slope:.2f}  (target 0.9-1.1)  "
              f"{verdict(0.9 <= slope <= 1.1)}")
    if grid:
        print()
        gchars = chars_of(files[: args.grid_docs])
        print(f"decoder settings: raw translate_batch (beam {BEAM}, no enforcement), first "
              f"{args.grid_docs} docs ({gchars:,} chars), median of {args.grid_reps}; "
              "own process each")
        print(f"  {'inter x intra':15}{'batch':>14}{'s':>8}{'char/s':>8}{'speed':>7}{'RSS MB':>8}")
        base_key = "{} x {}|{} {}".format(*_thread_split(0), BATCH_SIZE, BATCH_TYPE)
        med = {k: statistics.median(t for t, _ in v) for k, v in grid.items()}
        for k, t in med.items():
            split, batch = k.split("|")
            mark = "  zhen's default" if k == base_key else ""
            print(f"  {split:15}{batch:>14}{t:8.2f}{gchars / t:8.0f}{med[base_key] / t:6.2f}x"
                  f"{max(m for _, m in grid[k]):8.0f}{mark}")
        rss = {k: max(m for _, m in v) for k, v in grid.items()}
        lean = [k for k in med if rss[k] <= rss[base_key]]
        best = min(lean, key=med.get)
        print(f"  fastest at no more memory than the default: {best.replace('|', ', ')} "
              f"({med[base_key] / med[best]:.2f}x, {rss[best]:.0f} MB vs {rss[base_key]:.0f})")
    print()
    print(f"bench: {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        print(json.dumps(WORKERS[sys.argv[2]](json.loads(sys.argv[3]))))
    else:
        main()
