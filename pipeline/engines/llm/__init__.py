"""Model kind `llm`: a zh→en model on an OpenAI-compatible server (llama.cpp's
llama-server, Ollama, vLLM, LM Studio…), driven over HTTP.

- `model`: the ServerModel (identity, settings; its decoder), `--model URL|NAME` resolved;
- `registry`: endpoints registered with `zhen model add` (a JSON file, no keys in it);
- `client`: the OpenAI API over httpx, faults as one line each;
- `profiles/`: one module per model family (prompt parts, endpoint, stops, sampling);
- `prompt`: a sentence's request; `hygiene`: replies cleaned and checked (pure);
- `translator` and `decoder`: concurrent requests, checks, retries; the runner's decoder.

Nothing here is imported unless a server is used.
"""

from __future__ import annotations

from pathlib import Path

from zhen.errors import ModelError


class _Kind:
    """The engine seam's view of the kind (engines.model_kinds)."""

    name = "llm"
    label = "model on an OpenAI-compatible server"

    def recognise(self, path: Path) -> bool:
        return False  # a server is no folder

    def load(self, path, label=None):
        raise ModelError(f"{label or path}: a model server is given by its URL or name")

    def resolve(self, spec: str):
        """A ServerModel for an http(s) URL or a registered name, else None."""
        from zhen.engines.llm.registry import resolve

        return resolve(spec)


KIND = _Kind()
