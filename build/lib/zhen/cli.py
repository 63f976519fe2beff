"""The `zhen` command line: parses options and calls the library, nothing more.

Library modules are imported inside the commands, so `zhen --help` stays fast and loads
no CTranslate2.  A user mistake (ZhenError) is one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from pathlib import Path

import click

from . import __version__


def _glossary_option(f, find: bool = True):
    """--glossary, found as `glossary.find_glossary` says (with `find` False: left None
    when not given, for a command that may name the glossary otherwise)."""
    return click.option(
        "--glossary",
        "glossary_path",
        type=click.Path(path_type=Path),
        default=None,
        callback=_find_glossary if find else None,
        show_default="$ZHEN_GLOSSARY, else glossary/terms.tsv here or in a folder above",
        help="Glossary TSV file.",
    )(f)


def _find_glossary(ctx, param, value):
    from .glossary import find_glossary

    return find_glossary(value)


class _MemoryLocation(click.ParamType):
    """A translation memory: a SQLite file (a Path), or a postgresql:// URL (kept a string:
    a Path would fold its //)."""

    name = "FILE|URL"

    def convert(self, value, param, ctx):
        if isinstance(value, Path) or str(value).startswith(("postgresql://", "postgres://")):
            return value
        return Path(value)


MEMORY = _MemoryLocation()
MEMORY_HELP = ("Translation memory: a SQLite file or a postgresql://USER@HOST/DATABASE URL "
               "[default: $ZHEN_MEMORY or the user cache].")


def _memory_options(f):
    f = click.option("--no-memory", is_flag=True, help="Without the translation memory.")(f)
    return click.option("--memory", "memory_path", type=MEMORY, default=None,
                        help=MEMORY_HELP)(f)


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
    from .memory import default_memory_path, open_memory

    mem = open_memory(path or default_memory_path())
    try:
        yield mem
    finally:
        mem.close()


def _model_option(f):
    return click.option(
        "--model", default=None, envvar="ZHEN_MODEL",
        help="Model: installed name, model folder (Argos package, OPUS-MT or NLLB-200/"
             "M2M-100 conversion) or .argosmodel file [default: $ZHEN_MODEL, else the "
             "installed zh→en model].")(f)


def _decoding_options(f):
    """The decoding settings as options, with the defaults and help of settings.py."""
    from .settings import cli_fields

    types = {"int": (click.IntRange, int), "float": (click.FloatRange, float)}
    for field in reversed(cli_fields()):
        meta = field.metadata
        if "flag" in meta:  # a boolean that defaults to on: --no-… turns it off
            f = click.option(meta["flag"], field.name, flag_value=not field.default,
                             default=field.default, help=meta["flag_help"])(f)
            continue
        if "choices" in meta:
            kind = click.Choice(meta["choices"])
        else:
            make, _ = types[field.type]
            kind = make(meta.get("min"), meta.get("max"))
        f = click.option("--" + field.name.replace("_", "-"), field.name, type=kind,
                         default=field.default, show_default=True, help=meta["help"])(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="zhen")
def cli() -> None:
    """Offline Chinese→English bilingual, sentence-aligned, term-annotated TEI."""


# -- translate ---------------------------------------------------------------------------

# The names of readers.formats(), spelled out so that `zhen --help` imports no reader
# (tests/test_readers.py checks that the two agree).
INPUT_FORMATS = ["docx", "html", "md", "txt"]


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), default="output",
              show_default=True,
              help="Folder for the .tei.xml files, or a file ending in .xml for one input.")
@_model_option
@_glossary_option
@_decoding_options
@click.option("--memory", "memory_path", type=MEMORY, default=None, help=MEMORY_HELP)
@click.option("--no-memory", is_flag=True, help="Neither read nor write the translation memory.")
@click.option("-u", "--update", is_flag=True,
              help="Skip inputs whose output is up to date: its header names the same source "
                   "(sha256), model, decoding settings, glossary (sha256) and zhen version.")
@click.option("-k", "--keep-going", is_flag=True,
              help="Go on after a file fails; exit non-zero at the end (like make -k).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--format", "input_format", type=click.Choice(INPUT_FORMATS), default=None,
              help="Read every input as this format [default: by file suffix: .txt, .html/.htm, "
                   ".docx, .md].")
@click.option("--cluster", default=None, envvar="ZHEN_CLUSTER", metavar="ADDRESS",
              help="Decode on a Dask cluster: tcp://HOST:PORT (its scheduler) or local:N (N "
                   "worker processes here) [default: $ZHEN_CLUSTER; needs "
                   "pip install 'zhen[cluster]'].")
