"""The forgetting check: the LALM given text only (no audio) against its backbone LLM on a fixed set of
text instructions with IFEval constraints (forgetting_instructions.jsonl).

With LoRA off the LLM's weights are untouched, so the LALM without audio must produce exactly the
backbone's tokens: asserted (a difference is a bug in prompt assembly or generation). With LoRA on, the
check reports the IF-rate of each and their difference (LALM - backbone) and passes when the drop stays
within `max_if_rate_drop` points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

from model.modeling_desta25 import locate_base_model
from tasks.evaluate.ifeval import follow_list, instruction_rate
from tasks.evaluate.items import read_jsonl, require

INSTRUCTIONS = Path(__file__).with_name("forgetting_instructions.jsonl")


class ForgettingError(AssertionError):
    """With LoRA off, the LALM without audio answered differently from its backbone."""


@dataclass
class ForgettingResult:
    lora: bool
    identical: bool | None
    if_rate_lalm: float | None
    if_rate_backbone: float | None
    if_rate_delta: float | None
    passed: bool
    rows: list[dict]

    def metrics(self) -> dict:
        return {"lora": self.lora, "identical": self.identical, "if_rate_delta": self.if_rate_delta,
                "if_rate_lalm": self.if_rate_lalm, "if_rate_backbone": self.if_rate_backbone, "passed": self.passed}


def read_instructions(url: str = str(INSTRUCTIONS)) -> list[dict]:
    rows = []
    for line, row in read_jsonl(url):
        require(row, {"prompt": str, "instruction_id_list": list, "kwargs": list}, f"{url}: line {line}")
        rows.append(row)
    return rows


def backbone_answers(model, conversations: list[list[dict]], max_new_tokens: int) -> list[list[int]]:
    """The plain backbone LLM, loaded on its own from the same base model, answering greedily."""
    path, revision = locate_base_model(model.config.llm, model.config.llm_revision)
    backbone = AutoModelForCausalLM.from_pretrained(path, revision=revision, dtype=model.llm.dtype).to(model.device)
    tokenizer = model.processor.tokenizer
    answers = []
    for conversation in conversations:
        ids = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True).to(model.device)
        with torch.no_grad():
            out = backbone.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                    pad_token_id=model.processor.pad_id)
        answers.append(model._strip_padding(out[0, ids["input_ids"].shape[1]:].tolist()))
    return answers


def check_forgetting(model, max_new_tokens: int = 128, max_if_rate_drop: float = 10.0,
                     instructions: str = str(INSTRUCTIONS)) -> ForgettingResult:
    rows = read_instructions(instructions)
    conversations = [[{"role": "user", "content": row["prompt"]}] for row in rows]
    # One conversation per call: exactly what the backbone is asked, without batch padding.
    lalm = [model.generate([c], max_new_tokens=max_new_tokens, do_sample=False) for c in conversations]
    lalm_ids = [result.token_ids[0] for result in lalm]
    backbone_ids = backbone_answers(model, conversations, max_new_tokens)
    decode = model.processor.tokenizer.decode
    table = []
    for row, mine, theirs in zip(rows, lalm_ids, backbone_ids, strict=True):
        lalm_text, backbone_text = decode(mine, skip_special_tokens=True), decode(theirs, skip_special_tokens=True)
        table.append({"key": row.get("key"), "prompt": row["prompt"], "lalm": lalm_text, "backbone": backbone_text,
                      "lalm_follows": follow_list(row["instruction_id_list"], row["kwargs"], lalm_text),
                      "backbone_follows": follow_list(row["instruction_id_list"], row["kwargs"], backbone_text),
                      "identical": mine == theirs})
    rate_lalm = instruction_rate([r["lalm_follows"] for r in table])
    rate_backbone = instruction_rate([r["backbone_follows"] for r in table])
    lora = bool(model.config.lora["enabled"])
    identical = all(r["identical"] for r in table)
    if not lora and not identical:
        differing = [r["key"] for r in table if not r["identical"]]
        raise ForgettingError(f"LoRA is off but the LALM without audio differs from its backbone on {differing}: "
                              "prompt assembly or generation changed the text path")
    delta = rate_lalm - rate_backbone
    passed = identical if not lora else delta >= -max_if_rate_drop
    return ForgettingResult(lora, identical if not lora else None, rate_lalm, rate_backbone, delta, passed, table)
