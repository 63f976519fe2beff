"""`zhen validate` and `zhen qa`: is the TEI sound, and where should a reviewer look."""

from __future__ import annotations

from pathlib import Path

import click
from zhen.cli.options import (
    Failed,
)
from zhen.qa.checks import CHECKS
from zhen.scores import LOW_SCORE, LOW_SCORE_ENV

# -- validate --------------------------------------------------------------------------------


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--no-schema", is_flag=True, help="Check zhen's invariants only, not tei_all.")
def validate(files, no_schema):
    """Check TEI FILES against tei_all and zhen's invariants; one line per problem."""
    from zhen.tei.validate import validate_files

    problems = validate_files(list(files), schema=not no_schema)
    for problem in problems:
        click.echo(str(problem))
    bad, total = len({p.path for p in problems}), len(set(files))
    summary = f"{total - bad} of {total} file(s) valid"
    if problems:
        raise Failed(f"{summary}, {len(problems)} problem(s)")
    click.echo(f"zhen: {summary}", err=True)


# -- qa ------------------------------------------------------------------------------------



@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="One line per finding, or a JSON object for tools.")
@click.option("--disable", "disabled", multiple=True, type=click.Choice(list(CHECKS)),
              metavar="CHECK", help="Leave out a check (repeatable): "
              + ", ".join(CHECKS) + ".")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding is this severe or worse.")
@click.option("--sort", "sort", type=click.Choice(["document", "severity"]),
              default="document", show_default=True,
              help="Findings in document order, or the most severe first.")
@click.option("--annotate", is_flag=True,
              help="Also record the findings in the files (@ana on the English s).")
@click.option("--low-score", "threshold", type=click.FloatRange(0, 1), default=None,
              metavar="SCORE", help="Check low-score flags a machine translation the model "
              f"scored below SCORE (default: ${LOW_SCORE_ENV}, else {LOW_SCORE}).")
def qa(files, fmt, disabled, fail_on, sort, annotate, threshold):
    """Check the English of TEI FILES: numbers, untranslated text, terms, length,
    repetition, brackets, questions, consistency; one line per finding."""
    import json

    from zhen.qa.annotate import json_report, qa_files, sort_by_severity, text_lines
    from zhen.qa.checks import at_least
    from zhen.qa.run import Counts
    from zhen.scores import low_score

    with low_score(threshold):
        report = qa_files(list(files), disabled, annotate)
    found = sort_by_severity(report.findings) if sort == "severity" else report.findings
    if fmt == "json":
        click.echo(json.dumps(json_report(report, found), ensure_ascii=False, indent=1))
    else:
        for line in text_lines(report, found):
            click.echo(line)
    flagged = len({f.doc_id for f in found})
    click.echo(f"zhen: {len(found)} finding(s) in {flagged} of {len(report.paths)} file(s): "
               f"{Counts.of(found)}"
               + (f"; {len(report.annotated)} file(s) annotated" if annotate else ""), err=True)
    bad = at_least(found, fail_on) if fail_on != "never" else []
    if bad:
        raise Failed(f"{len(bad)} finding(s) of severity {fail_on} or worse")
