"""A small client of the OpenAI-compatible API (httpx): models, chat and plain completions.

Faults become one line each (`ServerError`): no server at the URL (and how to start
one), refused or reset connections, timeouts, HTTP 429 and 5xx (retried a bounded number
of times with exponential backoff, honouring Retry-After), 401/403 (naming the variable
the key is read from), and replies that break the API's shape (retried, then one line).
The key is sent as a Bearer header and never written anywhere.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from zhen import env
from zhen.errors import ModelError

START_HINT = ("start one, e.g. `llama-server -m MODEL.gguf --port 8080`, "
              "`python -m llama_cpp.server --model MODEL.gguf --port 8080` or `ollama serve`")


class ServerError(ModelError):
    """The model server cannot be used (one line for the user)."""


class Refused(ServerError):
    """The server refused the request itself (HTTP 400, 422: a field it does not take)."""


class Stopped(Exception):
    """The run is stopping: no more requests or retries."""


@dataclass
class Reply:
    text: str
    finish_reason: str = ""
    logprobs: list[float] | None = None  # per generated token, when the server gave them
    raw: dict = field(default_factory=dict)


class Client:
    """One endpoint (base URL ending in /v1), safe to share between threads."""

    def __init__(self, base_url: str, api_key_env: str = "", timeout: float = 120.0,
                 retries: int = 4, backoff: float = 1.0, connections: int = 8):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.shown = shown_url(self.base_url)  # for messages: without a password in it
        self.api_key_env = api_key_env
        self.retries = retries
        self.backoff = backoff
        self.stop = threading.Event()
        self.requests = 0  # HTTP requests sent (for logs and tests)
        self.answered = False  # the server has answered once
        headers = {}
        if api_key_env:
            key = env.api_key(api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
        self._httpx = httpx
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, trust_env=False,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=max(1, connections),
                                max_keepalive_connections=max(1, connections)))
        self._lock = threading.Lock()

    def close(self) -> None:
        self.stop.set()
        self._http.close()

    # -- what the server offers ---------------------------------------------------------

    def models(self, quick: bool = False) -> list[str]:
        """The ids of the served models (GET /models)."""
        data = self._call("GET", "/models", None, retries=0 if quick else 1,
                          timeout=3.0 if quick else None)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ServerError(f"{self.shown}/models: not an OpenAI-compatible model list; "
                              "give the URL of the API, e.g. http://127.0.0.1:8080/v1")
        return [str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")]

    def props(self) -> dict:
        """llama-server's /props (parallel slots, chat template), {} elsewhere."""
        root = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
        try:
            resp = self._http.get(root + "/props", timeout=5.0)
            if resp.status_code == 200:
                data = resp.json()
                return data if isinstance(data, dict) else {}
        except (self._httpx.HTTPError, ValueError):
            pass
        return {}

    # -- generation ---------------------------------------------------------------------

    def chat(self, body: dict) -> Reply:
        data = self._call("POST", "/chat/completions", body)
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content")
            text = text if isinstance(text, str) else ""
            # a reasoning model's `reasoning_content` is not the translation: left out
            lp = choice.get("logprobs") or {}
            content = lp.get("content") if isinstance(lp, dict) else None
            logprobs = ([float(t["logprob"]) for t in content if "logprob" in t]
                        if isinstance(content, list) else None)
            return Reply(text, str(choice.get("finish_reason") or ""), logprobs or None, data)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            raise _Malformed(data) from None

    def complete(self, body: dict) -> Reply:
        data = self._call("POST", "/completions", body)
        try:
            choice = data["choices"][0]
            text = choice["text"]
            if not isinstance(text, str):
                raise TypeError
            lp = choice.get("logprobs") or {}
            tokens = lp.get("token_logprobs") if isinstance(lp, dict) else None
            logprobs = ([float(t) for t in tokens if t is not None]
                        if isinstance(tokens, list) else None)
            return Reply(text, str(choice.get("finish_reason") or ""), logprobs or None, data)
        except (KeyError, IndexError, TypeError, ValueError):
            raise _Malformed(data) from None

    def generate(self, endpoint: str, body: dict) -> Reply:
        """chat or complete, a reply of the wrong shape retried (bounded), then one line."""
        for attempt in range(self.retries + 1):
            try:
                return self.chat(body) if endpoint == "chat" else self.complete(body)
            except _Malformed as exc:
                if attempt == self.retries:
                    raise ServerError(
                        f"{self.shown}: the server's reply is not an OpenAI-compatible "
                        f"{'chat ' if endpoint == 'chat' else ''}completion "
                        f"({_preview(exc.data)}); is this the API's URL?") from None
                self._sleep(attempt, None)
        raise AssertionError("unreachable")

    # -- HTTP with bounded retries ------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None, retries: int | None = None,
              timeout: float | None = None):
        httpx = self._httpx
        retries = self.retries if retries is None else retries
        url = self.shown + path
        for attempt in range(retries + 1):
            if self.stop.is_set():
                raise Stopped()
            with self._lock:
                self.requests += 1
            retry_after = None
            hint = ""
            try:
                kwargs = {"timeout": timeout} if timeout else {}
                resp = self._http.request(method, path, json=body, **kwargs)
            except httpx.ConnectError as exc:
                if self.answered:
                    problem = f"{url}: connection refused ({_reason(exc)}): the server stopped"
                else:
                    problem = f"{url}: no server answers there ({_reason(exc)})"
                    hint = f"; {START_HINT}"
            except httpx.TimeoutException:
                problem = f"{url}: no answer within the timeout"
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                problem = f"{url}: the connection was closed or reset ({_reason(exc)})"
            except httpx.HTTPError as exc:
                problem = f"{url}: {_reason(exc)}"
            else:
                code = resp.status_code
                self.answered = True
                if code < 300:
                    try:
                        return resp.json()
                    except ValueError:
                        raise _Malformed(resp.text[:200]) from None
                if code in (401, 403):
                    raise ServerError(self._auth_problem(url, code)) from None
                if code == 429 or code >= 500:
                    retry_after = _retry_after(resp.headers.get("retry-after"))
                    problem = (f"{url}: HTTP {code} ({_message(resp)})" +
                               (": the server is busy" if code in (429, 503) else ""))
                elif code in (400, 422):
                    raise Refused(f"{url}: HTTP {code}: {_message(resp)}")
                else:
                    raise ServerError(f"{url}: HTTP {code}: {_message(resp)}")
            if attempt == retries:
                tries = f" after {retries + 1} tries" if retries else ""
                raise ServerError(problem + tries + hint)
            self._sleep(attempt, retry_after)
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int, retry_after: float | None) -> None:
        delay = self.backoff * (2 ** attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        if self.stop.wait(delay):
            raise Stopped()

    def _auth_problem(self, url: str, code: int) -> str:
        if not self.api_key_env:
            return (f"{url}: HTTP {code}: the server wants an API key; register the model "
                    "with `zhen model add NAME URL --api-key-env VARIABLE` and put the key in "
                    "that environment variable")
        if not env.api_key(self.api_key_env):
            return (f"{url}: HTTP {code}: the API key variable {self.api_key_env} is not set; "
                    f"export {self.api_key_env}=YOUR_KEY")
        return (f"{url}: HTTP {code}: the server refused the API key in "
                f"{self.api_key_env}; check its value")


class _Malformed(Exception):
    def __init__(self, data):
        super().__init__("malformed reply")
        self.data = data


def shown_url(url: str) -> str:
    """The URL without the password of user:password@ (for messages and listings)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _preview(data) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)[:200]
    return " ".join(str(text).split())[:120] or "empty body"


def _message(resp) -> str:
    try:
        data = resp.json()
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):
            msg = err.get("message")
        elif isinstance(err, str):
            msg = err
        else:
            msg = data.get("detail") or data.get("message") if isinstance(data, dict) else None
        if msg:
            return " ".join(str(msg).split())[:200]
    except ValueError:
        pass
    return " ".join(resp.text.split())[:200] or resp.reason_phrase


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:160]


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
