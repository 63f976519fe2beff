"""Decoding on a Dask distributed cluster: `zhen translate --cluster ADDRESS`.

The client (`zhen translate`) reads, segments, matches terms, consults the memory and
writes the TEI exactly as without a cluster; only the chunks of distinct sentences that
the batch runner would decode itself go to the cluster, one task per chunk.  A
task returns its sentences filled; the client stores each chunk in the memory as it
arrives (so a lost scheduler loses only the chunks in flight) and writes the windows, in
order, as they are complete.

Each worker loads the model once, for its lifetime (`ModelPlugin`, a Dask worker plugin
that the client registers: a CTranslate2 translator cannot be pickled), with the device
and the CPU threads of that worker; what runs in the workers is `zhen.engines.cluster_worker`,
this module is the client's side.  The chunks, and every setting that changes the
output, are the client's, so the outputs are byte for byte those of a single process with
the same settings.  A task is pure (a chunk in, its translation out), so Dask runs the
chunk of a worker that died again elsewhere.

ADDRESS is a running scheduler (`tcp://HOST:8786`, `tls://…`) or `local:N`: a cluster of
N worker processes on this machine, listening on 127.0.0.1 only, each with cores/N
threads.  This module is imported only when --cluster is given; Dask
(`pip install 'zhen[cluster]'`) only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import re
import signal
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from zhen.document import Sentence, Term
from zhen.engines.base import ModelInfo
from zhen.engines.cluster_worker import (
    LOCAL_WORKER,
    ModelPlugin,
    decode_chunk,
    has_plugin,
    worker_states,
)
from zhen.errors import ClusterError, ModelError, ZhenError
from zhen.settings import DecodingOptions
from zhen.signature import RunSignature

log = logging.getLogger("zhen")

INSTALL = "pip install 'zhen[cluster]'"
POLL = 0.2  # seconds between checks of the cluster while waiting for chunks
NO_WORKERS_TIMEOUT = 60.0  # seconds without any worker before giving up
WORKERS_INTERVAL = 2.0  # seconds between asking the scheduler how many workers it has
# Dask's nanny exports MALLOC_TRIM_THRESHOLD_ to its workers, which turns off glibc's
# dynamic mmap threshold: CTranslate2 then maps and unmaps its buffers for every batch,
# ~3-4x slower.  Clusters zhen starts are spawned without it (this config); a worker
# started elsewhere with it gets glibc's dynamic limits back (`cluster_worker._undo_malloc_trim`).
NO_MALLOC_TRIM = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}

_LOCAL = re.compile(r"local:(\d+)")
_REMOTE = re.compile(r"(?:(tcp|tls)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})/?")


def parse_address(spec: str) -> tuple[str, int]:
    """`(address, 0)` for a scheduler (tcp://HOST:PORT, tls://HOST:PORT, or HOST:PORT
    meaning tcp), `("local", N)` for local:N; anything else is one error line."""
    spec = (spec or "").strip()
    local = _LOCAL.fullmatch(spec)
    if local and int(local[1]) >= 1:
        return "local", int(local[1])
    remote = _REMOTE.fullmatch(spec)
    if remote and 1 <= int(remote[3]) <= 65535:
        return f"{remote[1] or 'tcp'}://{remote[2]}:{int(remote[3])}", 0
    raise ClusterError(
        f"--cluster {spec!r}: not a cluster address; give a Dask scheduler as "
        "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786) or local:N for N worker processes on "
        "this machine"
    )


@contextlib.contextmanager
def _sigint_ignored():
    """Ctrl-C ignored while local workers are spawned, so that they ignore it too (an
    ignored signal stays ignored across exec): it is for zhen, here, to stop them, not
    for the terminal (whose Ctrl-C reaches every process of the foreground group)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ZhenError(f"--cluster needs Dask, which is not installed: {INSTALL}") from None


def client_options(options: DecodingOptions) -> DecodingOptions:
    """The settings of a run on a cluster, as its TEI headers and memory keys record them:
    the device asked for (auto: the one a run here would choose, so that the two agree)
    with its compute type.  They are not checked against this machine, which decodes
    nothing (a laptop may drive GPU workers): each worker checks them against its own."""
    import ctranslate2

    device = options.device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() else "cpu"
    return options.resolved(device)


def _absolute(info: ModelInfo) -> ModelInfo:
    """The model with absolute paths: a worker's working folder is not the client's."""
    conv = info.conventions
    return replace(
        info, path=Path(info.path).absolute(), model_dir=Path(info.model_dir).absolute(),
        conventions=replace(conv, source_spm=Path(conv.source_spm).absolute(),
                            target_spm=Path(conv.target_spm).absolute()),
    )


# -- the client's side ---------------------------------------------------------------------


