"""Bounds on reading what comes from elsewhere: one home for the caps every reader shares.

A file zhen reads must not be able to make it run without end or fill the memory.  Each
format is capped in bytes where it is read (`read_limited`, the readers' MAX_BYTES); here
are the caps on what a small file can expand into:

- YAML front matter (`load_yaml_mapping`): at most YAML_MAX_BYTES, nesting YAML_MAX_DEPTH,
  YAML_MAX_NODES nodes, and no anchors or aliases at all (metadata needs none; aliases are
  how a 400-byte "billion laughs" expands into billions of strings);
- JSON (`load_json`): nesting at most JSON_MAX_DEPTH (checked before parsing: Python's
  parser would recurse until it fails);
- XML from elsewhere (xmlsafe: TBX, TMX, XLIFF, Word's parts): no entities (refused),
  libxml2's own limits without XML_PARSE_HUGE (nesting 256 deep, 10 MB in one text node),
  at most XML_MAX_TAGS tags (what a file's size allows in elements, bounded apart);
- a time bound on reading one input (`time_bound`, READ_SECONDS): a reader that is still
  busy after it is stopped with one line.  It bounds the Python-level work of a reader
  (extraction, Markdown parsing), which is where a pathological input spends its time.

Each refusal is a ZhenError naming the file and the limit, one line.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from zhen.errors import InputError

YAML_MAX_BYTES = 64 << 10
YAML_MAX_DEPTH = 16
YAML_MAX_NODES = 10_000
JSON_MAX_DEPTH = 32
XML_MAX_TAGS = 20_000_000  # `<` in a file: start and end tags, about 10 million elements
READ_SECONDS = 120.0  # one input's reading (not its translation)


class Refused(InputError):
    """A bound was met: the message names the file and the limit; `reason` is the message
    without the file's name."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.reason = reason


# -- YAML ---------------------------------------------------------------------------------


def load_yaml_mapping(text: str, name: str) -> object:
    """The value of a small YAML document (front matter), within the bounds above: a
    Refused naming `name` for an alias or anchor, too many bytes, nodes or levels; the
    YAML library's own error for text that is not YAML.  Dates stay text."""
    import yaml
    from yaml.events import AliasEvent

    size = len(text.encode("utf-8", "surrogatepass"))
    if size > YAML_MAX_BYTES:
        raise Refused(name, f"{size:,} bytes, more than the {YAML_MAX_BYTES:,} allowed")

    class Loader(yaml.SafeLoader):
        yaml_implicit_resolvers = {  # dates stay text: normalise_date reads and checks them
            first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        nodes = 0  # per load: the class is made for each call
        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                raise Refused(name, "it uses YAML anchors or aliases (&, *), which zhen does "
                                    "not expand; write each value out")
            type(self).nodes += 1
            if type(self).nodes > YAML_MAX_NODES:
                raise Refused(name, f"more than {YAML_MAX_NODES:,} values")
            type(self).depth += 1
            try:
                if type(self).depth > YAML_MAX_DEPTH:
                    raise Refused(name, f"nested more than {YAML_MAX_DEPTH} levels deep")
                return super().compose_node(parent, index)
            finally:
                type(self).depth -= 1

    return yaml.load(text, Loader=Loader)  # noqa: S506 (a SafeLoader)


# -- JSON ---------------------------------------------------------------------------------


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json(text: str, name: str) -> object:
    """json.loads within JSON_MAX_DEPTH (Refused naming `name` beyond); json's own
    JSONDecodeError for text that is not JSON."""
    if json_depth(text) > JSON_MAX_DEPTH:
        raise Refused(name, f"nested more than {JSON_MAX_DEPTH} levels deep (at most "
                            f"{JSON_MAX_DEPTH}); fix it")
    return json.loads(text)


# -- time -----------------------------------------------------------------------------------


class _TimeUp(BaseException):
    """Raised by the timer inside a reader (a BaseException: no `except Exception` in a
    library swallows it)."""


@contextmanager
def time_bound(seconds: float, name: str, what: str = "reading it") -> Iterator[None]:
    """Stop the block with a Refused after `seconds` (wall clock).  Works in the main thread
    (SIGALRM); elsewhere, or when a timer is already set, the block runs unbounded."""
    if (threading.current_thread() is not threading.main_thread()
            or not hasattr(signal, "setitimer")
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0
            or signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, signal.SIG_IGN, None)):
        yield
        return

    running = [True]

    def ring(signum, frame):
        if running[0]:
            raise _TimeUp

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        try:
            yield
        finally:
            running[0] = False  # a ring from now on is ignored
    except _TimeUp:
        raise Refused(name, f"{what} took more than {seconds:g} s, so zhen stopped (a "
                            "damaged or pathological file?); split it, or save its text as "
                            ".txt") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

