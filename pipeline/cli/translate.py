"""`zhen translate`: input files or folders to TEI."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import click
from zhen import env
from zhen.cli.options import (
    MEMORY,
    MEMORY_HELP,
    Failed,
    decoding_options,
    glossary_option,
    model_option,
)
from zhen.readers import FORMAT_NAMES

# -- translate ---------------------------------------------------------------------------



@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default="output",
              show_default=True,
              help="Folder for the .tei.xml files, or a file ending in .xml for one input.")
@model_option
@glossary_option
@decoding_options
@click.option("--memory", "memory_path", type=MEMORY, default=None, help=MEMORY_HELP)
@click.option("--no-memory", is_flag=True, help="Neither read nor write the translation memory.")
@click.option("-u", "--update", is_flag=True,
              help="Skip inputs whose output is up to date: its header names the same source "
                   "(sha256), model, decoding settings, glossary (sha256) and zhen version.")
@click.option("-k", "--keep-going", is_flag=True,
              help="Go on after a file fails; exit non-zero at the end (like make -k).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--format", "input_format", type=click.Choice(list(FORMAT_NAMES)), default=None,
              help="Read every input as this format [default: by file suffix: .txt, .html/.htm, "
                   ".docx, .md].")
@click.option("--cluster", default=lambda: env.value("ZHEN_CLUSTER"), metavar="ADDRESS",
              help="Decode on a Dask cluster: tcp://HOST:PORT (its scheduler) or local:N (N "
                   "worker processes here) [default: $ZHEN_CLUSTER; needs "
                   "pip install 'zhen[cluster]'].")
def translate(inputs, out_dir, model, glossary_path, memory_path, no_memory, update, keep_going,
              quiet, input_format, cluster, **settings):
    """Translate Chinese documents INPUTS (text, web pages, Word, Markdown) into
    OUTPUT/<stem>.tei.xml ("-": standard input, written as stdin.tei.xml; a folder: every
    input file in it).  Metadata beside them (input/metadata.csv, NAME.meta.json) is used."""
    from zhen.batch.runner import translate_files
    from zhen.memory import default_memory_path
    from zhen.readers import check_manifests
    from zhen.settings import DecodingOptions

    inputs = _expand_folders(inputs)
    bad_manifests = check_manifests(p for p in inputs if str(p) != "-")
    for problem in bad_manifests:  # rows for files that are not there: no input's fault
        if not keep_going:
            raise problem
        logging.getLogger("zhen").error("%s", problem)
    options = DecodingOptions(**settings)
    memory = None if no_memory else (memory_path or default_memory_path())
    out_file = None
    if out_dir.suffix.lower() == ".xml" and not out_dir.is_dir():
        out_file, out_dir = out_dir, out_dir.parent
    with _stdin_as_file(inputs) as inputs:
        report = translate_files(
            inputs, out_dir, glossary_path, model=model, options=options, memory_path=memory,
            keep_going=keep_going, show_progress=False if quiet else None, update=update,
            out_file=out_file, input_format=input_format, cluster=cluster or None,
        )
    done = report.written
    if not quiet:
        hits = sum(f.from_memory for f in done)
        human = sum(f.human for f in done)
        total = sum(f.sentences for f in done)
        current = f", {len(report.up_to_date)} up to date" if update else ""
        click.echo(
            f"zhen: {len(done)} file(s) written to {out_dir}/{current}, {total} sentences, "
            f"{human} from human translations, {hits} from memory, "
            f"{report.sentences_translated} decoded, decoder calls: {report.decoder_calls}"
            f"{_qa_summary(done, out_dir)}",
            err=True,
        )
        if report.cluster_workers:
            workers = report.cluster_workers
            click.echo(f"zhen: decoded on {len(workers)} worker process(es): " + ", ".join(
                f"{who} {n} chunk(s)" for who, n in sorted(workers.items())), err=True)
    carried, gone = report.edits
    if carried or gone:  # said even with --quiet: it is about people's work
        kept = ": kept in the memory" if gone else ""
        click.echo(f"zhen: {carried} human edit(s) carried over, {gone} no longer match a "
                   f"source sentence{kept}", err=True)
    if report.failed or bad_manifests:
        manifests = f"; {len(bad_manifests)} manifest problem(s)" if bad_manifests else ""
        raise Failed(f"{len(report.failed)} of {len(report.files)} file(s) failed{manifests}")


def input_suffixes() -> tuple[str, ...]:
    """The input file suffixes zhen reads (the readers' registry)."""
    from zhen.readers import suffixes

    return tuple(suffixes())


def _expand_folders(inputs) -> list[Path]:
    """INPUTS with each folder replaced by the input files in it: regular files (not hidden)
    with a suffix zhen reads, sorted by name.  A folder with none stays, to fail as an
    input of its own (with --keep-going the others go on)."""
    suffixes = input_suffixes()
    out: list[Path] = []
    for path in inputs:
        if str(path) == "-" or not path.is_dir():
            out.append(path)
            continue
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes
                       and not p.name.startswith(".") and p.is_file())
        out += found or [path]
    return list(dict.fromkeys(out))


def _qa_summary(done, out_dir) -> str:
    """", QA: 2 error(s), 5 warning(s) (zhen qa output)" for the summary line."""
    counts: dict[str, int] = {}
    for f in done:
        for severity, n in f.qa.items():
            counts[severity] = counts.get(severity, 0) + n
    if not done:
        return ""
    parts = ", ".join(f"{counts.get(s, 0)} {s}(s)" for s in ("error", "warning"))
    return f", QA: {parts} (zhen qa {out_dir})"


@contextlib.contextmanager
def _stdin_as_file(inputs):
    """The inputs, "-" replaced by a temporary copy of standard input named stdin.txt."""
    if "-" not in map(str, inputs):
        yield list(inputs)
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="zhen-stdin-") as tmp:
        path = Path(tmp) / "stdin.txt"
        with open(path, "wb") as fh:
            while chunk := sys.stdin.buffer.read(1 << 20):
                fh.write(chunk)
        yield [path if str(p) == "-" else p for p in inputs]
