"""Converters from the formats the packaged weights ship in to ordinary transformers folders:
a GGUF (llama.cpp) causal LM, dequantised through transformers, and a CTranslate2 Whisper, rebuilt
weight by weight. Each has a version; bump it when its output changes so older folders are rebuilt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from model.base_models import BaseModelError
from tasks.base_models.ct2 import CT2Model, read_ct2_model


@dataclass(frozen=True)
class ConverterInputs:
    """Verified files a converter reads: the (assembled) weights and side files by base name."""

    name: str
    weights: Path
    side_files: dict[str, Path] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------------------
# GGUF (llama.cpp) causal LM -> transformers
# ----------------------------------------------------------------------------------------------------------


def convert_gguf_llm(inputs: ConverterInputs, out_dir: Path) -> None:
    """Dequantise a GGUF causal LM through transformers and save a clean float32 safetensors folder."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    folder, gguf_file = str(inputs.weights.parent), inputs.weights.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    if not tokenizer.chat_template:
        raise BaseModelError(f"{inputs.weights}: the GGUF carries no chat template; an instruct model needs one")
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32)
    # A fresh config without the GGUF quantization record, so the folder loads as a plain model.
    config_dict = quantized.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):
        config_dict.pop(key, None)
    config = AutoConfig.for_model(**config_dict)
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(quantized.state_dict(), strict=True)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id,
    )
    tokenizer.model_max_length = config.max_position_embeddings
    model.eval()
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


# ----------------------------------------------------------------------------------------------------------
# CTranslate2 Whisper -> transformers WhisperForConditionalGeneration + WhisperProcessor
# ----------------------------------------------------------------------------------------------------------

_CT2_GELU = 3  # CTranslate2 ActivationType::GELU
_TIMESTAMP_TOKENS = 1501  # <|0.00|> ... <|30.00|> in 0.02 s steps


