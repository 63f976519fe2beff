"""Qwen (Qwen2.5, Qwen3): chat, thinking switched off.

Qwen3 thinks by default; `/no_think` at the end of the user message (its soft switch) and
`chat_template_kwargs: {"enable_thinking": false}` (read by vLLM and llama-server's Jinja
templates) both turn it off; a server that ignores both still has its `<think>` block
stripped by the reply hygiene.
"""

from dataclasses import replace

from zhen.engines.llm.profiles import generic

PROFILE = replace(
    generic.PROFILE,
    name="qwen",
    description="Qwen2.5 / Qwen3 (chat, thinking off)",
    matches=(r"qwen",),
    user_suffix=" /no_think",
    extra_body={"chat_template_kwargs": {"enable_thinking": False}},
)
