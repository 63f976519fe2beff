"""Tencent Hunyuan-MT-7B and HY-MT1.5 (1.8B, 7B): their published Chinese templates.

From the model cards: plain "将以下文本翻译为{target_language}，注意只需要输出翻译后的结果，
不要额外解释：\n\n{source_text}"; terminology "参考下面的翻译：\n{source_term} 翻译成
{target_term}\n\n" before it; context "{context}\n参考上面的信息，把下面的文本翻译成
{target_language}，注意不需要翻译上文，也不要额外解释：\n{source_text}".  No system prompt
(the cards say the models have none).  People's translations of similar sentences are
given in the terminology form (a source, 翻译成, its translation), which is what it is.
The cards recommend top_k 20, top_p 0.6, repetition_penalty 1.05 (with temperature 0.7;
zhen decodes greedily, temperature 0).
"""

from zhen.engines.llm.profiles.base import Profile

PROFILE = Profile(
    name="hunyuan",
    description="Hunyuan-MT / HY-MT, Tencent's published Chinese prompt templates",
    matches=(r"hunyuan", r"hy-?mt", r"hy_mt"),
    endpoint="chat",
    target="英语",
    instruction="将以下文本翻译为{target}，注意只需要输出翻译后的结果，不要额外解释：\n\n{source}",
    instruction_with_context=(
        "参考上面的信息，把下面的文本翻译成{target}，注意不需要翻译上文，也不要额外解释：\n{source}"),
    context_block="{context}\n",
    terms_block="参考下面的翻译：\n{terms}\n\n",
    term_line="{zh} 翻译成 {en}",
    stressed_terms_block="参考下面的翻译，译文必须使用这些译法：\n{terms}\n\n",
    references_block="参考下面的翻译：\n{references}\n\n",
    reference_line="{zh} 翻译成 {en}",
    batch_instruction=(
        "将以下JSON数组中的{n}个句子逐句翻译为{target}，只输出一个包含{n}个字符串的JSON数组，"
        "顺序不变，不要额外解释：\n{sources}"),
    # repeat_penalty is llama.cpp's name, repetition_penalty vLLM's; each ignores the other
    sampling={"top_k": 20, "top_p": 0.6, "repeat_penalty": 1.05, "repetition_penalty": 1.05},
)
