"""`zhen translate --cluster`: decoding on a Dask cluster (pipeline/engines/cluster.py).

Real parts only, all on 127.0.0.1: a LocalCluster of worker processes (`local:2`), and a
scheduler and workers started with the `dask scheduler` / `dask worker` commands as a user
starts them.  Every run is compared byte for byte with a single-process run of the same
documents and settings (the date aside), and the workers' process ids show that two
processes did the work.  Faults: a worker killed with SIGKILL mid-run, the scheduler killed
mid-run (one line, the memory keeps what was decoded, a rerun continues), a closed port, a
malformed address, Dask missing, a worker without the model.  The model is the session's
tiny synthetic one; small decoder batches make many chunks.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability.conftest import GLOSSARY, Zhen, summary, wait_for, write_corpus
from zhen.batch import runner as batch_module
from zhen.batch.runner import BatchTranslator
from zhen.engines.decoder import LocalDecoder
from zhen.settings import DecodingOptions
from zhen.signature import RunSignature

# Chunks of 16 sentences (4 batches of 64 tokens at one thread), so that 30 documents make
# about 10 chunks to share out.
SMALL_CHUNKS = ("--batch-size", "64")
# On one xdist worker (make test: --dist loadgroup): the corpus, its single-process reference and the Dask processes are built once.
pytestmark = pytest.mark.xdist_group("cluster")
_DATE = re.compile(rb'(<change when=")\d{4}-\d\d-\d\d(")')
_WORKERS = re.compile(r"zhen: decoded on (\d+) worker process\(es\): (.*)")


def same_but_date(tei: bytes) -> bytes:
    return _DATE.sub(rb"\1DATE\2", tei)


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: same_but_date(p.read_bytes()) for p in sorted(folder.glob("*.tei.xml"))}


def worker_pids(stderr: str) -> set[str]:
    """The worker processes that decoded chunks, from zhen's line after the summary."""
    match = _WORKERS.search(stderr)
    assert match, f"no workers line in:\n{stderr}"
    return set(re.findall(r"pid (\d+) \d+ chunk", match[2]))


def memory_rows(zhen: Zhen) -> int:
    """Machine translations in the memory (0 while it is still being created)."""
    if not zhen.memory.exists():
        return 0
    try:
        with sqlite3.connect(zhen.memory) as db:
            return db.execute("SELECT COUNT(*) FROM tm").fetchone()[0]
    except sqlite3.OperationalError:  # no table yet
        return 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """30 generated documents, and 40 others for a second run."""
    root = tmp_path_factory.mktemp("corpus")
    return write_corpus(root / "first", 30, seed=1), write_corpus(root / "second", 40, seed=2)


@pytest.fixture(scope="module")
def reference(corpus, tiny_model, tmp_path_factory):
    """Single-process runs over each set, with a fresh memory: {set: (outputs, summary)}."""
    root = tmp_path_factory.mktemp("reference")
    found = {}
    for name, inputs in zip(("first", "second"), corpus):
        zhen = Zhen(root / f"state-{name}", tiny_model)
        res = zhen.translate(*inputs, out=root / name, extra=SMALL_CHUNKS)
        assert res.returncode == 0, res.stderr
        found[name] = outputs(root / name), summary(res.stderr)
    return found