def translate(inputs, out_dir, model, glossary_path, memory_path, no_memory, update, keep_going,
              quiet, input_format, cluster, **settings):
    """Translate Chinese documents INPUTS (text, web pages, Word, Markdown) into
    OUTPUT/<stem>.tei.xml ("-": standard input, written as stdin.tei.xml; a folder: every
    input file in it).  Metadata beside them (input/metadata.csv, NAME.meta.json) is used."""
    from .batch import translate_files
    from .memory import default_memory_path
    from .readers import check_manifests
    from .settings import DecodingOptions

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
        raise _Failed(f"{len(report.failed)} of {len(report.files)} file(s) failed{manifests}")


def input_suffixes() -> tuple[str, ...]:
    """The input file suffixes zhen reads (the readers' registry when there is one)."""
    try:
        from .readers import suffixes
    except ImportError:
        return (".txt",)
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


# -- model ---------------------------------------------------------------------------------


@cli.group()
def model() -> None:
    """Install, list, synthesise and convert zh→en models."""


@model.command("install")
@click.argument("spec")
def model_install(spec):
    """Install SPEC: an .argosmodel file or a model folder (offline; Argos package, OPUS-MT
    or NLLB-200/M2M-100 CTranslate2 conversion), or a name from the argospm index."""
    from .engines import install_model

    info = install_model(spec)
    click.echo(f"installed {info.kind} model {info.name} {info.version} in {info.path}")


@model.command("list")
def model_list():
    """List installed zh→en models: name, kind, version, folder."""
    from .engines import installed_models, models_dir
    from .engines.argos import argos_packages_dir

    models = installed_models()
    if not models:
        click.echo(f"no zh→en model installed in {argos_packages_dir()} or {models_dir()}")
    for info in models:
        flag = "  (synthetic: random weights)" if info.synthetic else ""
        click.echo(f"{info.name}\t{info.kind}\t{info.version}\t{info.path}{flag}")


@model.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["argos", "opus-mt", "nllb"]), default="argos",
              show_default=True, help="Layout and token conventions of the model.")
@click.option("--size", type=click.Choice(["tiny", "base"]), default="tiny", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def model_synth(out, kind, size, seed):
    """Build a synthetic model with random weights (for tests and benchmarks only): an
    .argosmodel file, or a folder for opus-mt and nllb."""
    from .synth import build_synthetic_package

    path = build_synthetic_package(out, size=size, seed=seed, kind=kind)
    click.echo(f"wrote {path} ({kind}, random weights: its English is noise)")


@model.command("convert")
@click.argument("source", type=click.Path(path_type=Path, file_okay=False))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--quantization", default="int8", show_default=True,
              help="Weight type of the converted model.")
def model_convert(source, out, quantization):
    """Convert a local Hugging Face checkpoint (OPUS-MT/Marian, NLLB-200, M2M-100) into a
    CTranslate2 model folder zhen can use (needs `pip install 'zhen[convert]'`)."""
    from .engines.convert import convert_checkpoint

    info = convert_checkpoint(source, out, quantization)
    click.echo(f"wrote {info.kind} model {info.name} to {out}")


# -- schema --------------------------------------------------------------------------------


@cli.command("schema")
@click.argument("action", type=click.Choice(["fetch", "path"]))
def schema(action):
    """Fetch the TEI P5 tei_all schema that `zhen validate` uses (PyPI, once), or print
    where it is cached."""
    from .schema import ensure_tei_schema, fetch_tei_schema

    click.echo(fetch_tei_schema() if action == "fetch" else ensure_tei_schema())


# -- eval ----------------------------------------------------------------------------------


