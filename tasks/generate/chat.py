"""One chat-template rendering for every backend and for the NLL metric.

The client applies the generator's own chat template (from its tokenizer files) and sends token ids,
so vLLM (`/v1/completions` with a token-id prompt) and the transformers backend see exactly the same
tokens, and so does the self-consistency NLL. The template's digest is recorded with every row.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

CHAT_TEMPLATE_MODE = "client-chat-template:token-ids"


@lru_cache(maxsize=4)
def load_tokenizer(model_dir: str):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if not tokenizer.chat_template:
        raise ValueError(f"{model_dir}: the tokenizer has no chat template; the generator must be an "
                         "instruction-tuned model whose tokenizer files define one")
    return tokenizer


def prompt_token_ids(tokenizer, messages: list[dict]) -> list[int]:
    """Token ids of `messages` rendered by the chat template, ending with the assistant header."""
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    return list(encoded["input_ids"])


def chat_template_digest(tokenizer) -> str:
    return "sha256:" + hashlib.sha256(tokenizer.chat_template.encode()).hexdigest()[:16]
