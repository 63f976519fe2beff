"""Where a translation memory is, and how messages name it.

A location is a SQLite file (a path) or a PostgreSQL server (a `postgresql://` or
`postgres://` URL, kept as a string).  A server URL may hold a password: every message
names the memory with it shown as ***, and a driver's message has it scrubbed.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

SERVER_SCHEMES = ("postgresql://", "postgres://")


def is_server_url(location: str | Path | None) -> bool:
    """Whether a memory location names a PostgreSQL server (else it is a SQLite file)."""
    return isinstance(location, str) and location.startswith(SERVER_SCHEMES)


_URL = re.compile(r"^(?P<scheme>postgres(?:ql)?://)(?P<netloc>[^/?#]*)(?P<rest>.*)$", re.S)
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&#]*)")
MASK = "***"


def _url_passwords(url: str) -> list[str]:
    """The passwords written in a URL (user info, password= parameter), as written."""
    match = _URL.match(url)
    if not match:
        return []
    found = []
    userinfo, at, _ = match["netloc"].rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += [m.group(2) for m in _QUERY_PASSWORD.finditer(match["rest"])]
    return [p for p in found if p]


def mask_password(location: str | Path) -> str:
    """How messages name a memory: a server URL with its password shown as ***."""
    text = str(location)
    match = _URL.match(text) if is_server_url(text) else None
    if not match:
        return text
    userinfo, at, hosts = match["netloc"].rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":" + MASK
    netloc = f"{userinfo}@{hosts}" if at else hosts
    rest = _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, match["rest"])
    return match["scheme"] + netloc + rest


def scrub_password(text: str, location: str | Path) -> str:
    """`text` (a driver's message, say) with any password of `location` replaced by ***."""
    for secret in _url_passwords(str(location)):
        for form in {secret, unquote(secret)}:
            if form:
                text = text.replace(form, MASK)
    return text
