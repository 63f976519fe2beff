"""`zhen glossary`: lint, add, remove, list, coverage, suggest, import, export."""

from __future__ import annotations

import functools
from pathlib import Path

import click
from zhen.cli.options import (
    Failed,
    glossary_option,
)

# -- glossary --------------------------------------------------------------------------------


@click.group()
def glossary() -> None:
    """Maintain the glossary: lint, add, remove, list, coverage, suggest, import, export."""


@glossary.command("lint")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@functools.partial(glossary_option, find=False)
def glossary_lint(path, glossary_path):
    """Report every problem in the glossary with its line; exit 1 on errors."""
    from zhen.terminology.glossary import find_glossary, lint_glossary

    path = path or find_glossary(glossary_path)
    messages = lint_glossary(path)
    for m in messages:
        click.echo(str(m))
    errors = sum(1 for m in messages if m.level == "error")
    click.echo(f"{path}: {errors} error(s), {len(messages) - errors} note(s)", err=True)
    if errors:
        raise Failed(f"{path}: glossary has {errors} error(s)")


@glossary.command("add")
@click.argument("zh")
@click.argument("en", required=False, default="")
@click.option("--variant", "variants", multiple=True, help="Another Chinese form (repeatable).")
@click.option("--note", default="")
@click.option("--id", "term_id", default=None, help="Stable id [default: a slug of EN].")
@click.option("--keep", is_flag=True, help="Do-not-translate entry: the rendering is ZH itself.")
@glossary_option
def glossary_add(zh, en, variants, note, term_id, keep, glossary_path):
    """Add ZH → EN; refused if lint would reject the result."""
    from zhen.document import TermKind
    from zhen.terminology.glossary import add_term

    kind = TermKind.KEEP if keep else TermKind.TERM
    t = add_term(glossary_path, zh, en, tuple(variants), note, id=term_id, kind=kind)
    click.echo(f"added {t.id}: {t.zh} → {t.rendering}")


@glossary.command("remove")
@click.argument("term_id", metavar="ID")
@glossary_option
def glossary_remove(term_id, glossary_path):
    """Remove the entry with id ID."""
    from zhen.terminology.glossary import remove_term

    t = remove_term(glossary_path, term_id)
    click.echo(f"removed {t.id}: {t.zh} → {t.rendering}")


@glossary.command("list")
@click.option("--grep", default=None, help="Only entries containing this text.")
@glossary_option
def glossary_list(grep, glossary_path):
    """List entries: id, zh, rendering, kind, variants, note (tab-separated)."""
    from zhen.terminology.glossary import list_terms, load_glossary

    for t in list_terms(load_glossary(glossary_path), grep):
        click.echo("\t".join([t.id, t.zh, t.rendering, t.kind.value, "|".join(t.variants),
                              t.note]))


@glossary.command("coverage")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@glossary_option
def glossary_coverage(files, glossary_path):
    """Per term: occurrences, documents, and (over .tei.xml files) use of the approved rendering."""
    from zhen.readers import read_texts
    from zhen.tei.read import read_tei
    from zhen.terminology.coverage import coverage, is_tei
    from zhen.terminology.glossary import load_glossary

    texts = [(f.name, read_texts(f)) for f in files if not is_tei(f)]
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
@glossary_option
def glossary_suggest(files, limit, min_count, glossary_path):
    """Candidate terms in FILES that are not in the glossary yet, best first."""
    from zhen.readers import read_texts
    from zhen.terminology.glossary import load_glossary
    from zhen.terminology.suggest import suggest_terms

    texts = [(f.name, "\n".join(read_texts(f))) for f in files]
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
@glossary_option
def glossary_import(file, glossary_path):
    """Merge entries from a TBX, CSV or TSV FILE into the glossary."""
    from zhen.formats.tbx import import_terms, read_terms_file

    terms, skipped = read_terms_file(file)
    added, more = import_terms(glossary_path, terms)
    for t in added:
        click.echo(f"added {t.id}: {t.zh} → {t.rendering}")
    for message in [*skipped, *more]:
        click.echo(f"skipped: {message}", err=True)
    click.echo(f"imported {len(added)}, skipped {len(skipped) + len(more)}", err=True)


@glossary.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@glossary_option
def glossary_export(file, glossary_path):
    """Write the glossary as TBX (.tbx) or two-column CSV/TSV (.csv, .tsv)."""
    from zhen.formats.tbx import write_terms_file
    from zhen.terminology.glossary import load_glossary

    terms = load_glossary(glossary_path).terms
    write_terms_file(terms, file)
    click.echo(f"wrote {len(terms)} entries to {file}")