@cli.command("eval")
@click.option("--source", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Chinese test sentences, one per line.")
@click.option("--reference", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="English references, line-aligned with --source.")
@click.option("--tmx", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A TMX test set instead of --source and --reference.")
@click.option("--model", "models", multiple=True, required=True,
              help="A model to evaluate (repeatable): installed name, folder or .argosmodel.")
@_glossary_option
@_decoding_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Folder for each model's English (<model>.en).")
def eval_(source, reference, tmx, models, glossary_path, fmt, out_dir, **settings):
    """Score models on a parallel test set: BLEU and chrF++ (sacrebleu), glossary term
    success, sentences/s and peak memory."""
    import json

    from .evaluate import evaluate, format_table, read_test_set, write_hypotheses
    from .settings import DecodingOptions

    zh, en = read_test_set(source, reference, tmx)
    results = evaluate(list(models), zh, en, glossary_path, DecodingOptions(**settings))
    if fmt == "json":
        click.echo(json.dumps([r.summary() for r in results], indent=2, ensure_ascii=False))
    else:
        click.echo(format_table(results))
    if out_dir is not None:
        for path in write_hypotheses(results, out_dir):
            click.echo(f"wrote {path}", err=True)


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
    bad, total = len({p.path for p in problems}), len(set(files))
    summary = f"{total - bad} of {total} file(s) valid"
    if problems:
        raise _Failed(f"{summary}, {len(problems)} problem(s)")
    click.echo(f"zhen: {summary}", err=True)


# -- qa ------------------------------------------------------------------------------------

# The ids of qa.CHECKS, spelled out so that `zhen --help` imports no checker
# (tests/test_qa.py checks that the two agree).
QA_CHECK_IDS = ["empty", "untranslated", "numbers", "term-missed", "repetition", "truncated",
                "term-inconsistent", "length-ratio", "brackets", "question",
                "corpus-inconsistent"]


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="One line per finding, or a JSON object for tools.")
@click.option("--disable", "disabled", multiple=True, type=click.Choice(QA_CHECK_IDS),
              metavar="CHECK", help="Leave out a check (repeatable): "
              + ", ".join(QA_CHECK_IDS) + ".")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error",
              show_default=True, help="Exit 1 when a finding is this severe or worse.")
@click.option("--sort", "sort", type=click.Choice(["document", "severity"]),
              default="document", show_default=True,
              help="Findings in document order, or the most severe first.")
@click.option("--annotate", is_flag=True,
              help="Also record the findings in the files (@ana on the English s).")
def qa(files, fmt, disabled, fail_on, sort, annotate):
    """Check the English of TEI FILES: numbers, untranslated text, terms, length,
    repetition, brackets, questions, consistency; one line per finding."""
    import json

    from .qa import Counts, at_least, json_report, qa_files, sort_by_severity, text_lines

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
        raise _Failed(f"{len(bad)} finding(s) of severity {fail_on} or worse")


# -- glossary --------------------------------------------------------------------------------


@cli.group()
def glossary() -> None:
    """Maintain the glossary: lint, add, remove, list, coverage, suggest, import, export."""


@glossary.command("lint")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@functools.partial(_glossary_option, find=False)
def glossary_lint(path, glossary_path):
    """Report every problem in the glossary with its line; exit 1 on errors."""
    from .glossary import find_glossary, lint_glossary

    path = path or find_glossary(glossary_path)
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
    from .readers import read_texts
    from .tei import read_tei

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
@_glossary_option
def glossary_suggest(files, limit, min_count, glossary_path):
    """Candidate terms in FILES that are not in the glossary yet, best first."""
    from .glossary import load_glossary
    from .readers import read_texts
    from .suggest import suggest_terms

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
@click.option("-o", "--output", "out", type=click.Path(), required=True,  # str: keeps a final /
              help="File (tmx, cesalign), folder (vrt, xliff) or prefix (moses; a folder: "
                   "NAME.zh and NAME.en in it) to write.")
@click.option("--name", default="zhen", show_default=True,
              help="Corpus name (vrt; moses into a folder).")
