"""The forgetting check: without LoRA the LALM given no audio is exactly its backbone; with LoRA it is measured."""

import pytest
import torch

from model import DeSTA25Model
from tasks.evaluate.forgetting import ForgettingError, check_forgetting, read_instructions


def test_instructions_are_all_rule_checkable():
    rows = read_instructions()
    assert len(rows) == 12 and all(len(r["instruction_id_list"]) == len(r["kwargs"]) for r in rows)


def test_lora_off_gives_identical_outputs(tiny_model):
    result = check_forgetting(tiny_model, max_new_tokens=8)
    assert result.identical is True and result.passed and result.if_rate_delta == 0.0
    assert all(row["lalm"] == row["backbone"] for row in result.rows)


def test_lora_off_with_a_changed_llm_fails_loudly(tiny_model):
    with torch.no_grad():
        tiny_model.llm.lm_head.weight.add_(torch.randn_like(tiny_model.llm.lm_head.weight))
    with pytest.raises(ForgettingError, match="LoRA is off"):
        check_forgetting(tiny_model, max_new_tokens=8)


def test_lora_on_reports_the_if_rate_difference(tiny_config):
    tiny_config.lora = {**tiny_config.lora, "enabled": True}
    model = DeSTA25Model.from_config(tiny_config)
    with torch.no_grad():
        for name, parameter in model.llm.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=1.0)
    result = check_forgetting(model, max_new_tokens=8, max_if_rate_drop=100.0)
    assert result.lora and result.identical is None and result.passed
    assert result.if_rate_delta == pytest.approx(result.if_rate_lalm - result.if_rate_backbone)
    assert any(row["lalm"] != row["backbone"] for row in result.rows)
