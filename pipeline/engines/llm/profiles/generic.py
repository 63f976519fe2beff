"""Any instruction-following chat model: English instructions, the reply the English only."""

from zhen.engines.llm.profiles.base import Profile

PROFILE = Profile(
    name="chat",
    description="generic chat model (English instructions)",
    matches=(),
    endpoint="chat",
    system=("You are a professional Chinese-to-English translator. Reply with the English "
            "translation only: no notes, no explanations, no quotes around it."),
    instruction="Translate the following Chinese text into {target}:\n\n{source}",
    instruction_with_context=(
        "Translate only the following Chinese text into {target} (not the context above):"
        "\n\n{source}"),
    context_block="Context (the preceding sentences; do not translate them):\n{context}\n\n",
    terms_block="Glossary (use these English renderings):\n{terms}\n\n",
    term_line="- {zh} → {en}",
    stressed_terms_block=(
        "Glossary: the translation MUST contain each of these English renderings exactly "
        "as written:\n{terms}\n\n"),
    references_block=("Translations by people of similar sentences (follow their "
                      "wording where it applies):\n{references}\n\n"),
    reference_line="Chinese: {zh}\nEnglish: {en}",
    batch_instruction=(
        "Translate each of the {n} Chinese sentences of this JSON array into {target}. "
        "Reply with a JSON array of exactly {n} strings, in the same order, and nothing "
        "else:\n{sources}"),
)
