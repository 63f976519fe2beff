"""Where zhen keeps generated state (unpacked packages, translation memory, schemas)."""

from __future__ import annotations

from pathlib import Path

from zhen.env import value


def cache_dir() -> Path:
    """ZHEN_CACHE_DIR, else the platform's user cache folder for zhen (not created here)."""
    env = value("ZHEN_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("zhen"))
