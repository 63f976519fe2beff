"""The `zhen` command line: parses options and calls the library, nothing more.

Library modules are imported inside the commands, so `zhen --help` stays fast and loads
no CTranslate2.  A user mistake (ZhenError) is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

import click

DEFAULT_GLOSSARY = "glossary/terms.tsv"


def _glossary_option(f):
    return click.option(
        "--glossary",
        "glossary_path",
        type=click.Path(path_type=Path),
        default=lambda: os.environ.get("ZHEN_GLOSSARY", DEFAULT_GLOSSARY),
        show_default="$ZHEN_GLOSSARY or glossary/terms.tsv",
        help="Glossary TSV file.",
    )(f)


def _memory_options(f):
    f = click.option("--no-memory", is_flag=True, help="Without the translation memory.")(f)
    return click.option("--memory", "memory_path", type=click.Path(path_type=Path),
                        default=None,
                        help="Translation memory file [default: $ZHEN_MEMORY or the user "
                             "cache].")(f)


def _translator_option(f):
    return click.option("--translator", default=lambda: os.environ.get("ZHEN_TRANSLATOR", ""),
                        show_default="$ZHEN_TRANSLATOR",
                        help="Who made these translations (recorded with them).")(f)


@contextlib.contextmanager
def _open_memory(path: Path | None, off: bool):
    """The translation memory at `path` (default: $ZHEN_MEMORY or the cache), or None."""
    if off:
        yield None
        return
    from .memory import TranslationMemory, default_memory_path

    mem = TranslationMemory(path or default_memory_path())
    try:
        yield mem
    finally:
        mem.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zhen", prog_name="zhen")
def cli() -> None:
    """Offline Chinese→English bilingual, sentence-aligned, term-annotated TEI."""


# -- translate ---------------------------------------------------------------------------


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default="output",
              show_default=True,
              help="Folder for the .tei.xml files, or a file ending in .xml for one input.")
@click.option("--model", default=None, envvar="ZHEN_MODEL",
              help="Argos package: installed name, package folder or .argosmodel file "
                   "[default: $ZHEN_MODEL, else the installed zh→en package].")
@_glossary_option
@click.option("--beam-size", type=click.IntRange(1, 16), default=2, show_default=True)
@click.option("--num-hypotheses", type=click.IntRange(1, 16), default=2, show_default=True,
              help="n-best hypotheses searched for glossary renderings (above the beam size "
                   "it widens the beam of sentences with terms).")
@click.option("--batch-size", type=click.IntRange(1), default=512, show_default=True,
              help="Source tokens (or sentences with --batch-type examples) per decoder batch.")
@click.option("--batch-type", type=click.Choice(["tokens", "examples"]), default="tokens",
              show_default=True)
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True,
              help="CPU threads for decoding (0: all cores).")
@click.option("--compute-type", default="int8", show_default=True,
              help="CTranslate2 compute type (int8, int8_float32, float32, …).")
@click.option("--max-length-ratio", type=click.FloatRange(0.1), default=1.5, show_default=True,
              help="Cap on output tokens relative to input tokens.")
@click.option("--no-enforce", is_flag=True, help="Do not enforce glossary renderings.")
@click.option("--memory", "memory_path", type=click.Path(path_type=Path), default=None,
              help="Translation memory file [default: $ZHEN_MEMORY or the user cache].")
@click.option("--no-memory", is_flag=True, help="Neither read nor write the translation memory.")
@click.option("-u", "--update", is_flag=True,
              help="Skip inputs whose output is up to date: its header names the same source "
                   "(sha256), model, decoding settings, glossary (sha256) and zhen version.")
@click.option("-k", "--keep-going", is_flag=True,
              help="Go on after a file fails; exit non-zero at the end (like make -k).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
def translate(inputs, out_dir, model, glossary_path, beam_size, num_hypotheses, batch_size,
              batch_type, threads, compute_type, max_length_ratio, no_enforce, memory_path,
              no_memory, update, keep_going, quiet):
    """Translate Chinese text files INPUTS into OUTPUT/<stem>.tei.xml ("-": standard input,
    written as stdin.tei.xml)."""
    from .batch import translate_files
    from .memory import default_memory_path
    from .translate import DecodingOptions

    options = DecodingOptions(
        beam_size=beam_size, num_hypotheses=num_hypotheses, batch_size=batch_size,
        batch_type=batch_type, threads=threads, compute_type=compute_type,
        max_length_ratio=max_length_ratio, enforce_terms=not no_enforce,
    )
    memory = None if no_memory else (memory_path or default_memory_path())
    out_file = None
    if out_dir.suffix.lower() == ".xml" and not out_dir.is_dir():
        out_file, out_dir = out_dir, out_dir.parent
    with _stdin_as_file(inputs) as inputs:
        report = translate_files(
            inputs, out_dir, glossary_path, model=model, options=options, memory_path=memory,
            keep_going=keep_going, show_progress=False if quiet else None, update=update,
            out_file=out_file,
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
            f"{report.sentences_translated} decoded, decoder calls: {report.decoder_calls}",
            err=True,
        )
    carried, gone = report.edits
    if carried or gone:  # said even with --quiet: it is about people's work
        kept = ": kept in the memory" if gone else ""
        click.echo(f"zhen: {carried} human edit(s) carried over, {gone} no longer match a "
                   f"source sentence{kept}", err=True)
    if report.failed:
        raise _Failed(f"{len(report.failed)} of {len(report.files)} file(s) failed")


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


# -- model ---------------------------------------------------------------------------------


@cli.group()
def model() -> None:
    """Install, list and synthesise Argos zh→en packages."""


@model.command("install")
@click.argument("spec")
def model_install(spec):
    """Install SPEC: a .argosmodel file (offline) or a name from the argospm index."""
    from .packages import install_package

    pkg = install_package(spec)
    click.echo(f"installed {pkg.name} {pkg.version} in {pkg.path}")


@model.command("list")
def model_list():
    """List installed zh→en packages."""
    from .packages import argos_packages_dir, installed_packages

    pkgs = installed_packages()
    if not pkgs:
        click.echo(f"no zh→en package installed in {argos_packages_dir()}")
    for pkg in pkgs:
        flag = "  (synthetic: random weights)" if pkg.synthetic else ""
        click.echo(f"{pkg.name}\t{pkg.version}\t{pkg.path}{flag}")


@model.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--size", type=click.Choice(["tiny", "base"]), default="tiny", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def model_synth(out, size, seed):
    """Build a synthetic .argosmodel with random weights (for tests and benchmarks only)."""
    from .synth import build_synthetic_package

    path = build_synthetic_package(out, size=size, seed=seed)
    click.echo(f"wrote {path} (random weights: its English is noise)")


# -- validate --------------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-schema", is_flag=True, help="Check zhen's invariants only, not tei_all.")
def validate(files, no_schema):
    """Check TEI FILES against tei_all and zhen's invariants; one line per problem."""
    from .validate import validate_files

    problems = validate_files(list(files), schema=not no_schema)
    for problem in problems:
        click.echo(str(problem))
    bad = len({p.path for p in problems})
    click.echo(f"zhen: {len(files) - bad} valid, {bad} with problems", err=True)
    if problems:
        raise _Failed(f"{len(problems)} problem(s) in {bad} file(s)")