def dask_command() -> list[str]:
    script = Path(sys.executable).with_name("dask")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dask"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskProcesses:
    """A scheduler and workers started as a user starts them, on 127.0.0.1."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.scheduler = self._start("scheduler", "scheduler", "--host", "127.0.0.1",
                                     "--port", self.address.rsplit(":", 1)[1],
                                     "--dashboard-address", "127.0.0.1:0")
        self.workers: list[subprocess.Popen] = []

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        if args[0] != "scheduler" and args[0] != "worker":
            cmd = list(args)  # a command that runs dask itself
        else:
            cmd = [*dask_command(), *args]
        log = open(self.folder / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own group: see stop()
        log.close()
        self.procs.append(proc)
        return proc

    def add_workers(self, n: int, *command: str) -> None:
        """n workers of one thread each (`command`: what runs `dask`, by default itself)."""
        for _ in range(n):
            self.workers.append(self._start(
                f"worker{len(self.workers)}", *command, "worker", self.address,
                "--nthreads", "1", "--host", "127.0.0.1",
                "--dashboard-address", "127.0.0.1:0", "--local-directory", str(self.folder)))

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s", set_as_default=False) as client:
            client.wait_for_workers(n, timeout=60)

    def worker_process(self, i: int) -> int:
        """The pid of worker i's worker process (the `dask worker` command is its nanny)."""
        import psutil

        children = psutil.Process(self.workers[i].pid).children(recursive=True)
        found = [c.pid for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert found, f"worker {i} has no worker process yet"
        return found[0]

    def stop(self) -> None:
        """Kill every process at once, nannies' worker processes included (a graceful
        close waits up to 8 s for a worker process that holds a model)."""
        import signal

        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            proc.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    pytest.importorskip("distributed", reason="Dask is not installed: pip install "
                        "'zhen[cluster]' (make setup does)")
    cluster = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        cluster.add_workers(2)
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.stop()


# -- the seam, in-process ------------------------------------------------------------------


class HeldDecoder(LocalDecoder):
    """Decodes like LocalDecoder, but holds each chunk until `deliver` and then hands the
    chunks back in reverse order, a few at a time: windows stay in flight while the next
    ones are read, as on a cluster."""

    capacity = 3

    def __init__(self, batch):
        super().__init__(batch.model, batch.options)
        self.batch = batch
        self.held: list = []
        self.joined = 0

    @property
    def in_flight(self) -> int:
        return len(self.held)

    def decode(self, chunk, terms, finished) -> None:
        self.held.append((chunk, terms, finished))
        self.joined = max(self.joined, sum(map(len, self.batch.resolver.joined.values())))

    def deliver(self, until=lambda: False) -> None:
        while self.held and not until():
            for chunk, terms, finished in reversed(self.held[-2:]):
                self.held.remove((chunk, terms, finished))
                super().decode(chunk, terms, finished)


def test_windows_in_flight_give_the_same_outputs(tmp_path, package_dir, monkeypatch):
    """With windows decoded out of order while later ones are read, and sentences of a
    later window waiting for a twin still being decoded, every output, the memory note
    included, is the single-process one."""
    from zhen.memory.sqlite import SqliteMemory

    monkeypatch.setattr(batch_module, "WINDOW_SENTENCES", 30)
    first = write_corpus(tmp_path / "in", 40, seed=3)
    for i, path in enumerate(first[:20]):  # repeats, a few windows later
        (tmp_path / "in" / f"doc{i + 12:03d}b.txt").write_bytes(path.read_bytes())
    inputs = sorted((tmp_path / "in").glob("*.txt"))
    options = DecodingOptions(beam_size=1, num_hypotheses=1, threads=1, batch_size=64)
    results = {}
    for name in ("here", "held"):
        memory = SqliteMemory(tmp_path / f"{name}.sqlite3")
        batch = BatchTranslator(GLOSSARY, str(package_dir), options, memory)
        if name == "held":
            batch.resolver.decoder = HeldDecoder(batch)
        report = batch.run(inputs, tmp_path / name)
        memory.close()
        results[name] = (outputs(tmp_path / name), report.sentences_translated,
                         report.decoder_calls, sum(f.from_memory for f in report.files))
        assert not batch.resolver.in_flight and not batch.resolver.joined
    assert batch.decoder.joined > 0, "no sentence waited for a twin in flight"
    assert len(results["here"][0]) == 60
    assert results["held"] == results["here"]


def test_cluster_addresses():
    from zhen.engines.cluster import parse_address
    from zhen.errors import ZhenError

    assert parse_address("tcp://10.0.0.5:8786") == ("tcp://10.0.0.5:8786", 0)
    assert parse_address("sched.example.org:8786") == ("tcp://sched.example.org:8786", 0)
    assert parse_address("tls://[::1]:8786") == ("tls://[::1]:8786", 0)
    assert parse_address("local:3") == ("local", 3)
    for bad in ("tcp://host", "local:0", "local:", "http://host:80", "tcp://h:99999", "a b"):
        with pytest.raises(ZhenError, match="not a cluster address"):
            parse_address(bad)


def test_a_worker_without_the_model_says_so_in_one_line(package_dir, tmp_path):
    """The plugin's own check, in-process: which worker, which path."""
    import asyncio
    from dataclasses import replace

    from zhen.engines.cluster_worker import ModelPlugin
    from zhen.engines.registry import load_model

    info = load_model(package_dir)
    gone = replace(info, model_dir=tmp_path / "elsewhere" / "model")
    worker = type("W", (), {"address": "tcp://10.0.0.7:4000",
                            "state": type("S", (), {"nthreads": 1})()})()
    plugin = ModelPlugin("zhen-model-test", gone, DecodingOptions(threads=1), "cpu")
    asyncio.run(plugin.setup(worker))
    assert plugin.translator is None
    assert "tcp://10.0.0.7:4000" in plugin.error and str(gone.model_dir) in plugin.error
    assert "\n" not in plugin.error
    plugin = ModelPlugin("zhen-model-test", info, DecodingOptions(threads=1), "cpu")
    asyncio.run(plugin.setup(worker))
    assert plugin.error is None and plugin.translator is not None


# -- real clusters -------------------------------------------------------------------------


def test_local_cluster_gives_the_single_process_outputs(corpus, reference, tiny_model,
                                                        tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed: pip install "
                        "'zhen[cluster]' (make setup does)")
    zhen = Zhen(tmp_path / "state", tiny_model)
    bad = tmp_path / "bad.txt"  # refused by its reader: --keep-going goes on past it
    bad.write_bytes(bytes(range(256)) * 4)
    inputs = [*corpus[0][:15], bad, *corpus[0][15:]]
    started = time.monotonic()
    res = zhen.translate(*inputs, out=tmp_path / "out",
                         extra=(*SMALL_CHUNKS, "--keep-going", "--cluster", "local:2"),
                         timeout=120, process=True)
    assert res.returncode == 1, res.stderr
    assert "1 of 31 file(s) failed" in res.stderr and "bad.txt" in res.stderr
    expected, counts = reference["first"]
    assert outputs(tmp_path / "out") == expected
    assert summary(res.stderr) == counts
    assert len(worker_pids(res.stderr)) == 2, res.stderr
    assert time.monotonic() - started < 60


def test_local_workers_listen_on_localhost_only_without_the_malloc_trap(package_dir):
    """Everything `local:N` starts (scheduler, nannies, workers, their HTTP servers) binds
    127.0.0.1, and its workers run without Dask's MALLOC_TRIM_THRESHOLD_."""
    pytest.importorskip("distributed", reason="Dask is not installed")
    import psutil
    from zhen.engines.cluster import ClusterDecoder
    from zhen.engines.engine import resolve_device
    from zhen.engines.registry import load_model

    options = resolve_device(DecodingOptions(threads=1))
    model = load_model(package_dir)
    signature = RunSignature(model.model_id, options.output_key(), "", "test")
    decoder = ClusterDecoder("local:2", model, options, "cpu", signature)
    try:
        decoder.start()
        me = psutil.Process()
        listening = [c.laddr for p in [me, *me.children(recursive=True)]
                     for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert len(listening) >= 5 and {a.ip for a in listening} == {"127.0.0.1"}, listening
        found = decoder.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        assert len(found) == 2 and set(found.values()) == {None}
    finally:
        decoder.close()


def test_zhen_cluster_env_and_dask_commands(corpus, reference, tiny_model, dask_cluster,
                                            tmp_path):
    """`dask scheduler` and two `dask worker`s; the address from ZHEN_CLUSTER."""
    zhen = Zhen(tmp_path / "state", tiny_model)
    zhen.env["ZHEN_CLUSTER"] = dask_cluster.address
    res = zhen.translate(*corpus[0], out=tmp_path / "out", extra=SMALL_CHUNKS, timeout=120,
                         process=True)
    assert res.returncode == 0, res.stderr
    expected, counts = reference["first"]
    assert outputs(tmp_path / "out") == expected
    assert summary(res.stderr) == counts
    pids = worker_pids(res.stderr)
    assert pids == {str(dask_cluster.worker_process(i)) for i in range(2)}
    # Again: everything from the memory, no decoder call, no cluster needed.
    res = zhen.translate(*corpus[0], out=tmp_path / "out", extra=SMALL_CHUNKS, process=True)
    assert summary(res.stderr)["decoder_calls"] == 0
    assert not _WORKERS.search(res.stderr)


def test_a_worker_killed_mid_run_loses_nothing(corpus, reference, tiny_model, dask_cluster,
                                               tmp_path):
    """SIGKILL to one worker process while chunks are in flight: Dask runs its chunks
    again (its nanny restarts it, the model is loaded there again); outputs identical and
    complete."""
    import signal

    zhen = Zhen(tmp_path / "state", tiny_model)
    args = zhen.translate_args(*corpus[1], out=tmp_path / "out",
                               extra=(*SMALL_CHUNKS, "--cluster", dask_cluster.address))
    victim = dask_cluster.worker_process(0)
    proc = zhen.start(*args)
    try:
        wait_for(lambda: memory_rows(zhen) > 0 or proc.poll() is not None,
                 what="the first chunk stored")
        assert proc.poll() is None, "the run ended before a worker could be killed"
        os.kill(victim, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    expected, counts = reference["second"]
    assert outputs(tmp_path / "out") == expected
    assert summary(stderr) == counts


def test_scheduler_lost_mid_run(corpus, reference, tiny_model, tmp_path):
    """The scheduler killed mid-run: one line saying how much the memory keeps; a rerun
    (here without a cluster) decodes only the rest, and the outputs are the same."""
    import signal

    pytest.importorskip("distributed", reason="Dask is not installed")
    cluster = DaskProcesses(tmp_path / "dask")
    try:
        cluster.add_workers(1)
        cluster.wait_for_workers(1)
        zhen = Zhen(tmp_path / "state", tiny_model)
        proc = zhen.start(*zhen.translate_args(
            *corpus[1], out=tmp_path / "out",
            extra=(*SMALL_CHUNKS, "--cluster", cluster.address)))
        try:
            wait_for(lambda: memory_rows(zhen) > 0 or proc.poll() is not None,
                     what="the first chunk stored")
            assert proc.poll() is None, "the run ended before the scheduler could be killed"
            cluster.scheduler.send_signal(signal.SIGKILL)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        cluster.stop()
    assert proc.returncode == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    match = re.fullmatch(r"zhen: error: --cluster tcp://127\.0\.0\.1:\d+: lost the Dask "
                         r"scheduler .*; (\d+) decoded sentence\(s\) saved in the memory, a "
                         r"rerun continues from there", lines[0])
    assert match, lines[0]
    saved = int(match[1])
    assert 0 < saved == memory_rows(zhen)
    res = zhen.translate(*corpus[1], out=tmp_path / "out", extra=SMALL_CHUNKS)
    assert res.returncode == 0, res.stderr
    expected, counts = reference["second"]
    assert summary(res.stderr)["decoded"] == counts["decoded"] - saved
    mask = re.compile(rb'(<note type="translation-memory">|"from_memory": )\d+')
    assert {k: mask.sub(rb"\1N", v) for k, v in outputs(tmp_path / "out").items()} == \
        {k: mask.sub(rb"\1N", v) for k, v in expected.items()}


def test_a_worker_without_the_model_on_its_machine(corpus, tiny_model, tmp_path):
    """A worker whose machine lacks the model folder (here: the folder hidden under an
    empty tmpfs in the worker's own mount namespace): one line naming the worker and the
    path, no output written."""
    pytest.importorskip("distributed", reason="Dask is not installed")
    zhen = Zhen(tmp_path / "state", tiny_model)
    cache = zhen.root / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "--", "mount", "-t",
                            "tmpfs", "tmpfs", str(cache)], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"cannot hide a folder in a mount namespace here: {probe.stderr.strip()}")
    cluster = DaskProcesses(tmp_path / "dask")
    try:
        cluster.add_workers(1, "unshare", "-m", "--propagation", "private", "--", "sh", "-c",
                            f'mount -t tmpfs tmpfs "{cache}" && exec "$0" "$@"',
                            *dask_command())
        cluster.wait_for_workers(1)
        res = zhen.translate(*corpus[0][:3], out=tmp_path / "out",
                             extra=("--cluster", cluster.address), process=True)
    finally:
        cluster.stop()
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert re.fullmatch(r"zhen: error: worker tcp://127\.0\.0\.1:\d+ on .*: the model is not "
                        rf"at {re.escape(str(cache))}/\S+ on that machine; .*", lines[0]), lines[0]
    assert not list((tmp_path / "out").glob("*.tei.xml"))


# -- bad addresses ---------------------------------------------------------------------------


def test_scheduler_unreachable_is_one_line(corpus, tiny_model, tmp_path):
    pytest.importorskip("distributed", reason="Dask is not installed")
    zhen = Zhen(tmp_path / "state", tiny_model)
    zhen.env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "0.5s"
    port = free_port()  # closed: nothing listens there
    started = time.monotonic()
    res = zhen.translate(*corpus[0][:3], out=tmp_path / "out",
                         extra=("--cluster", f"tcp://127.0.0.1:{port}"),
                         process=True)  # Dask reads its time-out from the environment at import
    assert res.returncode == 1
    assert res.stderr.startswith(f"zhen: error: --cluster tcp://127.0.0.1:{port}: no Dask "
                                 "scheduler answers there (")
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert time.monotonic() - started < 30
    assert not list((tmp_path / "out").glob("*.tei.xml"))
    assert memory_rows(zhen) == 0


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "local:0", "127.0.0.1:port"])
def test_malformed_address_is_one_line(corpus, tiny_model, tmp_path, address):
    zhen = Zhen(tmp_path / "state", tiny_model)
    res = zhen.translate(*corpus[0][:3], out=tmp_path / "out", extra=("--cluster", address))
    assert res.returncode == 1
    assert res.stderr == (f"zhen: error: --cluster {address!r}: not a cluster address; give a "
                          "Dask scheduler as tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786) or "
                          "local:N for N worker processes on this machine\n")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_without_dask_the_line_names_the_extra(corpus, tiny_model, tmp_path):
    blocker = tmp_path / "no-dask" / "distributed"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    zhen = Zhen(tmp_path / "state", tiny_model)
    zhen.env["PYTHONPATH"] = str(blocker.parent)
    res = zhen.translate(*corpus[0][:3], out=tmp_path / "out", extra=("--cluster", "local:2"),
                         process=True)  # PYTHONPATH hides Dask from a new process only
    assert res.returncode == 1
    assert res.stderr == ("zhen: error: --cluster needs Dask, which is not installed: "
                          "pip install 'zhen[cluster]'\n")