class ClusterDecoder:
    """Decodes chunks on a Dask cluster: a `zhen.engines.decoder.Decoder`.

    `decode` submits a chunk and returns at once; `deliver` hands finished chunks to
    their callbacks, in this thread, as they arrive.  Connects (or starts `local:N`) at
    the first chunk, so a run with nothing to decode needs no cluster."""

    def __init__(self, spec: str, model: ModelInfo, options: DecodingOptions, device: str,
                 signature: RunSignature):
        self.spec = spec
        self.address, self.local_workers = parse_address(spec)
        _require_dask()
        self.model = _absolute(model)
        self.options = options
        self.device = device
        # The run's model and output settings (its signature's context, not the glossary:
        # terms travel with the chunks) and what the workers load with besides (the
        # folder, device, threads): a worker holding another model is never used.
        digest = hashlib.sha256(f"{signature.context()}|{signature.version}|{self.model.path}"
                                f"|{options.to_record()}|{device}".encode())
        self.plugin = f"zhen-model-{digest.hexdigest()[:16]}"
        self.client = None
        self.cluster = None
        self.decoder_calls = 0
        self.chunks_by_worker: Counter[str] = Counter()
        self._run = uuid.uuid4().hex[:8]
        self._count = 0
        self._pending: dict = {}  # key → (future, chunk, finished)
        self._arrived: queue.Queue = queue.Queue()
        self._no_workers_since: float | None = None
        self._counted = (float("-inf"), 0)  # (when, workers)

    @property
    def started(self) -> bool:
        return self.client is not None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def capacity(self) -> int:
        """Chunks worth keeping in flight: two per worker (one decoding, one waiting)."""
        return 2 * max(1, self._workers()) + 1

    def _workers(self) -> int:
        """Workers the scheduler has (asked at most every few seconds)."""
        if self.client is None:
            return 0
        now = time.monotonic()
        if now - self._counted[0] > WORKERS_INTERVAL and self.client.status == "running":
            try:
                self._counted = (now, len(self.client.scheduler_info()["workers"]))
            except Exception:  # noqa: BLE001 - gone: _check and the futures say so
                pass
        return self._counted[1]

    def where(self) -> str:
        if self.cluster is not None:
            return f"--cluster {self.spec} ({self.cluster.scheduler_address})"
        return f"--cluster {self.spec if self.local_workers else self.address}"

    # -- starting ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (or start local:N); nothing if already connected."""
        if self.client is not None:
            return
        import dask
        from distributed import Client

        _quiet_dask()
        dask.config.set(NO_MALLOC_TRIM)
        address = self.address
        if self.local_workers:
            address = self._start_local()
        elif address.startswith("tls://"):
            from distributed.security import Security

            if Security().get_connection_args("client").get("ssl_context") is None:
                raise ClusterError(
                    f"--cluster {address}: a TLS scheduler needs Dask's TLS settings for "
                    "the client (distributed.comm.tls: ca-file, client cert and key); see "
                    "the README, Securing the scheduler")
        try:
            self.client = Client(address, set_as_default=False)
        except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
            self.close()
            raise ClusterError(
                f"{self.where()}: no Dask scheduler answers there ({_reason(exc)}); start "
                "one (`dask scheduler`) or check the address") from None
        except Exception as exc:  # a TLS address without credentials, …
            self.close()
            raise ClusterError(f"{self.where()}: cannot connect: {_reason(exc)}") from None
        try:
            if not self.client.run_on_scheduler(has_plugin, self.plugin):
                self.client.register_plugin(
                    ModelPlugin(self.plugin, self.model, self.options, self.device),
                    name=self.plugin)
            self._wait_for_workers()
            states = self.client.run(worker_states, self.plugin)
        except ZhenError:
            self.close()
            raise
        except Exception as exc:  # zhen missing on a worker, another version, …
            self.close()
            raise ClusterError(f"{self.where()}: a worker cannot take zhen's model: "
                               f"{_reason(exc)}; install the same zhen on every worker") \
                from None
        bad = [s["error"] for s in states.values() if s and s["error"]]
        if bad:
            self.close()
            raise ModelError(bad[0] + (f" (and {len(bad) - 1} more worker(s))"
                                       if len(bad) > 1 else ""))
        if any(s and s["malloc_fixed"] for s in states.values()):
            log.info("%s: workers run with MALLOC_TRIM_THRESHOLD_ set; glibc's limits "
                     "were restored in them", self.where())

    def _start_local(self) -> str:
        from distributed import LocalCluster
        from distributed.gc import disable_gc_diagnosis
        from zhen.engines.engine import available_cores

        n = self.local_workers
        try:
            with warnings.catch_warnings(), _sigint_ignored():
                warnings.simplefilter("ignore")  # e.g. Dask's "port 8787 in use"
                # Everything on 127.0.0.1, the scheduler's HTTP server included (its
                # default is every interface).
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=max(1, available_cores() // n),
                    processes=True, host="127.0.0.1", scheduler_port=0,
                    dashboard_address="127.0.0.1:0", worker_dashboard_address=None,
                    silence_logs=logging.CRITICAL, env={LOCAL_WORKER: "1"})
        except Exception as exc:  # noqa: BLE001
            raise ClusterError(f"--cluster {self.spec}: cannot start {n} local worker "
                               f"process(es): {_reason(exc)}") from None
        # The scheduler, here, hooks the garbage collector; a Ctrl-C arriving inside
        # that hook would be swallowed.
        disable_gc_diagnosis(force=True)
        return self.cluster.scheduler_address

    def _wait_for_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=NO_WORKERS_TIMEOUT)
        except (asyncio.TimeoutError, TimeoutError):
            raise ClusterError(
                f"{self.where()}: no worker joined the scheduler within "
                f"{NO_WORKERS_TIMEOUT:.0f} s; start workers with `dask worker "
                f"{self.address}`") from None

    # -- decoding ------------------------------------------------------------------------

    def decode(self, chunk: list[Sentence], terms: dict[str, Term],
               finished: Callable[[list[Sentence]], None]) -> None:
        """Send a chunk to the cluster; `finished(chunk)` is called by `deliver` once its
        sentences are filled."""
        if self.client is None:
            self.start()
        used = {o.term_id for s in chunk for o in s.terms}
        self._count += 1
        try:
            future = self.client.submit(
                decode_chunk, self.plugin, chunk, {t: terms[t] for t in sorted(used)},
                key=f"zhen-chunk-{self._run}-{self._count}")
        except Exception as exc:  # noqa: BLE001 - the scheduler went away
            raise ClusterError(f"{self.where()}: lost the Dask scheduler ({_reason(exc)})") \
                from None
        self._pending[future.key] = (future, chunk, finished)
        future.add_done_callback(self._arrived.put)

    def read(self, document, sentences: list[Sentence]) -> None:
        """Nothing: the chunks carry no context."""

    def deliver(self, until: Callable[[], bool] = lambda: False) -> None:
        """Hand the chunks that are done to their callbacks, waiting for more until
        `until()` holds or nothing is in flight."""
        while self._pending:
            wait = not until()
            try:
                future = self._arrived.get(timeout=POLL) if wait else \
                    self._arrived.get_nowait()
            except queue.Empty:
                if not wait:
                    return
                self._check()
                continue
            if future.key in self._pending:
                self._take(future)

    def _take(self, future) -> None:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker
        _, chunk, finished = self._pending.pop(future.key)
        try:
            done, calls, worker = future.result()
        except ZhenError:
            raise
        except (CancelledError, OSError) as exc:  # the connection closed, …
            raise ClusterError(f"{self.where()}: lost the Dask scheduler ({_reason(exc)})") \
                from None
        except KilledWorker:
            raise ClusterError(
                f"{self.where()}: a chunk of {len(chunk)} sentence(s) was lost with every "
                "worker that took it (out of memory?); see the workers' logs") from None
        except Exception as exc:  # noqa: BLE001 - a worker's failure, in one line
            raise ClusterError(f"{self.where()}: a worker failed: {_reason(exc)}") from None
        finally:
            future.release()
        for mine, theirs in zip(chunk, done):
            mine.take_translation(theirs)
        self.decoder_calls += calls
        self.chunks_by_worker[worker] += 1
        finished(chunk)

    def _check(self) -> None:
        """Between arrivals: the scheduler still there, and some worker."""
        status = self.client.status
        if status == "connecting":  # reconnecting: its chunks fail if that fails
            return
        if status != "running":
            raise ClusterError(f"{self.where()}: lost the Dask scheduler")
        if self._workers():
            self._no_workers_since = None
        elif self._no_workers_since is None:
            self._no_workers_since = time.monotonic()
        elif time.monotonic() - self._no_workers_since > NO_WORKERS_TIMEOUT:
            raise ClusterError(f"{self.where()}: no worker left for "
                               f"{NO_WORKERS_TIMEOUT:.0f} s; start workers with "
                               f"`dask worker {self.address}`")

    def close(self) -> None:
        """Let go of the cluster (and stop a local one)."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        self._pending.clear()
        for thing in (client, cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - already gone
                    pass


def _quiet_dask() -> None:
    """Dask's own log lines (reconnecting, a worker restarted, …) off: what matters to
    the run, zhen says in one line.  Some of Dask's loggers have levels of their own."""
    names = [n for n in logging.root.manager.loggerDict
             if n.split(".")[0] in ("distributed", "tornado")]
    for name in ["distributed", "tornado", *names]:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
