"""Write files so that no half-written file ever stands under its final name.

A file is written to a temporary name beside its target (`.NAME.XXXXXXXX.tmp`), fsynced and
renamed over the target.  The writer holds an exclusive `flock` on its temporary file, so a
temporary file nobody holds locked was left by a killed run: `remove_stale_temps` deletes
those (and only those: another process's write in progress is never touched), and
`zhen translate` calls it on its output folder before it starts.  `make` never sees them
either way: they are not targets and do not match `*.tei.xml`.
"""

from __future__ import annotations

import errno
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from zhen.errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: no locks, no clean-up
    fcntl = None  # type: ignore[assignment]

TEMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes, keep_mode: bool = False) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`
    (with keep_mode, keeping the permissions `path` had)."""
    with atomic_output(path, keep_mode) as fh:
        fh.write(data)


@contextmanager
def atomic_output(path: Path, keep_mode: bool = False,
                  before_replace: Callable[[], None] | None = None) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: renamed over `path` only if the block succeeds
    (and `before_replace`, called just before the rename, raises nothing: zhen.filelock
    checks there that the file is still the version the data was made from).

    On any exception (including KeyboardInterrupt) the temporary file is removed; an
    OSError (disk full, permission denied…) becomes an OutputError naming `path`.
    """
    path = Path(path)
    with _SignalsHeld() as held:  # no Ctrl-C/SIGTERM between creating the file and the try
        fh, tmp = _create_temp(path, keep_mode)
        try:
            try:
                held.release()  # one that came meanwhile is raised here, inside the try
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
                if before_replace is not None:
                    before_replace()
                os.replace(tmp, path)
            finally:
                fh.close()  # only now: the lock keeps a clean-up off the file until renamed
        except BaseException as exc:
            _unlink_quietly(tmp)
            if isinstance(exc, OSError):
                raise output_error(path, exc) from None
            raise


def _create_temp(path: Path, keep_mode: bool = False) -> tuple[BinaryIO, str]:
    """Create and lock `.NAME.XXXXXXXX.tmp` beside `path`, with the umask's permissions."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX,
                                       dir=path.parent)
            try:
                if _lock(fd, blocking=True) and is_open_file(fd, tmp):
                    os.fchmod(fd, _mode(path) if keep_mode else 0o666 & ~_umask())
                    return os.fdopen(fd, "wb"), tmp
            except BaseException:
                os.close(fd)
                _unlink_quietly(tmp)
                raise
            os.close(fd)  # removed by a clean-up between mkstemp and flock: take another
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here ({_reason(exc)})") from None


class _SignalsHeld:
    """Hold SIGINT and SIGTERM back (Python handlers only, main thread only) until
    `release()` or the end of the block, then act on one that arrived meanwhile."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __enter__(self) -> _SignalsHeld:
        self.caught: int | None = None
        self.saved: dict[int, object] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                if signal.getsignal(sig) is not None:  # None: a handler set outside Python
                    self.saved[sig] = signal.signal(sig, self._record)
        return self

    def _record(self, signum, frame) -> None:
        self.caught = signum

    def release(self) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        self.saved = {}
        if self.caught is not None:
            caught, self.caught = self.caught, None
            signal.raise_signal(caught)  # the restored handler (or default action) runs now

    def __exit__(self, *exc_info) -> None:
        self.release()


def remove_stale_temps(folder: Path, pattern: str = "*") -> list[Path]:
    """Delete temporary files of killed runs (`.NAME.XXXXXXXX.tmp`, NAME matching `pattern`).

    A temporary file is stale when no process holds its lock; those being written right
    now are left alone.  Returns the files removed.
    """
    removed: list[Path] = []
    if fcntl is None:
        return removed
    for tmp in Path(folder).glob(f".{pattern}.*{TEMP_SUFFIX}"):
        try:
            fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue  # gone already, or a symlink: not ours
        try:
            if _lock(fd, blocking=False) and is_open_file(fd, tmp):
                os.unlink(tmp)
                removed.append(tmp)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def prepare_output_folder(folder: Path) -> None:
    """Create `folder`, check that files can be created in it, and clean stale temporaries.

    Done before any work, so an unwritable folder is reported before the model loads.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({_reason(exc)})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        err = errno.EROFS if _read_only(folder) else errno.EACCES
        raise OutputError(f"{folder}: cannot write here ({_reason(OSError(err, ''))})")
    remove_stale_temps(folder, "*.tei.xml")


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def is_open_file(fd: int, name: str | Path) -> bool:
    """True if `name` is still the file open as `fd` (not removed or replaced meanwhile)."""
    try:
        st = os.stat(name, follow_symlinks=False)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full; free some space and run again"
    if exc.errno == errno.EROFS:
        return "read-only file system; choose a writable output folder with -o"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; choose a writable output folder with -o"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way where a folder is needed; choose another folder with -o"
    return exc.strerror or str(exc)


def _mode(path: Path) -> int:
    """The permissions of `path`, or a new file's (mkstemp makes 0600; outputs are not
    secret)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def output_error(path: Path, exc: OSError) -> OutputError:
    """The OutputError for an OSError met while writing `path`."""
    return OutputError(f"{path}: cannot write ({_reason(exc)})")
