"""The `zhen` command line run in-process, as a test sees a real run of it.

`invoke(args, env, cwd)` runs `zhen.cli.main` inside click's CliRunner isolation (stdin,
stdout and stderr replaced, the environment changed for the call) and gives back what
`subprocess.run(..., capture_output=True, text=True)` would: `returncode`, `stdout` and
`stderr`.  What a fresh process would have fresh is made so for the call and put back after
it: the environment, the working folder, the root logger's handlers (zhen.cli.main installs
its own one-line handler on stderr), the SIGINT/SIGTERM handlers, and `os._exit` (the
interrupt path exits at once; here it ends the call with that status instead).  An uncaught
exception is printed as Python would print it, with status 1.

A real process stays the point for signals, `unshare -n`, concurrency between processes,
`make` and the installed wheel: those tests call `run_zhen(..., process=True)` or their
own subprocess.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completed:
    """The part of subprocess.CompletedProcess that the tests read."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


class _Exit(BaseException):
    """os._exit(status) inside an in-process run."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _status(code: object) -> tuple[int, str]:
    """A SystemExit's code as a process status, and what Python prints for it."""
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code & 0xFF, ""
    return 1, f"{code}\n"


def _env_changes(env: Mapping[str, str] | None) -> dict[str, str | None]:
    """The changes that make os.environ equal to `env` (None: unset)."""
    if env is None:
        return {}
    changes: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    changes.update({k: None for k in os.environ if k not in env})
    return changes


def invoke(args: Sequence[object], env: Mapping[str, str] | None = None,
           cwd: Path | str | None = None, input: str | bytes | None = None) -> Completed:
    from click.testing import CliRunner
    from zhen.cli import main

    argv = [str(a) for a in args]
    runner = CliRunner()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    main_thread = threading.current_thread() is threading.main_thread()
    saved_signals = ({s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
                     if main_thread else {})
    saved_exit, saved_cwd = os._exit, os.getcwd()

    def exit_now(status: int) -> None:
        raise _Exit(status)

    with runner.isolation(input=input, env=_env_changes(env)) as (out, err, _mixed):
        import sys

        root.handlers = []  # as in a new process: main's basicConfig installs its handler
        os._exit = exit_now
        try:
            if cwd is not None:
                os.chdir(cwd)
            main(argv)
            status = 0
        except SystemExit as exc:
            status, text = _status(exc.code)
            sys.stderr.write(text)
        except _Exit as exc:
            status = exc.status
        except Exception:  # what Python does with an uncaught exception
            traceback.print_exc(file=sys.stderr)
            status = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit = saved_exit
            os.chdir(saved_cwd)
            for handler in root.handlers:
                if handler not in saved_handlers:
                    handler.close()
            root.handlers = saved_handlers
            root.setLevel(saved_level)
            for sig, handler in saved_signals.items():
                signal.signal(sig, handler)
        stdout = out.getvalue().decode(runner.charset, "replace")
        stderr = err.getvalue().decode(runner.charset, "replace")
    return Completed(argv, status, stdout, stderr)