# -- glossary --------------------------------------------------------------------------------


@cli.group()
def glossary() -> None:
    """Maintain the glossary: lint, add, remove, list, coverage, suggest, import, export."""


@glossary.command("lint")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@_glossary_option
def glossary_lint(path, glossary_path):
    """Report every problem in the glossary with its line; exit 1 on errors."""
    from .glossary import lint_glossary

    path = path or glossary_path
    messages = lint_glossary(path)
    for m in messages:
        click.echo(str(m))
    errors = sum(1 for m in messages if m.level == "error")
    click.echo(f"{path}: {errors} error(s), {len(messages) - errors} note(s)", err=True)
    if errors:
        raise _Failed(f"{path}: glossary has {errors} error(s)")


@glossary.command("add")
@click.argument("zh")
@click.argument("en", required=False, default="")
@click.option("--variant", "variants", multiple=True, help="Another Chinese form (repeatable).")
@click.option("--note", default="")
@click.option("--id", "term_id", default=None, help="Stable id [default: a slug of EN].")
@click.option("--keep", is_flag=True, help="Do-not-translate entry: the rendering is ZH itself.")
@_glossary_option
def glossary_add(zh, en, variants, note, term_id, keep, glossary_path):
    """Add ZH → EN; refused if lint would reject the result."""
    from .glossary import add_term
    from .model import TermKind

    kind = TermKind.KEEP if keep else TermKind.TERM
    t = add_term(glossary_path, zh, en, tuple(variants), note, id=term_id, kind=kind)
    click.echo(f"added {t.id}: {t.zh} → {t.rendering}")


@glossary.command("remove")
@click.argument("term_id", metavar="ID")
@_glossary_option
def glossary_remove(term_id, glossary_path):
    """Remove the entry with id ID."""
    from .glossary import remove_term

    t = remove_term(glossary_path, term_id)
    click.echo(f"removed {t.id}: {t.zh} → {t.rendering}")