def convert_ct2_whisper(inputs: ConverterInputs, out_dir: Path) -> None:
    """Rebuild a CTranslate2 Whisper as a transformers model + processor + generation config."""
    from transformers import WhisperForConditionalGeneration

    ct2 = read_ct2_model(inputs.weights)
    if ct2.spec != "WhisperSpec":
        raise BaseModelError(f"{inputs.weights}: spec {ct2.spec!r}, expected 'WhisperSpec'")
    _check_whisper_flags(ct2, inputs.weights)
    ct2_config = json.loads(inputs.side_files["config.json"].read_text())
    vocab_size = ct2.raw("decoder/embeddings/weight").shape[0]
    tokenizer = _whisper_tokenizer(inputs.side_files["tokenizer.json"], vocab_size=vocab_size)
    config = _whisper_config(ct2, ct2_config, tokenizer)
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(_whisper_state_dict(ct2), strict=False)
    # proj_out is tied to embed_tokens (CT2 stores it as an alias), so it is the only key allowed missing.
    if set(missing) != {"proj_out.weight"} or unexpected:
        raise BaseModelError(f"{inputs.weights}: weight mapping mismatch: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = _whisper_generation_config(config, ct2_config, tokenizer)
    model.eval()
    model.save_pretrained(out_dir)
    _whisper_processor(tokenizer, config.num_mel_bins).save_pretrained(out_dir)


def _check_whisper_flags(ct2: CT2Model, path: Path) -> None:
    """Refuse variants the transformers Whisper cannot express instead of converting them wrongly."""
    expected = {"decoder/activation": _CT2_GELU, "decoder/pre_norm": 1, "decoder/scale_embeddings": 0,
                "decoder/alibi": 0, "decoder/start_from_zero_embedding": 0}
    for name, value in expected.items():
        if name in ct2.variables and ct2.scalar(name) != value:
            raise BaseModelError(f"{path}: {name} = {ct2.scalar(name)}, only {value} converts to transformers Whisper")


def _whisper_config(ct2: CT2Model, ct2_config: dict, tokenizer):
    from transformers import WhisperConfig

    embeddings = ct2.raw("decoder/embeddings/weight")
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return WhisperConfig(
        vocab_size=embeddings.shape[0],
        d_model=embeddings.shape[1],
        num_mel_bins=ct2.raw("encoder/conv1/weight").shape[1],
        encoder_layers=ct2.count_layers("encoder"),
        decoder_layers=ct2.count_layers("decoder"),
        encoder_attention_heads=ct2.scalar("encoder/num_heads"),
        decoder_attention_heads=ct2.scalar("decoder/num_heads"),
        encoder_ffn_dim=ct2.raw("encoder/layer_0/ffn/linear_0/weight").shape[0],
        decoder_ffn_dim=ct2.raw("decoder/layer_0/ffn/linear_0/weight").shape[0],
        max_source_positions=ct2.raw("encoder/position_encodings/encodings").shape[0],
        max_target_positions=ct2.raw("decoder/position_encodings/encodings").shape[0],
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
        # Kept in the config too: WhisperConfig's defaults are the English-only ids, wrong for multilingual.
        suppress_tokens=ct2_config["suppress_ids"],
        begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        dtype=torch.float32,
    )


def _whisper_state_dict(ct2: CT2Model) -> dict[str, torch.Tensor]:
    state = {
        "model.encoder.conv1.weight": ct2.weight("encoder/conv1/weight"),
        "model.encoder.conv1.bias": ct2.weight("encoder/conv1/bias"),
        "model.encoder.conv2.weight": ct2.weight("encoder/conv2/weight"),
        "model.encoder.conv2.bias": ct2.weight("encoder/conv2/bias"),
        "model.encoder.embed_positions.weight": ct2.weight("encoder/position_encodings/encodings"),
        "model.decoder.embed_tokens.weight": ct2.weight("decoder/embeddings/weight"),
        "model.decoder.embed_positions.weight": ct2.weight("decoder/position_encodings/encodings"),
    }
    state.update(_layer_norm(ct2, "encoder/layer_norm", "model.encoder.layer_norm"))
    state.update(_layer_norm(ct2, "decoder/layer_norm", "model.decoder.layer_norm"))
    for i in range(ct2.count_layers("encoder")):
        state.update(_whisper_layer(ct2, f"encoder/layer_{i}", f"model.encoder.layers.{i}", cross_attention=False))
    for i in range(ct2.count_layers("decoder")):
        state.update(_whisper_layer(ct2, f"decoder/layer_{i}", f"model.decoder.layers.{i}", cross_attention=True))
    return state


def _whisper_layer(ct2: CT2Model, src: str, dst: str, cross_attention: bool) -> dict[str, torch.Tensor]:
    # CT2 fuses self-attention Q|K|V and cross-attention K|V into one linear each. Whisper's K projection has
    # no bias; CT2 fills that slice with zeros, and a K bias would cancel in the softmax anyway, so it is dropped.
    state = {}
    state.update(_layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm"))
    q, k, v = _split_linear(ct2, f"{src}/self_attention/linear_0", 3)
    state.update(_linear(q, f"{dst}.self_attn.q_proj") | _linear(v, f"{dst}.self_attn.v_proj"))
    state[f"{dst}.self_attn.k_proj.weight"] = k[0]
    state.update(_linear(_ct2_linear(ct2, f"{src}/self_attention/linear_1"), f"{dst}.self_attn.out_proj"))
    if cross_attention:
        state.update(_layer_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.encoder_attn_layer_norm"))
        state.update(_linear(_ct2_linear(ct2, f"{src}/attention/linear_0"), f"{dst}.encoder_attn.q_proj"))
        k, v = _split_linear(ct2, f"{src}/attention/linear_1", 2)
        state[f"{dst}.encoder_attn.k_proj.weight"] = k[0]
        state.update(_linear(v, f"{dst}.encoder_attn.v_proj"))
        state.update(_linear(_ct2_linear(ct2, f"{src}/attention/linear_2"), f"{dst}.encoder_attn.out_proj"))
    state.update(_layer_norm(ct2, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm"))
    state.update(_linear(_ct2_linear(ct2, f"{src}/ffn/linear_0"), f"{dst}.fc1"))
    state.update(_linear(_ct2_linear(ct2, f"{src}/ffn/linear_1"), f"{dst}.fc2"))
    return state


def _ct2_linear(ct2: CT2Model, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    return ct2.weight(f"{name}/weight"), ct2.weight(f"{name}/bias")


def _split_linear(ct2: CT2Model, name: str, parts: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    weight, bias = _ct2_linear(ct2, name)
    return list(zip(weight.chunk(parts, dim=0), bias.chunk(parts, dim=0)))


def _linear(weight_bias: tuple[torch.Tensor, torch.Tensor], dst: str) -> dict[str, torch.Tensor]:
    weight, bias = weight_bias
    return {f"{dst}.weight": weight.contiguous(), f"{dst}.bias": bias.contiguous()}


def _layer_norm(ct2: CT2Model, src: str, dst: str) -> dict[str, torch.Tensor]:
    return {f"{dst}.weight": ct2.weight(f"{src}/gamma"), f"{dst}.bias": ct2.weight(f"{src}/beta")}


def _whisper_tokenizer(tokenizer_json: Path, vocab_size: int):
    """WhisperTokenizer from the shipped tokenizer.json, its <|...|> tokens special, timestamps appended."""
    from transformers import AddedToken, WhisperTokenizer

    added = json.loads(tokenizer_json.read_text())["added_tokens"]
    specials = [token["content"] for token in sorted(added, key=lambda t: t["id"]) if token["special"]]
    tokenizer = WhisperTokenizer.from_pretrained(
        str(tokenizer_json.parent), extra_special_tokens=specials, pad_token="<|endoftext|>", model_max_length=448,
    )
    # The packaged tokenizer stops before the timestamp tokens; they fill the rest of the embedding rows.
    if len(tokenizer) + _TIMESTAMP_TOKENS != vocab_size:
        raise BaseModelError(
            f"{tokenizer_json}: {len(tokenizer)} tokens + {_TIMESTAMP_TOKENS} timestamps != {vocab_size} embedding rows"
        )
    tokenizer.add_tokens([
        AddedToken(f"<|{i * 0.02:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=False)
        for i in range(_TIMESTAMP_TOKENS)
    ])
    return tokenizer


def _whisper_generation_config(config, ct2_config: dict, tokenizer):
    from transformers import GenerationConfig

    ids = tokenizer.convert_tokens_to_ids
    generation = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=config.max_target_positions,
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        suppress_tokens=list(ct2_config["suppress_ids"]),
        begin_suppress_tokens=list(ct2_config["suppress_ids_begin"]),
        alignment_heads=[list(head) for head in ct2_config["alignment_heads"]],
        max_initial_timestamp_index=50,
        return_timestamps=False,
        # transformers' own rule: only the multilingual checkpoints have the full 51865-row vocabulary.
        is_multilingual=config.vocab_size >= 51865,
    )
    if generation.is_multilingual:
        language = re.compile(r"^<\|[a-z]{2,3}\|>$")
        generation.lang_to_id = {tok: ids(tok) for tok in tokenizer.all_special_tokens if language.match(tok)}
        generation.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
        # Without a task transformers emits no task token after the detected language, and the model rambles.
        generation.task = "transcribe"
    return generation


def _whisper_processor(tokenizer, num_mel_bins: int):
    from transformers import WhisperFeatureExtractor, WhisperProcessor

    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=num_mel_bins), tokenizer=tokenizer)


@dataclass(frozen=True)
class Converter:
    # Bump `version` when the converter's output changes: folders made by an older version are rebuilt.
    version: int
    convert: Callable[[ConverterInputs, Path], None]


CONVERTERS: dict[str, Converter] = {
    "gguf_llm": Converter(2, convert_gguf_llm),
    "ct2_whisper": Converter(3, convert_ct2_whisper),
}
