"""`zhen export`, `zhen import`, `zhen corpus`, `zhen prune`: TEI out to other formats and tools, people's work back in."""

from __future__ import annotations

from pathlib import Path

import click
from zhen.cli.options import (
    MEMORY,
    MEMORY_HELP,
    memory_options,
    opened_memory,
    translator_option,
)
from zhen.exports import FORMATS

# -- export and import ------------------------------------------------------------------


MEMORY_EXPORTS = ("omegat", "xliff")  # the exports that read the memory


@click.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(FORMATS)))
@click.argument("tei", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(), required=True,  # str: keeps a final /
              help="File (tmx, cesalign), folder (vrt, xliff; omegat: a new one) or prefix "
                   "(moses; a folder: NAME.zh and NAME.en in it) to write.")
@click.option("--name", default="zhen", show_default=True,
              help="Corpus name (vrt; moses into a folder).")
@click.option("--memory", "memory_path", type=MEMORY, default=None,
              help="Memory (file or postgresql:// URL) whose human translations give fuzzy "
                   "matches (xliff, omegat) and pre-fill the project (omegat) "
                   "[default: $ZHEN_MEMORY or the user cache].")
@click.option("--no-memory", is_flag=True, help="No fuzzy matches (xliff, omegat).")
@click.option("--rainbow", is_flag=True,
              help="xliff: each target a copy of the Chinese, zhen's English as alt-trans (the "
                   "Okapi Rainbow convention OmegaT's XLIFF filter reads).")
def export(fmt, tei, out, name, memory_path, no_memory, rainbow):
    """Export TEI files read back into FORMAT: tmx, vrt, moses, cesalign, xliff or omegat."""
    from zhen.exports import ExportOptions

    if rainbow and fmt != "xliff":
        raise click.UsageError(f"--rainbow is an option of the xliff export, not of {fmt}")
    with opened_memory(memory_path, no_memory or fmt not in MEMORY_EXPORTS) as memory:
        written = FORMATS[fmt].write(list(tei), out, ExportOptions(name, memory, rainbow))
    for path in written:
        click.echo(f"wrote {path}")


@click.group("import")
def import_() -> None:
    """Bring translators' work back into zhen's TEI."""


@import_.command("xliff")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "tei_dir", type=click.Path(path_type=Path, file_okay=False),
              default="output", show_default=True,
              help="Folder of the TEI files the XLIFF was exported from.")
@memory_options
@translator_option
def import_xliff(files, tei_dir, memory_path, no_memory, translator):
    """Apply the targets of XLIFF 1.2 FILES (from `zhen export xliff`) to their TEI files:
    edits marked human, terms re-located, the memory updated."""
    from zhen.tei.edits import import_xliff as apply

    with opened_memory(memory_path, no_memory) as memory:
        results = apply(files, tei_dir, memory, translator)
    _report_applied(results)


@import_.command("omegat")
@click.argument("project", type=click.Path(path_type=Path))
@click.option("-o", "--output", "tei_dir", type=click.Path(path_type=Path, file_okay=False),
              default="output", show_default=True,
              help="Folder of the TEI files the project was exported from.")
@memory_options
@translator_option
def import_omegat(project, tei_dir, memory_path, no_memory, translator):
    """Apply the translator's work in the OmegaT PROJECT (from `zhen export omegat`) to its
    TEI files: marked human with the translator OmegaT recorded, terms re-located, the
    memory updated."""
    from zhen.tei.omegat import import_omegat as apply

    with opened_memory(memory_path, no_memory) as memory:
        done = apply(project, tei_dir, memory, translator)
    _report_applied(done.results, orphaned=done.orphaned)


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True)
@click.option("--title", default=None, help="Corpus title.")
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Only the outputs whose source file is still in this folder (e.g. input).")
def corpus(folder, out, title, sources):
    """Write a teiCorpus of every FOLDER/*.tei.xml, loadable as one corpus."""
    from zhen.errors import TeiError
    from zhen.exports.corpus import build_corpus

    files = sorted(folder.glob("*.tei.xml"))
    if sources is not None:
        from zhen.prune import sort_outputs

        found = sort_outputs(folder, sources)
        files = sorted([*found.current, *(p for p, _ in found.unreadable)])
        if found.stale:
            click.echo(f"zhen: left out {len(found.stale)} output(s) whose source is no longer "
                       f"in {sources}/: {', '.join(p.name for p, _ in found.stale)}", err=True)
    if not files:
        raise TeiError(f"{folder}: no .tei.xml files (run `make` first)")
    for path in build_corpus(files, out, title=title):
        click.echo(f"wrote {path}")


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder the inputs are in (e.g. input).")
@click.option("-n", "--dry-run", is_flag=True, help="Only list them (silent if there is none).")
@click.option("--memory", "memory_path", type=MEMORY, default=None, help=MEMORY_HELP)
def prune(folder, sources, dry_run, memory_path):
    """Remove the FOLDER/*.tei.xml whose source file is no longer in SOURCES, after saving
    the human translations in them to the translation memory (if that fails, nothing is
    removed)."""
    from zhen.prune import remove_outputs, sort_outputs

    found = sort_outputs(folder, sources)
    for path, why in found.unreadable:
        click.echo(f"zhen: warning: {path}: cannot tell its source, left alone ({why})", err=True)
    stale = [path for path, _ in found.stale]
    if dry_run:
        for path, source in found.stale:
            click.echo(f"zhen: {path}: its source {source} is no longer in {sources}/ "
                       f"(`zhen prune {folder} --sources {sources}` or `make prune` removes "
                       "it)", err=True)
        return
    with opened_memory(memory_path, not stale) as mem:
        saved = remove_outputs(stale, mem)
    for path in stale:
        click.echo(f"removed {path}")
    click.echo(f"zhen: {len(stale)} output(s) removed whose source is no longer in {sources}/; "
               f"{saved} human translation(s) in them kept in the memory", err=True)


def _report_applied(results, orphaned: int = 0) -> None:
    """An import's line per TEI file (stdout) and its summary (stderr)."""
    for r in results:
        click.echo(f"{r.path}: {r.changed} sentence(s) from the translator, "
                   f"{r.unchanged} unchanged")
    if orphaned:
        click.echo(f"zhen: {orphaned} translation(s) in the project memory match no "
                   "segment of the project (left alone)", err=True)
    click.echo(f"zhen: {sum(r.changed for r in results)} human translation(s) applied to "
               f"{len(results)} file(s)", err=True)
