"""The worker's side of `zhen translate --cluster`: what runs inside a Dask worker.

`ModelPlugin` loads the model once in each worker, for its lifetime (a CTranslate2
translator cannot be pickled), with the client's settings on the worker's own device and
CPU threads; `decode_chunk` is the task, one chunk of sentences in, filled out.  The client
(`zhen.engines.cluster`) pickles these by reference, so a worker needs the same zhen,
where this module has the same name.  Nothing here imports the client's side.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import threading
from dataclasses import replace
from pathlib import Path

from zhen import env
from zhen.document import Sentence, Term
from zhen.engines.base import ModelInfo
from zhen.engines.registry import load_engine
from zhen.errors import ClusterError, ModelError, ZhenError
from zhen.settings import DecodingOptions

try:
    from distributed import WorkerPlugin
except ImportError:  # without the extra; ClusterDecoder says what to install
    WorkerPlugin = object

LOCAL_WORKER = "ZHEN_LOCAL_WORKER"  # set in the workers of local:N


def _undo_malloc_trim() -> bool:
    """In a worker that inherited MALLOC_TRIM_THRESHOLD_ (a nanny's default), give glibc
    back the limits its dynamic threshold would reach (a fixed threshold cannot be made
    dynamic again); True if done."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20)
                    and libc.mallopt(m_trim_threshold, 64 << 20))
    except (OSError, AttributeError):  # not glibc
        return False


class ModelPlugin(WorkerPlugin):
    """Loads the model once in each worker (also in one that joins or restarts later)
    with the client's settings on the worker's own device and CPU threads.  A worker
    that cannot load it keeps the reason, which its tasks raise as one line."""

    def __init__(self, name: str, model: ModelInfo, options: DecodingOptions, device: str):
        self.name = name
        self.model = model
        self.options = options  # the client's, resolved: its compute type is in the key
        self.device = device  # as asked for on the client (auto: a GPU where there is one)
        self.translator = None
        self.error: str | None = None
        self.where = ""
        self.nthreads = 0  # the worker's, at setup (0: all cores)
        self.malloc_fixed = False
        self.lock = threading.Lock()

    def __getstate__(self):
        state = dict(self.__dict__, translator=None, error=None, lock=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.lock = threading.Lock()

    async def setup(self, worker) -> None:
        if env.value(LOCAL_WORKER) and threading.current_thread() is \
                threading.main_thread():  # a local worker restarted after a crash, too
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.where = f"worker {worker.address} on {socket.gethostname()}"
        self.nthreads = worker.state.nthreads
        self.malloc_fixed = _undo_malloc_trim()
        await asyncio.get_running_loop().run_in_executor(None, self.load)

    def teardown(self, worker) -> None:
        self.translator = None

    def load(self) -> None:
        with self.lock:
            self._load()

    def _load(self) -> None:
        if self.translator is not None:
            return
        from zhen.engines.translator import Translator

        missing = [p for p in (self.model.model_dir, self.model.conventions.source_spm,
                               self.model.conventions.target_spm) if not Path(p).exists()]
        try:
            if missing:
                raise ModelError(
                    f"the model is not at {missing[0]} on that machine; put it at the same "
                    "path on every worker (a shared file system, or the same "
                    "`zhen model install`)")
            options = replace(self.options, device=self.device, threads=self.nthreads)
            self.translator = Translator(load_engine(self.model, options))
            self.error = None
        except ZhenError as exc:
            self.error = f"{self.where}: {exc}"
        except Exception as exc:  # noqa: BLE001 - anything else loading it, said in one line
            self.error = f"{self.where}: cannot load the model: {type(exc).__name__}: {exc}"

    def state(self) -> dict:
        return {"pid": os.getpid(), "error": self.error, "malloc_fixed": self.malloc_fixed}


def decode_chunk(plugin: str, chunk: list[Sentence], terms: dict[str, Term]):
    """The task: decode one chunk on this worker's model; (the sentences filled, the
    decoder calls made, who did it).  Pure: the same chunk gives the same result."""
    from distributed import get_worker

    worker = get_worker()
    model = worker.plugins.get(plugin)
    if model is None:
        raise ClusterError(f"worker {worker.address}: zhen's model was not set up there; "
                           "restart that worker")
    with model.lock:  # one chunk at a time: it uses all the worker's threads
        model._load()  # again, if it failed before (the model may be there now)
        if model.error:
            raise ModelError(model.error)
        before = model.translator.decoder_calls
        model.translator.translate(chunk, terms)
        calls = model.translator.decoder_calls - before
    return chunk, calls, f"{socket.gethostname()} pid {os.getpid()}"


def worker_states(plugin: str, dask_worker=None) -> dict | None:
    model = dask_worker.plugins.get(plugin)
    if model is None:
        return None
    if model.error:  # failed before: the model may be there by now
        model.load()
    return model.state()


def has_plugin(plugin: str, dask_scheduler=None) -> bool:
    return plugin in dask_scheduler.worker_plugins
