"""The one way a TEI is rewritten when people and runs may write it at the same time.

Every writer of a TEI (a translation run, a review save, an XLIFF or OmegaT import,
`zhen qa --annotate`) goes through `write_guarded`:

- a **per-file lock**: `flock` on a lock file beside the output (`.NAME.lock`, there
  only while a writer holds it; one left by a killed process is taken over), so two
  writers of one file take turns while other files go on in parallel (`make -j` stays
  parallel); the kernel releases it when a process dies;
- a **version check**: a writer names the version of the file it read (`version_of`, the
  sha256 of its bytes, None for no file: the same as the review workbench's If-Match),
  taken *before* it read it.  Under the lock, and again just before the atomic rename, the
  file on disk must still be that version;
- a **merge** when it is not: the caller's `merge(current)` is called under the lock to
  make the data again from the newer file (a run takes its human sentences: they win over
  machine output), or, without one, `StaleFile` is raised (the review answers 409).

So no writer replaces a file whose human sentences it has not seen.  A writer that does
its whole read-modify-write under `locked(path)` (an import, a review save) meets another
version only when something that takes no lock (an editor) wrote the file meanwhile.

`locked` is re-entrant within a thread (a review save holds it around `apply_edits`, which
takes it again); other threads and processes wait for it, up to LOCK_TIMEOUT seconds.

The API, for a new writer (an importer of a CAT tool's work goes through
`tei.edits.apply_edits`, which uses it, as `zhen import omegat` does): `version_of(path)` before reading;
`write_guarded(path, data, read, merge=None)` to write; `locked(path)` around a whole
read-modify-write (or a removal: `prune`); `lock_path(path)` names the lock file.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from zhen.errors import OutputError, StaleFile
from zhen.writer import atomic_output, is_open_file, output_error

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: no locks
    fcntl = None  # type: ignore[assignment]

LOCK_SUFFIX = ".lock"
LOCK_TIMEOUT = 300.0  # seconds a writer waits for another one's write of the same file
MERGE_ROUNDS = 5  # versions a writer merges before it gives up (the file keeps changing)

Data = bytes | Callable[[BinaryIO], None]  # the bytes, or what writes them
Merge = Callable[[str | None], Data | None]

_held = threading.local()  # this thread's locks: lock path → [fd, depth]


def lock_path(path: Path) -> Path:
    """The lock file of `path`: `.NAME.lock` beside it."""
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


def version_of(path: Path) -> str | None:
    """The version of a file: the sha256 of its bytes; None when there is no file."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


@contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock of `path` for the block (re-entrant in a thread).  OutputError, naming
    the file, if it cannot be taken within `timeout` seconds (LOCK_TIMEOUT)."""
    lock = lock_path(path)
    key = os.path.abspath(lock)
    held: dict = _held.__dict__.setdefault("locks", {})
    if key in held:
        held[key][1] += 1
        try:
            yield
        finally:
            held[key][1] -= 1
        return
    fd = _acquire(lock, Path(path), LOCK_TIMEOUT if timeout is None else timeout)
    held[key] = [fd, 1]
    try:
        yield
    finally:
        del held[key]
        _release(lock, fd)


def _acquire(lock: Path, path: Path, timeout: float) -> int:
    """An fd of the lock file, locked: the file then at `lock` (a waiter that got the lock
    of a file its holder removed takes the new one)."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise output_error(path, exc) from None
        if fcntl is None:
            return fd
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
                if time.monotonic() >= deadline:
                    raise OutputError(
                        f"{path}: another process has been writing it for more than "
                        f"{timeout:.0f} s (it holds {lock.name}); try again when it has "
                        "finished")
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
            if is_open_file(fd, lock):
                return fd
        except OSError as exc:
            os.close(fd)
            raise output_error(path, exc) from None
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # removed by its holder meanwhile: take the one there now


def _release(lock: Path, fd: int) -> None:
    """Remove the lock file (while holding it: no clutter beside the outputs), unlock."""
    try:
        os.unlink(lock)
    except OSError:
        pass
    os.close(fd)


class _Changed(Exception):
    """The file changed between the check under the lock and the rename."""


def write_guarded(path: Path, data: Data, read: str | None, merge: Merge | None = None,
                  keep_mode: bool = False) -> str | None:
    """Write `data` to `path` atomically if the file is still the version `read` (see the
    module's docstring); return the version written (None: nothing was written).

    When the file is another version, `merge(current)` is called under the lock and its
    data written instead (None: write nothing); without `merge`, StaleFile is raised and
    nothing is written.  `data` is bytes or a function that writes them into a file.
    """
    path = Path(path)
    with locked(path):
        for _ in range(MERGE_ROUNDS):
            current = version_of(path)
            if current != read:
                if merge is None:
                    raise StaleFile(f"{path} changed on disk since it was read (another "
                                    "writer's save or run); nothing was written")
                data, read = merge(current), current
                if data is None:
                    return None
                continue  # check again: only a writer without the lock can have changed it

            def still_read(expected: str | None = read) -> None:
                if version_of(path) != expected:
                    raise _Changed

            try:
                with atomic_output(path, keep_mode, before_replace=still_read) as fh:
                    if callable(data):
                        data(fh)
                    else:
                        fh.write(data)
            except _Changed:
                continue
            except OSError as exc:
                raise output_error(path, exc) from None
            return version_of(path)
    raise StaleFile(f"{path} kept changing while zhen wrote it ({MERGE_ROUNDS} versions); "
                    "nothing was written: stop the other program writing it and run again")
