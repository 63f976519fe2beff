"""The workbench over HTTP: a Starlette app (`create_app`) and `serve` (uvicorn, 127.0.0.1).

    GET  /                                          the page (static/index.html)
    GET  /static/review.js, /static/review.css      its script and style
    GET  /api/documents                             the folder's documents, reviewable or why not
    GET  /api/documents/NAME                        one document: sentences, terms, QA findings
    POST /api/documents/NAME/sentences/ID           save one sentence's English

A save needs `If-Match: "VERSION"` (the document's sha256 as the page loaded it; 409 when
the file changed since, 428 without it), an `Origin` that is the workbench's own (403
otherwise: another web page cannot post to it), a JSON body {"en": "..."} of at most
MAX_BODY bytes (413) and `Content-Type: application/json` (415).  Requests must name a
loopback host (against DNS rebinding).  Every response forbids scripts and styles from
anywhere but the workbench (Content-Security-Policy); the page puts document text into
the DOM as text only, so nothing in a document is ever executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from zhen.errors import ZhenError
from zhen.ui.review.workbench import Folder, Refused

MAX_BODY = 64 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
STATIC = Path(__file__).parent / "static"
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class _Worker:
    """One thread for all file work, so saves never overlap (of two saves made on one
    version, exactly one wins); the memory is opened on it, since an SQLite connection
    belongs to the thread that made it."""

    def __init__(self, folder: Path, memory: str | Path | None, translator: str):
        self._args = (folder, memory, translator)
        self._folder: Folder | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="zhen-review")

    async def call(self, method: str, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, method, args)

    def _call(self, method: str, args: tuple):
        if self._folder is None:
            from zhen.memory import open_memory

            folder, memory, translator = self._args
            self._folder = Folder(folder, open_memory(memory) if memory else None, translator)
        return getattr(self._folder, method)(*args)

    def close(self) -> None:
        def shut() -> None:
            if self._folder is not None and self._folder.memory is not None:
                self._folder.memory.close()

        self._executor.submit(shut).result()
        self._executor.shutdown()


def _problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _hostname(host: str) -> str:
    """The host of a Host header without its port ("[::1]:8765" → "[::1]")."""
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class _Guard:
    """ASGI middleware: refuse unknown Host headers, add the security headers."""

    def __init__(self, app, hosts: Iterable[str]):
        self.app = app
        self.hosts = frozenset(hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = Headers(scope=scope).get("host", "")
        if _hostname(host) not in self.hosts:
            response = _problem(400, "host", f"unknown host {host!r}: open the workbench at "
                                             "http://127.0.0.1:PORT/")
            return await response(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_secured)


def create_app(folder: str | Path, memory: str | Path | None = None, translator: str = "",
               hosts: Iterable[str] = LOOPBACK_HOSTS,
               on_ready: Callable[[], None] | None = None) -> Starlette:
    """The workbench for the TEI files in `folder`.  `memory`: the translation memory (a
    file or a postgresql:// URL) that saves update (None: none); `translator`: who edits,
    recorded with each save; `hosts`: the Host names accepted; `on_ready`: called once the
    app has started."""
    worker = _Worker(Path(folder), memory or None, translator)

    async def run(method: str, *args) -> Response:
        try:
            state = await worker.call(method, *args)
        except Refused as exc:
            return _problem(exc.status, exc.code, exc.message)
        except ZhenError as exc:  # the memory cannot be opened, say
            return _problem(500, "error", str(exc))
        headers = {"ETag": f'"{state["version"]}"'} if "version" in state else {}
        return JSONResponse(state, headers=headers)

    async def page(request: Request) -> Response:
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return _problem(404, "not-found", "no such file")
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    async def documents(request: Request) -> Response:
        return await run("listing")

    async def document(request: Request) -> Response:
        return await run("state", request.path_params["name"])

    async def save(request: Request) -> Response:
        refused = _check_write(request)
        if refused is not None:
            return refused
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _problem(400, "bad-json", "the body is not JSON")
        english = data.get("en") if isinstance(data, dict) else None
        if not isinstance(english, str):
            return _problem(400, "bad-json", 'the body must be {"en": "the English"}')
        version = _if_match(request)
        if not version:
            return _problem(428, "no-version", "a save must say which version of the "
                                               "document it was made on (If-Match)")
        return await run("save", request.path_params["name"], request.path_params["sid"],
                         english, version)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            worker.close()

    app = Starlette(routes=[
        Route("/", page),
        Route("/static/{name}", asset),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/documents", documents),
        Route("/api/documents/{name}", document),
        Route("/api/documents/{name}/sentences/{sid}", save, methods=["POST"]),
    ], lifespan=lifespan)
    app.add_middleware(_Guard, hosts=hosts)
    return app


def _check_write(request: Request) -> Response | None:
    """403 for a write from another origin, 415 for a body that is not JSON."""
    origin = request.headers.get("origin", "")
    own = f"http://{request.headers.get('host', '')}"
    site = request.headers.get("sec-fetch-site", "same-origin")
    if origin != own or site != "same-origin":
        return _problem(403, "origin", f"writes are accepted only from the workbench's own "
                                       f"page ({own}), not from {origin or 'an unknown origin'}")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _problem(415, "content-type", "send the sentence as application/json")
    return None


async def _read_body(request: Request) -> bytes | Response:
    """The body, or 413 when it is larger than MAX_BODY (read no further than that)."""
    too_large = _problem(413, "too-large", f"a request body may hold at most {MAX_BODY} bytes")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return too_large
    return bytes(body)


def _if_match(request: Request) -> str:
    value = request.headers.get("if-match", "").strip()
    return value.removeprefix("W/").strip('"')


def serve(folder: str | Path, port: int, open_browser: bool = False,
          memory: str | Path | None = None, translator: str = "",
          announce: Callable[[str], None] = print) -> None:
    """Serve the workbench on 127.0.0.1:`port` (0: any free port) until interrupted."""
    import socket
    import webbrowser

    import uvicorn

    folder = Path(folder)
    if not folder.is_dir():
        raise ZhenError(f"{folder}: no such folder; give the folder of the .tei.xml files "
                        "to review (translate first: make)")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ZhenError(f"127.0.0.1:{port}: cannot listen ({exc.strerror}); choose another "
                        "port with --port") from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    app = create_app(folder, memory, translator,
                     on_ready=(lambda: webbrowser.open(url)) if open_browser else None)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                            lifespan="on")
    announce(f"zhen: reviewing {folder} at {url} (Ctrl-C to stop)")
    uvicorn.Server(config).run(sockets=[sock])
