"""Plain completion models (GemmaX2, Seed-X style): no chat template, a prompt that ends
where the English begins, cut at the line's end."""

from zhen.engines.llm.profiles.base import Profile

PROFILE = Profile(
    name="completion",
    description="plain completion (GemmaX2 / Seed-X style prompt)",
    matches=(r"gemmax", r"seed-x"),
    endpoint="completion",
    instruction="Translate this from Chinese to {target}:\nChinese: {source}\n{target}:",
    instruction_with_context=(
        "Translate this from Chinese to {target}:\nChinese: {source}\n{target}:"),
    context_block="Preceding text (Chinese): {context}\n\n",
    terms_block="Glossary:\n{terms}\n\n",
    term_line="{zh} = {en}",
    stressed_terms_block="Glossary (use exactly):\n{terms}\n\n",
    references_block="Examples:\n{references}\n\n",
    reference_line="Chinese: {zh}\n{target}: {en}",
    batch_instruction=(
        "Translate each Chinese sentence of this JSON array into {target}; answer with a "
        "JSON array of {n} strings:\n{sources}\nJSON:"),
    stop=("\n",),
)