@click.option("--memory", "memory_path", type=MEMORY, default=None,
              help="Memory (file or postgresql:// URL) whose human translations give fuzzy "
                   "matches (xliff) "
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
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Only the outputs whose source file is still in this folder (e.g. input).")
def corpus(folder, out, title, sources):
    """Write a teiCorpus of every FOLDER/*.tei.xml, loadable as one corpus."""
    from .errors import TeiError
    from .exports import build_corpus

    files = sorted(folder.glob("*.tei.xml"))
    if sources is not None:
        from .prune import sort_outputs

        found = sort_outputs(folder, sources)
        files = sorted([*found.current, *(p for p, _ in found.unreadable)])
        if found.stale:
            click.echo(f"zhen: left out {len(found.stale)} output(s) whose source is no longer "
                       f"in {sources}/: {', '.join(p.name for p, _ in found.stale)}", err=True)
    if not files:
        raise TeiError(f"{folder}: no .tei.xml files (run `make` first)")
    for path in build_corpus(files, out, title=title):
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--sources", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="The folder the inputs are in (e.g. input).")
@click.option("-n", "--dry-run", is_flag=True, help="Only list them (silent if there is none).")
@click.option("--memory", "memory_path", type=MEMORY, default=None, help=MEMORY_HELP)
def prune(folder, sources, dry_run, memory_path):
    """Remove the FOLDER/*.tei.xml whose source file is no longer in SOURCES, after saving
    the human translations in them to the translation memory (if that fails, nothing is
    removed)."""
    from .prune import remove_outputs, sort_outputs

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
    with _open_memory(memory_path, not stale) as mem:
        saved = remove_outputs(stale, mem)
    for path in stale:
        click.echo(f"removed {path}")
    click.echo(f"zhen: {len(stale)} output(s) removed whose source is no longer in {sources}/; "
               f"{saved} human translation(s) in them kept in the memory", err=True)


# -- view ------------------------------------------------------------------------------------


@cli.command()
@click.argument("tei", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", type=click.Path(), required=True,  # str: keeps a final /
              help="HTML file to write, or a folder (for several TEI files: one page each, "
                   "named after the document).")
@_memory_options
def view(tei, out, memory_path, no_memory):
    """Write a self-contained HTML page per TEI file showing it side by side, terms
    highlighted, human sentences marked, similar human translations from the memory offered."""
    from .errors import OutputError
    from .memory import default_memory_path, is_server_url
    from .view import write_view
    from .writer import prepare_output_folder

    files, target = list(dict.fromkeys(tei)), Path(out)
    if len(files) > 1 or out.endswith(("/", os.sep)) or target.is_dir():
        if target.suffix.lower() in (".html", ".htm") or (target.exists() and not target.is_dir()):
            what = f"{len(files)} TEI files make one page each" if len(files) > 1 else "a file"
            raise OutputError(f"{out}: {what}; give a folder with -o")
        _one_page_each(files)
        prepare_output_folder(target)
    path = memory_path or default_memory_path()
    absent = not is_server_url(path) and not Path(path).exists()  # a file is not made here
    with _open_memory(path, no_memory or absent) as mem:
        human = mem.human_entries() if mem is not None else []
    for file in files:
        click.echo(f"wrote {write_view(file, target, human)}")


def _one_page_each(files: list[Path]) -> None:
    """Refuse TEI files whose pages in one folder would have the same name (<doc id>.html)."""
    from .errors import OutputError
    from .tei import read_tei_header

    seen: dict[str, Path] = {}
    for file in files if len(files) > 1 else ():
        doc_id = read_tei_header(file).id
        if doc_id in seen:
            raise OutputError(f"{seen[doc_id]} and {file} are both document {doc_id!r}, so "
                              f"both pages would be {doc_id}.html; view them into two folders")
        seen[doc_id] = file


# -- review ----------------------------------------------------------------------------


@cli.command()
@click.argument("folder", required=False, default="output",
                type=click.Path(path_type=Path, file_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the workbench in the browser.")
@_memory_options
@_translator_option
def review(folder, port, open_browser, memory_path, no_memory, translator):
    """Post-edit the TEI files of FOLDER (default: output) in the browser: side by side,
    QA findings marked, English editable; saves are human translations (memory updated)."""
    from .memory import default_memory_path
    from .review.app import serve

    memory = None if no_memory else (memory_path or default_memory_path())
    serve(folder, port, open_browser, memory, translator,
          announce=lambda line: click.echo(line, err=True))


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


@memory.command("copy")
@click.argument("src", type=MEMORY)
@click.argument("dst", type=MEMORY)
def memory_copy(src, dst):
    """Copy the memory SRC into DST (each a SQLite file or a postgresql:// URL): machine
    translations, human ones and their history.  What DST has is kept (the newer human
    translation is current, every version in the history); copying again adds nothing."""
    from .errors import InputError
    from .memory import copy_memory, is_server_url, mask_password

    if not is_server_url(src) and not Path(src).is_file():
        raise InputError(f"{src}: no translation memory there (a SQLite file or a "
                         "postgresql:// URL)")
    if src == dst or not is_server_url(src) and not is_server_url(dst) and \
            Path(dst).exists() and Path(src).samefile(dst):
        raise InputError(f"{mask_password(src)}: the source and the destination are the same "
                         "memory")
    with _open_memory(src, False) as source, _open_memory(dst, False) as target:
        c = copy_memory(source, target)
    h = c.human
    click.echo(f"copied {mask_password(src)} into {mask_password(dst)}: {c.machine} machine "
               f"translations ({c.machine_new} new), {h.added + h.updated + h.unchanged + h.older}"
               f" human translations ({h.added} added, {h.updated} updated, "
               f"{h.unchanged + h.older} unchanged or older), {c.versions} versions in their "
               f"history ({c.versions_new} new)")


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
