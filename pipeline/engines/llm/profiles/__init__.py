"""Prompt profiles, one module per model family, as data.

A profile says how to ask one family of models for a zh→en translation: the endpoint
(chat or plain completion), the prompt's parts (instruction, how glossary terms, the
previous sentences and people's reference translations are given, and the stressed form
of the terms for the one retry), stop strings, extra sampling fields, and how thinking is
switched off.  `choose_profile` picks one from the served model's id; `--profile` /
`zhen model add --profile` overrides it.
"""

from __future__ import annotations

import re

from zhen.engines.llm.profiles.base import Profile
from zhen.errors import ModelError

__all__ = ["Profile", "choose_profile", "get_profile", "profiles"]


def profiles() -> dict[str, Profile]:
    """Every profile by name, the most specific first (generic chat last but one)."""
    from zhen.engines.llm.profiles import completion, generic, hunyuan, qwen

    return {p.name: p for p in (hunyuan.PROFILE, qwen.PROFILE, completion.PROFILE,
                                generic.PROFILE)}


DEFAULT = "chat"


def get_profile(name: str) -> Profile:
    found = profiles().get(name)
    if found is None:
        raise ModelError(f"--profile {name}: no such profile; choose one of "
                         f"{', '.join(profiles())}")
    return found


def choose_profile(served_id: str) -> Profile:
    """The profile whose patterns match the served model's id, else the generic chat one."""
    ident = served_id.lower()
    for profile in profiles().values():
        if any(re.search(p, ident) for p in profile.matches):
            return profile
    return profiles()[DEFAULT]
