"""Registered model servers: `zhen model add NAME URL`, kept in a small JSON file.

The file is `models.json` in zhen's user config folder, or the file named by
ZHEN_LLM_MODELS.  It holds per name the URL, the served model's id, the profile, the
*name* of the environment variable holding the API key (never the key) and settings;
writes are atomic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from zhen import env
from zhen.engines.llm.client import ServerError
from zhen.engines.llm.model import (
    ServerModel,
    answers,
    check_entry,
    check_url,
    check_variable,
    connect,
    is_url,
)
from zhen.engines.llm.profiles import choose_profile, get_profile
from zhen.errors import ModelError
from zhen.settings import LlmOptions

ENV = "ZHEN_LLM_MODELS"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def registry_path() -> Path:
    path = env.value(ENV)
    if path:
        return Path(path)
    from platformdirs import user_config_dir

    return Path(user_config_dir("zhen")) / "models.json"


def load_registry() -> dict[str, dict]:
    path = registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable list of model servers ({exc}); fix or remove "
                         f"it (or set {ENV} to another file)") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a list of model servers; remove it")
    return {k: v for k, v in data.items() if isinstance(v, dict) and "url" in v}


def save_registry(entries: dict[str, dict]) -> None:
    from zhen.writer import write_atomic

    path = registry_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (json.dumps(entries, indent=2, sort_keys=True, ensure_ascii=False)
                            + "\n").encode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{path}: cannot write the list of model servers "
                         f"({exc.strerror or exc}); set {ENV} to a writable file") from None


def check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise ModelError(f"{name!r}: not a model name; use letters, digits, '.', '_' and '-'")


def add_server(name: str, url: str, served: str = "", profile: str = "",
               api_key_env: str = "", settings: dict | None = None) -> tuple[dict, str]:
    """Register a model server under `name`: (its entry, a note for the user).  Everything
    that can be checked is checked first (one ModelError line, nothing written): the name,
    the URL, the profile, the key variable's name, the settings; and, when the server
    answers, that it serves the model.  A server that does not answer yet is registered
    all the same (it may be started later), and the note says so."""
    check_name(name)
    url = check_url(url)
    if profile:
        get_profile(profile)
    if api_key_env:
        check_variable(api_key_env)
    try:
        LlmOptions.from_mapping(settings or {})
    except ValueError as exc:
        raise ModelError(f"--set {exc}") from None
    entries = load_registry()
    note = ""
    try:
        model = connect(name, url, served, profile, api_key_env, settings)
        served = model.served_id
        note = f"serves {served}, profile {model.profile.name}"
    except ServerError as exc:
        if "no server answers" not in str(exc):
            raise
        note = f"not answering now ({url}); registered all the same"
    entry = {"url": url, "served_model": served, "profile": profile,
             "api_key_env": api_key_env, "settings": dict(settings or {})}
    entries[name] = entry
    save_registry(entries)
    return entry, note


def remove_server(name: str) -> None:
    entries = load_registry()
    if name not in entries:
        raise ModelError(f"{name}: no model server of that name; see `zhen model list`")
    del entries[name]
    save_registry(entries)


def server_rows() -> list[tuple[str, str, str, str, str]]:
    """(name, kind, profile, URL, whether it answers) of each registered server."""

    rows = []
    for name, entry in sorted(load_registry().items()):
        served = entry.get("served_model") or "?"
        profile = entry.get("profile") or (
            f"{choose_profile(served).name}, from the id" if entry.get("served_model") else "auto")
        rows.append((name, "llm", f"{served} (profile {profile})", entry["url"],
                     "answers: " + answers(entry["url"], entry.get("api_key_env", ""))))
    return rows


def resolve(spec: str) -> ServerModel | None:
    """The model meant by --model when it is a server: an http(s) URL, or a registered
    name; None otherwise (a folder, a file, an installed CTranslate2 model)."""
    spec = str(spec)
    if is_url(spec):
        return connect("", spec)
    entry = load_registry().get(spec)
    if entry is None:
        return None
    return registered(spec, entry)


def registered(name: str, entry: dict) -> ServerModel:
    """A registered server, asked nothing yet: `zhen model add` checked it, and the entry
    names the served model; the server is first asked when a sentence needs it, so that a
    run with nothing to translate (`--update`, `make`) needs no server.  An entry made while
    the server was not answering is checked now."""
    served = entry.get("served_model", "")
    url, profile = entry["url"], entry.get("profile", "")
    key_env, settings = entry.get("api_key_env", ""), entry.get("settings") or {}
    if not served:
        return connect(name, url, served, profile, key_env, settings)
    url, options = check_entry(name, url, key_env, settings,
                               f"{name}: its API key variable {key_env}")
    chosen = get_profile(profile) if profile else choose_profile(served)
    return ServerModel(name=name, url=url, served_id=served, profile=chosen,
                       api_key_env=key_env, options=options)