@glossary.command("list")
@click.option("--grep", default=None, help="Only entries containing this text.")
@_glossary_option
def glossary_list(grep, glossary_path):
    """List entries: id, zh, rendering, kind, variants, note (tab-separated)."""
    from .glossary import list_terms, load_glossary

    for t in list_terms(load_glossary(glossary_path), grep):
        click.echo("\t".join([t.id, t.zh, t.rendering, t.kind.value, "|".join(t.variants),
                              t.note]))


@glossary.command("coverage")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_glossary_option
def glossary_coverage(files, glossary_path):
    """Per term: occurrences, documents, and (over .tei.xml files) use of the approved rendering."""
    from .coverage import coverage, is_tei
    from .glossary import load_glossary
    from .reader import read_text_file
    from .tei import read_tei

    texts = [(f.name, read_text_file(f)[0]) for f in files if not is_tei(f)]
    docs = [read_tei(f) for f in files if is_tei(f)]
    report = coverage(load_glossary(glossary_path), texts, docs)
    click.echo("id\tzh\trendering\toccurrences\tdocuments\ttranslated\tcompliant\tstatuses")
    for r in report.terms:
        statuses = ",".join(f"{k}={v}" for k, v in sorted(r.by_status.items()))
        click.echo(f"{r.term_id}\t{r.zh}\t{r.rendering}\t{r.occurrences}\t{r.documents}\t"
                   f"{r.translated}\t{r.compliant}\t{statuses}")
    unseen = ", ".join(r.term_id for r in report.unseen) or "none"
    click.echo(f"never seen: {unseen}")
    if report.compliance is not None:
        click.echo(f"compliance: {report.compliant}/{report.translated} occurrences "
                   f"({100 * report.compliance:.1f}%) use the approved rendering")


@glossary.command("suggest")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--min-count", type=click.IntRange(1), default=2, show_default=True,
              help="Occurrences an expression needs (names and quoted phrases: 1).")
@_glossary_option
def glossary_suggest(files, limit, min_count, glossary_path):
    """Candidate terms in FILES that are not in the glossary yet, best first."""
    from .glossary import load_glossary
    from .reader import read_text_file
    from .suggest import suggest_terms

    texts = [(f.name, "\n".join(read_text_file(f)[0])) for f in files]
    found = suggest_terms(texts, load_glossary(glossary_path), limit, min_count)
    click.echo("score\tcount\tdocs\tcandidate\tkinds\tcontext")
    for c in found:
        click.echo(f"{c.score:.1f}\t{c.count}\t{c.documents}\t{c.text}\t{','.join(c.kinds)}\t"
                   f"{c.source}: {c.context}")
    if len(found) < min(limit, 10) and min_count > 1:
        click.echo(f"zhen: {len(found)} candidate(s): few expressions occur {min_count} times in "
                   "these texts; --min-count 1 also lists those seen once", err=True)


@glossary.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@_glossary_option
def glossary_import(file, glossary_path):
    """Merge entries from a TBX, CSV or TSV FILE into the glossary."""
    from .tbx import import_terms, read_terms_file

    terms, skipped = read_terms_file(file)
    added, more = import_terms(glossary_path, terms)
    for t in added:
        click.echo(f"added {t.id}: {t.zh} → {t.rendering}")
    for message in [*skipped, *more]:
        click.echo(f"skipped: {message}", err=True)
    click.echo(f"imported {len(added)}, skipped {len(skipped) + len(more)}", err=True)


@glossary.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@_glossary_option
def glossary_export(file, glossary_path):
    """Write the glossary as TBX (.tbx) or two-column CSV/TSV (.csv, .tsv)."""
    from .glossary import load_glossary
    from .tbx import write_terms_file

    terms = load_glossary(glossary_path).terms
    write_terms_file(terms, file)
    click.echo(f"wrote {len(terms)} entries to {file}")


# -- export and import ------------------------------------------------------------------


# The names of exports.FORMATS, spelled out so that `zhen --help` imports no exporter
# (tests/test_memory_cli.py checks that the two agree).
EXPORT_NAMES = ["cesalign", "moses", "tmx", "vrt", "xliff"]


@cli.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(EXPORT_NAMES))
@click.argument("tei", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="File (tmx, cesalign), folder (vrt, xliff) or prefix (moses) to write.")
@click.option("--name", default="zhen", show_default=True, help="Corpus name (vrt).")
@click.option("--memory", "memory_path", type=click.Path(path_type=Path), default=None,
              help="Memory whose human translations give fuzzy matches (xliff) "
                   "[default: $ZHEN_MEMORY or the user cache].")
