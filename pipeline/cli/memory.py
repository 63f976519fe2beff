"""`zhen memory` (and its older name `zhen cache`)."""

from __future__ import annotations

from pathlib import Path

import click
from zhen.cli.options import (
    MEMORY,
    memory_options,
    opened_memory,
    translator_option,
)

# -- memory ----------------------------------------------------------------------------


@click.group()
def memory() -> None:
    """The translation memory: machine translations, and people's translations (kept)."""


@memory.command("stats")
@memory_options
def memory_stats(memory_path, no_memory):
    """Entries and size of the translation memory."""
    with opened_memory(memory_path, False) as mem:
        st = mem.stats()
    click.echo(f"{st.path}: {st.entries} machine translations, {st.human} human translations "
               f"({st.human_versions} versions), {st.size_bytes / 1e6:.1f} MB")


@memory.command("clear")
@memory_options
def memory_clear(memory_path, no_memory):
    """Delete the machine translations (they can be made again); human ones are kept."""
    with opened_memory(memory_path, False) as mem:
        n = mem.clear()
        kept = mem.stats().human
    click.echo(f"removed {n} machine translations from {mem.path}; kept {kept} human "
               "translations (export them with `zhen memory export`)")


@memory.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@memory_options
@translator_option
def memory_import(files, memory_path, no_memory, translator):
    """Load approved translations from TMX (any CAT tool), XLIFF 1.2 or zhen TEI FILES."""
    from zhen.memory.transfer import import_translations

    with opened_memory(memory_path, False) as mem:
        report = import_translations(files, mem, translator)
    c = report.counts
    click.echo(f"zhen: {c.added} added, {c.updated} updated, {c.unchanged + c.older} "
               f"unchanged or older, {report.skipped} skipped (not an approved zh→en "
               "human translation)", err=True)


@memory.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--human-only", is_flag=True, help="Only people's translations.")
@memory_options
def memory_export(file, human_only, memory_path, no_memory):
    """Write the memory as a TMX 1.4b FILE (x-origin human or machine)."""
    from zhen.memory.transfer import export_translations

    with opened_memory(memory_path, False) as mem:
        n = export_translations(mem, file, human_only)
    click.echo(f"wrote {n} translation units to {file}")


@memory.command("copy")
@click.argument("src", type=MEMORY)
@click.argument("dst", type=MEMORY)
def memory_copy(src, dst):
    """Copy the memory SRC into DST (each a SQLite file or a postgresql:// URL): machine
    translations, human ones and their history.  What DST has is kept (the newer human
    translation is current, every version in the history); copying again adds nothing."""
    from zhen.errors import InputError
    from zhen.memory.base import copy_memory
    from zhen.memory.location import is_server_url, mask_password

    if not is_server_url(src) and not Path(src).is_file():
        raise InputError(f"{src}: no translation memory there (a SQLite file or a "
                         "postgresql:// URL)")
    if src == dst or not is_server_url(src) and not is_server_url(dst) and \
            Path(dst).exists() and Path(src).samefile(dst):
        raise InputError(f"{mask_password(src)}: the source and the destination are the same "
                         "memory")
    with opened_memory(src, False) as source, opened_memory(dst, False) as target:
        c = copy_memory(source, target)
    h = c.human
    click.echo(f"copied {mask_password(src)} into {mask_password(dst)}: {c.machine} machine "
               f"translations ({c.machine_new} new), {h.added + h.updated + h.unchanged + h.older}"
               f" human translations ({h.added} added, {h.updated} updated, "
               f"{h.unchanged + h.older} unchanged or older), {c.versions} versions in their "
               f"history ({c.versions_new} new)")


# `zhen cache` is the older name of `zhen memory` (stats and clear).
cache = (click.Group("cache", commands={"stats": memory_stats, "clear": memory_clear},
                            help="Older name of `zhen memory`."))
