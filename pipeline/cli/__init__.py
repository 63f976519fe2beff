"""The `zhen` command line: parses options and calls the library, nothing more.

Library modules are imported inside the commands, so `zhen --help` stays fast and loads
no CTranslate2.  A user mistake (ZhenError) is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import sys

import click
from zhen import __version__
from zhen.cli import checks, exchange, glossary, memory, models, servers, translate, views
from zhen.cli.options import Failed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="zhen")
def cli() -> None:
    """Offline Chinese→English bilingual, sentence-aligned, term-annotated TEI."""


# The command table: every command module imports only click at its top.
cli.add_command(translate.translate)
cli.add_command(models.model)
models.model.add_command(servers.model_add)
models.model.add_command(servers.model_remove)
cli.add_command(models.schema)
cli.add_command(models.eval_)
cli.add_command(checks.validate)
cli.add_command(checks.qa)
cli.add_command(glossary.glossary)
cli.add_command(exchange.export)
cli.add_command(exchange.import_)
cli.add_command(exchange.corpus)
cli.add_command(exchange.prune)
cli.add_command(views.view)
cli.add_command(views.review)
cli.add_command(memory.memory)
cli.add_command(memory.cache)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (temporary files removed)."""


def _on_sigterm(signum, frame):
    _ignore_more_signals()
    raise _Terminated()


def _on_sigint(signum, frame):
    _ignore_more_signals()
    raise KeyboardInterrupt()


def _ignore_more_signals() -> None:
    """A second Ctrl-C (or SIGTERM) during the clean-up of the first is ignored: the clean-up
    takes well under a second, and a traceback from inside it would help nobody."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


CLEANED_UP = "finished outputs are complete, nothing partial was left"


def _interrupted_message(exc: BaseException) -> str:
    """One line: interrupted, how many decoded sentences the memory keeps for a rerun, and
    that nothing partial was left."""
    from zhen.batch.runner import Interrupted

    run = next((e for e in _causes(exc) if isinstance(e, Interrupted)), None)
    if run is None:
        kept = ""
    elif run.saved is None:
        kept = " nothing decoded was kept (--no-memory);"
    else:
        kept = (f" {run.saved} decoded sentence(s) saved in the memory, a rerun continues "
                "from there;")
    return f"zhen: interrupted;{kept} {CLEANED_UP}"


_ESCAPES = {c: f"\\x{c:02x}" for c in range(32) if c != 9} | {10: "\\n", 13: "\\r"}


def escape_controls(message: str) -> str:
    """A message on one line: control characters (in a file name, say) shown escaped."""
    return message.translate(_ESCAPES)


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning user errors into one line and an exit code.

    Ctrl-C (SIGINT) exits 130 and SIGTERM 143, after the clean-up every exception gets: an
    output being written is removed, finished ones stay.  (SIGKILL cannot be caught; its
    temporary file is removed by the next run in that folder.)
    """
    import signal

    from zhen.errors import ZhenError

    handler = logging.StreamHandler()
    handler.setFormatter(_OneLineFormatter("zhen: %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        cli.main(args=argv, prog_name="zhen", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:  # click wraps Ctrl-C in Abort
        _ignore_more_signals()
        click.echo(_interrupted_message(exc), err=True)
        terminated = any(isinstance(e, _Terminated) for e in _causes(exc))
        sys.stdout.flush()
        sys.stderr.flush()
        # Every output is complete or removed and the memory committed by now; exiting at
        # once spares waiting for the decoder's worker threads to finish their batches.
        os._exit(143 if terminated else 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ZhenError as exc:
        click.echo(f"zhen: error: {escape_controls(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except Failed as exc:
        click.echo(f"zhen: {exc}", err=True)
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(141)


def _causes(exc: BaseException | None):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


if __name__ == "__main__":
    main()