@click.option("--no-memory", is_flag=True, help="No fuzzy matches (xliff).")
def export(fmt, tei, out, name, memory_path, no_memory):
    """Export TEI files read back into FORMAT: tmx, vrt, moses, cesalign or xliff."""
    from .exports import FORMATS, ExportOptions

    with _open_memory(memory_path, no_memory or fmt != "xliff") as memory:
        written = FORMATS[fmt].write(list(tei), out, ExportOptions(name, memory))
    for path in written:
        click.echo(f"wrote {path}")


@cli.group("import")
def import_() -> None:
    """Bring translators' work back into zhen's TEI."""


@import_.command("xliff")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "tei_dir", type=click.Path(path_type=Path, file_okay=False),
              default="output", show_default=True,
              help="Folder of the TEI files the XLIFF was exported from.")
@_memory_options
@_translator_option
def import_xliff(files, tei_dir, memory_path, no_memory, translator):
    """Apply the targets of XLIFF 1.2 FILES (from `zhen export xliff`) to their TEI files:
    edits marked human, terms re-located, the memory updated."""
    from .edits import import_xliff as apply

    with _open_memory(memory_path, no_memory) as memory:
        results = apply(files, tei_dir, memory, translator)
    for r in results:
        click.echo(f"{r.path}: {r.changed} sentence(s) from the translator, "
                   f"{r.unchanged} unchanged")
    click.echo(f"zhen: {sum(r.changed for r in results)} human translation(s) applied to "
               f"{len(results)} file(s)", err=True)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True)
@click.option("--title", default=None, help="Corpus title.")
def corpus(folder, out, title):
    """Write a teiCorpus of every FOLDER/*.tei.xml, loadable as one corpus."""
    from .errors import TeiError
    from .exports import build_corpus

    files = sorted(folder.glob("*.tei.xml"))
    if not files:
        raise TeiError(f"{folder}: no .tei.xml files (run `make` first)")
    for path in build_corpus(files, out, title=title):
        click.echo(f"wrote {path}")


# -- view ------------------------------------------------------------------------------------


@cli.command()
@click.argument("tei", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True,
              help="HTML file (or existing folder) to write.")
@_memory_options
def view(tei, out, memory_path, no_memory):
    """Write a self-contained HTML page showing TEI side by side, terms highlighted, human
    sentences marked, similar human translations from the memory offered."""
    from .memory import default_memory_path
    from .view import write_view

    path = memory_path or default_memory_path()
    with _open_memory(path, no_memory or not Path(path).exists()) as mem:
        human = mem.human_entries() if mem is not None else []
    click.echo(f"wrote {write_view(tei, out, human)}")


# -- memory ----------------------------------------------------------------------------


@cli.group()
def memory() -> None:
    """The translation memory: machine translations, and people's translations (kept)."""


@memory.command("stats")
@_memory_options
def memory_stats(memory_path, no_memory):
    """Entries and size of the translation memory."""
    with _open_memory(memory_path, False) as mem:
        st = mem.stats()
    click.echo(f"{st.path}: {st.entries} machine translations, {st.human} human translations "
               f"({st.human_versions} versions), {st.size_bytes / 1e6:.1f} MB")


@memory.command("clear")
@_memory_options
def memory_clear(memory_path, no_memory):
    """Delete the machine translations (they can be made again); human ones are kept."""
    with _open_memory(memory_path, False) as mem:
        n = mem.clear()
        kept = mem.stats().human
    click.echo(f"removed {n} machine translations from {mem.path}; kept {kept} human "
               "translations (export them with `zhen memory export`)")


@memory.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_memory_options
@_translator_option
def memory_import(files, memory_path, no_memory, translator):
    """Load approved translations from TMX (any CAT tool), XLIFF 1.2 or zhen TEI FILES."""
    from .memory_io import import_translations

    with _open_memory(memory_path, False) as mem:
        report = import_translations(files, mem, translator)
    c = report.counts
    click.echo(f"zhen: {c.added} added, {c.updated} updated, {c.unchanged + c.older} "
               f"unchanged or older, {report.skipped} skipped (not an approved zh→en "
               "human translation)", err=True)


@memory.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--human-only", is_flag=True, help="Only people's translations.")
@_memory_options
def memory_export(file, human_only, memory_path, no_memory):
    """Write the memory as a TMX 1.4b FILE (x-origin human or machine)."""
    from .memory_io import export_translations

    with _open_memory(memory_path, False) as mem:
        n = export_translations(mem, file, human_only)
    click.echo(f"wrote {n} translation units to {file}")


# `zhen cache` is the older name of `zhen memory` (stats and clear).
cli.add_command(click.Group("cache", commands={"stats": memory_stats, "clear": memory_clear},
                            help="Older name of `zhen memory`."))


class _Failed(Exception):
    """Some files failed; each was already reported."""


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
    from .batch import Interrupted

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

    from .errors import ZhenError

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
    except _Failed as exc:
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
