"""A model on a server, as the engine seam sees it: identity, settings, and its decoder."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property

from zhen import env
from zhen.engines.llm.client import Client, ServerError, shown_url
from zhen.engines.llm.profiles import Profile, choose_profile, get_profile
from zhen.errors import ModelError
from zhen.settings import LlmOptions

KIND_NAME = "llm"
LABEL = "model on an OpenAI-compatible server"
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_URL = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?\Z", re.IGNORECASE)


@dataclass(frozen=True)
class ServerModel:
    """A zh→en model served over the OpenAI API (llama-server, Ollama, vLLM, …)."""

    name: str  # the registered name, else the served id
    url: str  # base URL of the API, ending in /v1 as the user gave it
    served_id: str
    profile: Profile
    api_key_env: str = ""
    options: LlmOptions = field(default_factory=LlmOptions)
    slots: int = 0  # the server's parallel slots where it says (llama-server /props)
    kind: str = KIND_NAME
    synthetic: bool = False

    @property
    def path(self) -> str:  # where the model is, for listings
        return self.url

    version = "0"  # a server names no version (the TEI wants a number here)

    @cached_property
    def fingerprint(self) -> str:
        """Of what decides the English: served id, profile (template, stops, sampling) and
        the settings that change the output; never the URL's credentials or the key."""
        data = json.dumps([self.served_id, self.profile.digest(),
                           self.options.output_settings()], sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()

    @property
    def model_id(self) -> str:
        return f"llm:{self.served_id}@{self.profile.name}#{self.fingerprint[:16]}"

    def record(self) -> dict:
        return {"kind": self.kind, "name": self.served_id, "version": self.version,
                "fingerprint": self.fingerprint, "synthetic": self.synthetic}

    # -- what the batch runner asks of a model (engines.base.ModelInfo has the same) ----

    def output_key(self, options) -> str:
        """Of the runner's decoding settings only glossary enforcement (the stressed
        retry) applies here; the rest of the key is in model_id."""
        return json.dumps({"enforce_terms": options.enforce_terms})

    def open_decoder(self, options, cluster: str | None = None, memory=None):
        """This model's decoder (engines.decoder.open_decoder asks for it)."""
        if cluster:
            raise ModelError(f"--cluster {cluster}: {self.name} is a model on a server, which "
                             "does the decoding; run without --cluster (more requests at once: "
                             f"zhen model add NAME {shown_url(self.url)} --set concurrency=N)")
        from zhen.engines.llm.decoder import LlmDecoder

        return LlmDecoder(self, options, memory)

    def provenance(self, options, engine: bool = True) -> dict:
        return {"package_name": self.served_id, "package_version": self.version,
                "package_synthetic": self.synthetic, "ctranslate2_version": "",
                "model_kind": self.kind, "model_fingerprint": self.fingerprint,
                "device": "", "settings": json.dumps(
                    {**json.loads(self.options.to_record()),
                     "enforce_terms": options.enforce_terms}, sort_keys=True),
                "model_desc": self.description(enforce=options.enforce_terms)}

    @property
    def concurrency(self) -> int:
        return self.options.concurrency or self.slots or 4

    def parallel(self, client: Client) -> int:
        """Requests at once: the setting, else the server's parallel slots where it says
        (llama-server's /props, asked now if not yet), else 4."""
        if self.options.concurrency or self.slots:
            return self.concurrency
        slots = client.props().get("total_slots")
        return slots if isinstance(slots, int) and slots > 0 else 4

    def terms_summary(self, enforce: bool = True) -> str:
        """How glossary terms are given, for the TEI header."""
        return (f"the terms matched in each sentence given in the prompt ({self.profile.name} "
                "profile's terminology form), each rendering checked in the reply; " +
                ("a miss asked once more with the terms stressed, then recorded as missed"
                 if enforce else "a miss recorded as missed (--no-enforce)"))

    def description(self, enforce: bool = True) -> str:
        """The header's description of the engine, for people."""
        o = self.options
        parts = [f"served model id {self.served_id}", f"profile {self.profile.name} "
                 f"({self.profile.description}), {self.profile.endpoint} endpoint",
                 f"temperature {o.temperature:g}, seed {o.seed}, prompt cache off",
                 f"max tokens {o.max_tokens_ratio:g} x source characters + {o.max_tokens_extra}",
                 f"context: {o.context_sentences} previous sentence(s)",
                 f"references: up to {o.references} people's translations of similar "
                 f"sentences (fuzzy score >= {o.reference_min_score:g})",
                 "one request per sentence" if o.batch_sentences == 1 else
                 f"up to {o.batch_sentences} sentences per request as a JSON array",
                 f"glossary: {self.terms_summary(enforce)}"]
        return "; ".join(parts)

    def client(self, connections: int | None = None) -> Client:
        o = self.options
        return Client(self.url, self.api_key_env, o.timeout, o.http_retries, o.backoff,
                      connections or self.concurrency)


def is_url(spec: str) -> bool:
    return bool(re.match(r"[a-z][a-z0-9+.-]*://", str(spec), re.IGNORECASE))


def check_url(url: str) -> str:
    if not _URL.match(url or ""):
        raise ModelError(f"{url}: not an http(s) URL of a model server; give its API's URL, "
                         "e.g. http://127.0.0.1:8080/v1")
    return url.rstrip("/")


def check_entry(name: str, url: str, api_key_env: str, settings: dict,
                key_named: str) -> tuple[str, LlmOptions]:
    """(the URL, the settings) of a server entry, checked, with its API key's variable set;
    `key_named` names that variable in the one line saying it is not set."""
    url = check_url(url)
    if api_key_env:
        check_variable(api_key_env)
        if env.api_key(api_key_env) is None:
            raise ModelError(f"{key_named} is not set; export {api_key_env}=YOUR_KEY")
    try:
        return url, LlmOptions.from_mapping(settings)
    except ValueError as exc:
        raise ModelError(f"{name}: setting {exc}") from None


def connect(name: str, url: str, served: str = "", profile: str = "", api_key_env: str = "",
            settings: dict | None = None) -> ServerModel:
    """Check the server (it answers, serves the model), choose the profile: a ServerModel;
    one ModelError line for each thing that is wrong."""
    url, options = check_entry(name, url, api_key_env, settings or {},
                               f"--api-key-env {api_key_env}: the variable")
    shown = shown_url(url)
    chosen = get_profile(profile) if profile else None
    client = Client(url, api_key_env, timeout=30.0, retries=1, backoff=0.5, connections=1)
    try:
        ids = client.models()
        props = client.props()
    finally:
        client.close()
    if served:
        if ids and served not in ids:
            raise ModelError(f"{shown}: serves {', '.join(ids)}, not {served}; give one of "
                             "those with --served-model")
    elif len(ids) == 1:
        served = ids[0]
    elif not ids:
        raise ModelError(f"{shown}: the server serves no model; load one into it")
    else:
        raise ModelError(f"{shown}: the server serves {len(ids)} models ({', '.join(ids[:6])}); "
                         f"register one with `zhen model add NAME {shown} --served-model ID`")
    chosen = chosen or choose_profile(served)
    template = props.get("chat_template")
    if chosen.endpoint == "chat" and template is not None and not str(template).strip():
        raise ModelError(f"{shown}: {served} has no chat template; use the completion profile "
                         "(--profile completion)")
    slots = props.get("total_slots")
    return ServerModel(name=name or served, url=url, served_id=served, profile=chosen,
                       api_key_env=api_key_env, options=options,
                       slots=slots if isinstance(slots, int) and slots > 0 else 0)


def answers(url: str, api_key_env: str = "") -> str:
    """"yes" when the server lists its models, else why not (short)."""
    client = Client(url, api_key_env, timeout=3.0, retries=0, backoff=0, connections=1)
    try:
        ids = client.models(quick=True)
        return "yes" if ids else "no model"
    except ServerError as exc:
        text = str(exc)
        if "no server answers" in text:
            return "no (nothing listens)"
        if "HTTP 401" in text or "HTTP 403" in text:
            return "no (API key refused)"
        return "no"
    finally:
        client.close()


def check_variable(name: str) -> None:
    if not _VARIABLE.match(name or ""):
        raise ModelError(f"--api-key-env {name!r}: not an environment variable's name (give "
                         "the variable's name, e.g. OPENAI_API_KEY, not the key)")
