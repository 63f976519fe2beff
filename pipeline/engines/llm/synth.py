"""A tiny random-weight llama-architecture GGUF, for tests and benchmarks only.

`write_tiny_gguf` writes a model of about 200 KB with the `gguf` package (in the test
extra): a SentencePiece-style vocabulary with byte fallback (so it reads any Chinese and
writes ASCII words), two layers, and a chat template, so that llama-cpp-python's or
llama.cpp's server loads it in milliseconds and answers chat and completion requests.
Its English is noise: nothing made with it says anything about translation quality.
"""
from __future__ import annotations

import numpy as np

WORDS = ("the of and to in a is that for on with as by at from it be this are was an "
         "or not has have will its which their new more also said state government "
         "policy economic development country china world trade market national people "
         "year years first public support security cooperation growth system law "
         "international reform industry energy technology region city report plan "
         "global data health budget bank price rate project strategy council minister "
         "president party power future golden age indo pacific").split()


def write_tiny_gguf(path, *, seed: int = 0, n_embd: int = 32, n_layers: int = 2,
                    n_ff: int = 64, n_head: int = 4, n_ctx: int = 2048,
                    chat_template: str | None = None) -> None:
    try:
        import gguf
    except ImportError:
        from zhen.errors import ModelError

        raise ModelError("writing a GGUF needs the gguf package: pip install gguf") from None

    rng = np.random.default_rng(seed)
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        scores.append(0.0)
        types.append(6)  # BYTE
    pieces = ["\u2581" + w for w in WORDS] + [",", ".", "\u2581"]
    pieces += [c for c in "abcdefghijklmnopqrstuvwxyz"]
    for i, p in enumerate(pieces):
        tokens.append(p)
        scores.append(-float(i))
        types.append(1)  # NORMAL
    n_vocab = len(tokens)
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("zhen-tiny-random")
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layers)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_file_type(0)  # all F32
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    if chat_template != "":  # "": none at all (a completion-only model)
        w.add_chat_template(chat_template if chat_template is not None else (
            "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"))

    def t(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w.add_tensor("token_embd.weight", t(n_vocab, n_embd, scale=1.0))
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    out = t(n_vocab, n_embd, scale=1.0)
    out[3:259] = 0.0  # byte pieces never win a greedy step: the noise is ASCII words
    out[2] *= 2.0  # </s> now and then: most replies end before their max_tokens
    w.add_tensor("output.weight", out)
    for i in range(n_layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", t(n_embd, n_embd))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", t(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_up.weight", t(n_ff, n_embd))
        w.add_tensor(f"blk.{i}.ffn_down.weight", t(n_embd, n_ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


