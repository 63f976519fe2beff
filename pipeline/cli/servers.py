"""`zhen model add` and `zhen model remove`: models on OpenAI-compatible servers."""

from __future__ import annotations

import click


@click.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--served-model", default="", metavar="ID",
              help="The served model's id, when the server serves several (GET /v1/models).")
@click.option("--profile", default="", metavar="PROFILE",
              help="Prompt profile: hunyuan, qwen, chat or completion [default: chosen from "
                   "the served model's id].")
@click.option("--api-key-env", default="", metavar="VARIABLE",
              help="The environment variable holding the API key (the key itself is never "
                   "stored).")
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A setting kept with the server (repeatable): context_sentences, "
                   "references, batch_sentences, concurrency, … (see the README).")
def model_add(name, url, served_model, profile, api_key_env, settings):
    """Register the model server at URL (its API, e.g. http://127.0.0.1:8080/v1) as NAME:
    then `--model NAME` uses it."""
    from zhen.engines.llm.registry import add_server, registry_path
    from zhen.errors import ModelError

    values = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ModelError(f"--set {item!r}: give NAME=VALUE, e.g. --set concurrency=8")
        values[key.strip()] = value.strip()
    entry, note = add_server(name, url, served_model, profile, api_key_env, values)
    click.echo(f"registered {name}: {entry['url']}, {note} (in {registry_path()})")


@click.command("remove")
@click.argument("name")
def model_remove(name):
    """Forget the model server registered as NAME."""
    from zhen.engines.llm.registry import remove_server

    remove_server(name)
    click.echo(f"removed {name}")
