"""`zhen view` and `zhen review`: reading and correcting the TEI."""

from __future__ import annotations

import os
from pathlib import Path

import click
from zhen.cli.options import (
    memory_options,
    opened_memory,
    translator_option,
)

# -- view ------------------------------------------------------------------------------------


@click.command()
@click.argument("tei", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(), required=True,  # str: keeps a final /
              help="HTML file to write, or a folder (for several TEI files: one page each, "
                   "named after the document).")
@memory_options
def view(tei, out, memory_path, no_memory):
    """Write a self-contained HTML page per TEI file showing it side by side, terms
    highlighted, human sentences marked, similar human translations from the memory offered."""
    from zhen.errors import OutputError
    from zhen.memory import default_memory_path
    from zhen.memory.location import is_server_url
    from zhen.ui.view import write_view
    from zhen.writer import prepare_output_folder

    files, target = list(dict.fromkeys(tei)), Path(out)
    if len(files) > 1 or out.endswith(("/", os.sep)) or target.is_dir():
        if target.suffix.lower() in (".html", ".htm") or (target.exists() and not target.is_dir()):
            what = f"{len(files)} TEI files make one page each" if len(files) > 1 else "a file"
            raise OutputError(f"{out}: {what}; give a folder with -o")
        _one_page_each(files)
        prepare_output_folder(target)
    path = memory_path or default_memory_path()
    absent = not is_server_url(path) and not Path(path).exists()  # a file is not made here
    with opened_memory(path, no_memory or absent) as mem:
        human = mem.human_entries() if mem is not None else []
    for file in files:
        click.echo(f"wrote {write_view(file, target, human)}")


def _one_page_each(files: list[Path]) -> None:
    """Refuse TEI files whose pages in one folder would have the same name (<doc id>.html)."""
    from zhen.errors import OutputError
    from zhen.tei.read import read_tei_header

    seen: dict[str, Path] = {}
    for file in files if len(files) > 1 else ():
        doc_id = read_tei_header(file).id
        if doc_id in seen:
            raise OutputError(f"{seen[doc_id]} and {file} are both document {doc_id!r}, so "
                              f"both pages would be {doc_id}.html; view them into two folders")
        seen[doc_id] = file


# -- review ----------------------------------------------------------------------------


@click.command()
@click.argument("folder", required=False, default="output",
                type=click.Path(path_type=Path, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the workbench in the browser.")
@memory_options
@translator_option
def review(folder, port, open_browser, memory_path, no_memory, translator):
    """Post-edit the TEI files of FOLDER (default: output) in the browser: side by side,
    QA findings marked, English editable; saves are human translations (memory updated)."""
    from zhen.memory import default_memory_path
    from zhen.ui.review.app import serve

    memory = None if no_memory else (memory_path or default_memory_path())
    serve(folder, port, open_browser, memory, translator,
          announce=lambda line: click.echo(line, err=True))
