"""Self-consistency: how likely the backbone finds its own targets.

Mean per-token negative log-likelihood of each response under the backbone, teacher-forced on the
same chat-template prompt the generator saw (system + seed description + instruction); only response
tokens are scored. Low values mean the targets are in the backbone's own distribution, which is the
point of self-generation; a foreign generator shows up as a higher NLL.
"""

from __future__ import annotations

from tasks.generate.chat import load_tokenizer, prompt_token_ids
from tasks.generate.prompts import stable_int
from tasks.rows import generation_messages


def nll_sample(rows: list[dict], seed: int, sample_rows: int) -> list[dict]:
    """A deterministic sample (0 = all rows): the rows with the smallest hash of (seed, id)."""
    scorable = [row for row in rows if row["response"].strip()]
    if sample_rows == 0 or sample_rows >= len(scorable):
        return scorable
    return sorted(scorable, key=lambda row: stable_int(seed, "nll", row["id"]))[:sample_rows]


def response_nll(model_dir: str, rows: list[dict], dtype: str = "float32") -> dict:
    """{"nll_mean": mean over all scored response tokens, "nll_rows", "nll_tokens"}."""
    import torch
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for row in rows:
            # Scored in the context it was written in: the generation system turn when the row records one.
            system = row["generator"].get("generation_system_prompt", row["messages"][0]["content"])
            messages = generation_messages(system, row["seed_description"], row["prompt"])
            prompt = prompt_token_ids(tokenizer, messages)
            target = tokenizer(row["response"], add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt + target])
            logits = model(input_ids=ids).logits[0, len(prompt) - 1:-1].float()
            total += torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):], reduction="sum").item()
            tokens += len(target)
    return {"nll_mean": total / tokens if tokens else None, "nll_rows": len(rows), "nll_tokens": tokens}
