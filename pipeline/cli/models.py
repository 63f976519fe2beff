"""`zhen model`, `zhen schema` and `zhen eval`: the models and what they are measured by."""

from __future__ import annotations

from pathlib import Path

import click
from zhen.cli.options import (
    decoding_options,
    glossary_option,
)
from zhen.engines.synth import KINDS as SYNTH_KINDS

# -- model ---------------------------------------------------------------------------------


@click.group()
def model() -> None:
    """Install, list, synthesise and convert zh→en models."""


@model.command("install")
@click.argument("spec")
def model_install(spec):
    """Install SPEC: an .argosmodel file or a model folder (offline; Argos package, OPUS-MT
    or NLLB-200/M2M-100 CTranslate2 conversion), or a name from the argospm index."""
    from zhen.engines.registry import install_model

    info = install_model(spec)
    click.echo(f"installed {info.kind} model {info.name} {info.version} in {info.path}")


@model.command("list")
def model_list():
    """List installed zh→en models (name, kind, version, folder) and registered model
    servers (name, kind llm, served model and profile, URL, whether it answers)."""
    from zhen.engines.argos import argos_packages_dir
    from zhen.engines.llm.registry import server_rows
    from zhen.engines.registry import installed_models, models_dir

    models = installed_models()
    servers = server_rows()
    if not models and not servers:
        click.echo(f"no zh→en model installed in {argos_packages_dir()} or {models_dir()}, "
                   "and no model server registered (zhen model add NAME URL)")
    for info in models:
        flag = "  (synthetic: random weights)" if info.synthetic else ""
        click.echo(f"{info.name}\t{info.kind}\t{info.version}\t{info.path}{flag}")
    for row in servers:
        click.echo("\t".join(row))


@model.command("synth")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(SYNTH_KINDS), default="argos",
              show_default=True, help="Layout and token conventions of the model.")
@click.option("--size", type=click.Choice(["tiny", "base"]), default="tiny", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def model_synth(out, kind, size, seed):
    """Build a synthetic model with random weights (for tests and benchmarks only): an
    .argosmodel file, or a folder for opus-mt and nllb."""
    from zhen.engines.synth import build_synthetic_package

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
    from zhen.engines.convert import convert_checkpoint

    info = convert_checkpoint(source, out, quantization)
    click.echo(f"wrote {info.kind} model {info.name} to {out}")


# -- schema --------------------------------------------------------------------------------


@click.command("schema")
@click.argument("action", type=click.Choice(["fetch", "path"]))
def schema(action):
    """Fetch the TEI P5 tei_all schema that `zhen validate` uses (PyPI, once), or print
    where it is cached."""
    from zhen.tei.schema import ensure_tei_schema, fetch_tei_schema

    click.echo(fetch_tei_schema() if action == "fetch" else ensure_tei_schema())


# -- eval ----------------------------------------------------------------------------------


@click.command("eval")
@click.option("--source", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Chinese test sentences, one per line.")
@click.option("--reference", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="English references, line-aligned with --source.")
@click.option("--tmx", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A TMX test set instead of --source and --reference.")
@click.option("--model", "models", multiple=True, required=True,
              help="A model to evaluate (repeatable): installed name, folder, .argosmodel, "
                   "or a model server's URL or name.")
@glossary_option
@decoding_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Folder for each model's English (<model>.en).")
def eval_(source, reference, tmx, models, glossary_path, fmt, out_dir, **settings):
    """Score models on a parallel test set: BLEU and chrF++ (sacrebleu), glossary term
    success, sentences/s and peak memory."""
    import json

    from zhen.evaluate import evaluate, format_table, read_test_set, write_hypotheses
    from zhen.settings import DecodingOptions

    zh, en = read_test_set(source, reference, tmx)
    results = evaluate(list(models), zh, en, glossary_path, DecodingOptions(**settings))
    if fmt == "json":
        click.echo(json.dumps([r.summary() for r in results], indent=2, ensure_ascii=False))
    else:
        click.echo(format_table(results))
    if out_dir is not None:
        for path in write_hypotheses(results, out_dir):
            click.echo(f"wrote {path}", err=True)
