"""DeSTA25Model on tiny random base models: shapes, frozen parts, padding, checkpoints, reference layout, generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer, BertConfig
from transformers.models.bert.modeling_bert import BertEncoder

from model import DeSTA25Config, DeSTA25Model, DeSTAInputError, default_tapped_layers
from tasks import system_files
from tasks.params import preset_model
from tests.model.desta_helpers import SYSTEM, clip, user


def training_batch(model: DeSTA25Model):
    conversations = [
        [SYSTEM, user("Describe <|AUDIO|> and <|AUDIO|>", clip(), clip(text="a dog barks"))],
        [user("What is said? <|AUDIO|>", clip(2.0, text="hello"))],
    ]
    return model.processor(conversations, responses=["A dog barks twice.", "hello"])


def test_default_tapped_layers_match_the_reference_table():
    assert default_tapped_layers(32) == [7, 15, 23, 31]  # whisper-large-v3
    assert default_tapped_layers(24) == [5, 11, 17, 23]  # medium
    assert default_tapped_layers(12) == [2, 5, 8, 11]  # small
    assert default_tapped_layers(4) == [0, 1, 2, 3]  # tiny
    assert default_tapped_layers(2) == [0, 1]


@pytest.mark.parametrize("preset", ["smol", "desta25"])
def test_config_comes_from_model_params_and_survives_save(preset, tmp_path):
    params = preset_model(preset)
    config = DeSTA25Config.from_params(params)
    assert config.llm == params.llm and config.encoder == params.encoder
    assert (config.num_queries, config.tapped_layers) == (params.num_queries, params.tapped_layers)
    config.attn_implementation = "eager"
    config.save_pretrained(tmp_path)
    again = DeSTA25Config.from_pretrained(tmp_path)
    assert again.attn_implementation == "eager" and again.lora == params.lora.model_dump()
    assert again.dtype == getattr(torch, params.dtype)


def test_config_signature_defaults_are_the_smol_preset_and_the_params_defaults():
    # transformers needs a DeSTA25Config() with every argument defaulted; those defaults repeat the project's
    # (the smol preset over ModelParams) and must not drift from them.
    expected = preset_model("smol").model_dump()
    defaults = DeSTA25Config()
    assert defaults.dtype in (torch.float32, "float32") and expected.pop("dtype") == "float32"
    assert {key: getattr(defaults, key) for key in expected} == expected


def test_only_the_connector_trains_and_frozen_parts_stay_in_eval(tiny_model):
    trainable = [name for name, p in tiny_model.named_parameters() if p.requires_grad]
    assert trainable and all(name.startswith("connector.") for name in trainable)
    tiny_model.train()
    assert tiny_model.connector.training
    assert not tiny_model.llm.training and not tiny_model.whisper.training
    assert not any(module.training for module in [*tiny_model.llm.modules(), *tiny_model.whisper.modules()])


def test_lora_adds_trainable_adapters_only(tiny_config):
    tiny_config.lora = {**tiny_config.lora, "enabled": True, "r": 2, "target_modules": ["q_proj", "v_proj"]}
    model = DeSTA25Model.from_config(tiny_config).train()
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert {name.split(".")[0] for name in trainable} == {"connector", "llm"}
    assert all("lora_" in name for name in trainable if name.startswith("llm."))
    assert sum("q_proj.lora_A" in name for name in trainable) == model.llm.config.num_hidden_layers
    dropouts = [module for name, module in model.llm.named_modules() if name.endswith("lora_dropout.default")]
    assert dropouts and all(module.training for module in dropouts)


def test_forward_returns_loss_and_logits_and_grads_reach_only_the_connector(tiny_model):
    batch = training_batch(tiny_model)
    output = tiny_model.train()(**batch)
    assert output.logits.shape == (*batch["input_ids"].shape, tiny_model.llm.config.vocab_size)
    assert torch.isfinite(output.loss)
    output.loss.backward()
    for name, parameter in tiny_model.named_parameters():
        if name.startswith("connector."):
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
        else:
            assert parameter.grad is None, name


def test_audio_changes_the_prediction_and_text_only_rows_match_the_llm(tiny_model):
    with_audio = training_batch(tiny_model)
    text_only = tiny_model.processor([[SYSTEM, user("No audio here.")]], responses=["fine"])
    logits = tiny_model(**text_only).logits
    plain = tiny_model.llm(input_ids=text_only["input_ids"], attention_mask=text_only["attention_mask"]).logits
    assert torch.equal(logits, plain)
    silence = dict(with_audio, input_features=torch.zeros_like(with_audio["input_features"]))
    assert not torch.allclose(tiny_model(**with_audio).logits, tiny_model(**silence).logits)


def test_left_padded_row_computes_what_it_computes_alone(tiny_model):
    batch = training_batch(tiny_model)
    alone = tiny_model.processor([[user("What is said? <|AUDIO|>", clip(2.0, text="hello"))]], responses=["hello"])
    width = alone["input_ids"].shape[1]
    batched = tiny_model(**batch)
    single = tiny_model(**alone)
    torch.testing.assert_close(batched.logits[1, -width:], single.logits[0], atol=1e-5, rtol=1e-5)


def test_long_audio_uses_one_query_set_per_window(tiny_model):
    batch = tiny_model.processor([[user("<|AUDIO|>", clip(45.0, text=" "))]], responses=["long"])
    assert batch["input_features"].shape[0] == 2
    assert (batch["input_ids"] == tiny_model.processor.placeholder_id).sum() == 2 * tiny_model.config.num_queries
    assert tiny_model.audio_embeddings(batch["input_features"]).shape == (2, 4, tiny_model.llm.config.hidden_size)
    assert torch.isfinite(tiny_model(**batch).loss)


def test_placeholder_and_feature_counts_must_agree(tiny_model):
    batch = training_batch(tiny_model)
    with pytest.raises(DeSTAInputError, match="placeholder positions but .* audio vectors"):
        tiny_model(**dict(batch, input_features=batch["input_features"][:1]))


def test_save_and_load_round_trip_is_bit_exact(tiny_model, tmp_path):
    with torch.no_grad():
        tiny_model.connector.layer_weights.normal_()  # not the init value, so loading must really happen
    tiny_model.save_pretrained(tmp_path / "ckpt")
    saved = load_file(tmp_path / "ckpt" / "model.safetensors")
    assert set(saved) == {name for name, p in tiny_model.named_parameters() if p.requires_grad}
    torch.manual_seed(123)  # a different fresh connector
    loaded = DeSTA25Model.from_pretrained(tmp_path / "ckpt")
    batch = training_batch(tiny_model)
    assert torch.equal(tiny_model(**batch).logits, loaded(**batch).logits)


def test_checkpoint_from_other_shapes_is_rejected(tiny_model, tiny_config, tmp_path):
    tiny_model.save_pretrained(tmp_path / "ckpt")
    tiny_config.num_queries = 8
    other = DeSTA25Model.from_config(tiny_config)
    with pytest.raises(ValueError, match=r"shape mismatch .*'connector.layer_weights: \(4, 4\) != \(8, 4\)"):
        other.load_trainable(load_file(tmp_path / "ckpt" / "model.safetensors"), source="ckpt")


# --------------------------------------------------------------------------------- reference layout
def reference_checkpoint(directory: Path, base_dirs, d: int = 16, queries: int = 4, layers: int = 2, ffn: int = 24):
    """Tensors named and shaped as the reference's DeSTA25AudioModel saves them (2 Q-Former layers, LoRA on q/v)."""
    torch.manual_seed(7)
    llm_width, llm_layers = 32, 2
    tensors = {f"perception.connector.layer_prompts.{i}": torch.randn(1, queries, d) for i in range(4)}
    tensors["perception.connector.layer_weights"] = torch.randn(queries, 4)
    for j in range(layers):
        prefix = f"perception.connector.qformer.layer.{j}."
        for block in ("attention", "crossattention"):
            for name in ("self.query", "self.key", "self.value", "output.dense"):
                tensors[f"{prefix}{block}.{name}.weight"] = torch.randn(d, d) / d**0.5
                tensors[f"{prefix}{block}.{name}.bias"] = torch.randn(d) / 10
            tensors[f"{prefix}{block}.output.LayerNorm.weight"] = 1 + torch.randn(d) / 10
            tensors[f"{prefix}{block}.output.LayerNorm.bias"] = torch.randn(d) / 10
        tensors[f"{prefix}intermediate.dense.weight"] = torch.randn(ffn, d) / d**0.5
        tensors[f"{prefix}intermediate.dense.bias"] = torch.randn(ffn) / 10
        tensors[f"{prefix}output.dense.weight"] = torch.randn(d, ffn) / ffn**0.5
        tensors[f"{prefix}output.dense.bias"] = torch.randn(d) / 10
        tensors[f"{prefix}output.LayerNorm.weight"] = 1 + torch.randn(d) / 10
        tensors[f"{prefix}output.LayerNorm.bias"] = torch.randn(d) / 10
    tensors["perception.connector.proj.0.weight"] = 1 + torch.randn(d) / 10
    tensors["perception.connector.proj.0.bias"] = torch.randn(d) / 10
    tensors["perception.connector.proj.1.weight"] = torch.randn(llm_width, d) / d**0.5
    tensors["perception.connector.proj.1.bias"] = torch.randn(llm_width) / 10
    kv_width = 16  # tiny Llama: 2 kv heads x head_dim 8
    for i in range(llm_layers):
        for target, out_width in (("q_proj", llm_width), ("v_proj", kv_width)):
            prefix = f"llm_model.model.layers.{i}.self_attn.{target}."
            tensors[prefix + "lora_A.default.weight"] = torch.randn(2, llm_width)
            tensors[prefix + "lora_B.default.weight"] = torch.randn(out_width, 2)
    directory.mkdir()
    save_file(tensors, str(directory / "model.safetensors"))
    llm_dir, whisper_dir = base_dirs
    reference_config = {
        "model_type": "desta25", "llm_model_id": llm_dir, "encoder_model_id": whisper_dir,
        "connector_mode": "qformer_1", "qformer_num_hidden_layers": layers, "prompt_size": queries,
        "use_lora": True, "audio_locator": "<|AUDIO|>", "placeholder_token": "<|reserved_special_token_87|>",
    }
    (directory / "config.json").write_text(json.dumps(reference_config))
    return tensors


def test_reference_checkpoint_loads_into_our_layout(base_dirs, tmp_path):
    tensors = reference_checkpoint(tmp_path / "ref", base_dirs)
    model = DeSTA25Model.from_reference_checkpoint(tmp_path / "ref")
    connector = model.connector
    assert (model.config.num_queries, model.config.qformer_layers, model.config.qformer_intermediate_size) == (4, 2, 24)
    assert model.config.lora["enabled"] and model.config.lora["target_modules"] == ["q_proj", "v_proj"]
    for i in range(4):
        assert torch.equal(connector.queries[i], tensors[f"perception.connector.layer_prompts.{i}"][0])
    assert torch.equal(connector.layer_weights, tensors["perception.connector.layer_weights"])
    block = connector.qformer[1]
    ref = "perception.connector.qformer.layer.1."
    assert torch.equal(block.cross_attn.k_proj.weight, tensors[ref + "crossattention.self.key.weight"])
    assert torch.equal(block.self_attn.norm.bias, tensors[ref + "attention.output.LayerNorm.bias"])
    assert torch.equal(block.ffn_out.weight, tensors[ref + "output.dense.weight"])
    assert torch.equal(connector.proj.weight, tensors["perception.connector.proj.1.weight"])
    lora_b = model.llm.model.layers[1].self_attn.v_proj.lora_B.default.weight
    assert torch.equal(lora_b, tensors["llm_model.model.layers.1.self_attn.v_proj.lora_B.default.weight"])
    # The reference's prompt: its placeholder token and the <start_audio>/<end_audio> markers.
    ids = model.processor([[user("<|AUDIO|>", clip(text=" "))]])["input_ids"][0]
    text = model.processor.tokenizer.decode(ids)
    assert "<start_audio><|reserved_special_token_87|>" in text and "<end_audio>" in text


def test_our_qformer_computes_what_the_reference_bert_encoder_computes(base_dirs, tmp_path):
    """Same weights, same inputs: our blocks == transformers' BertEncoder configured as the reference does."""
    tensors = reference_checkpoint(tmp_path / "ref", base_dirs)
    model = DeSTA25Model.from_reference_checkpoint(tmp_path / "ref")
    bert_config = BertConfig(
        hidden_size=16, num_attention_heads=2, num_hidden_layers=2, intermediate_size=24,
        is_decoder=True, add_cross_attention=True,
    )
    bert_config._attn_implementation = "eager"
    bert = BertEncoder(bert_config).eval()
    prefix = "perception.connector.qformer."
    bert.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    queries, audio_states = torch.randn(3, 4, 16), torch.randn(3, 50, 16)
    expected = bert(hidden_states=queries, encoder_hidden_states=audio_states).last_hidden_state
    ours = queries
    for block in model.connector.qformer:
        ours = block(ours, audio_states)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------- generation
def test_generate_without_audio_is_exactly_the_llm_generate(tiny_model, base_dirs):
    llm_dir, _ = base_dirs
    chat = [SYSTEM, {"role": "user", "content": "Describe the sound in detail."}]
    ours = tiny_model.generate(chat, do_sample=False, max_new_tokens=12)
    tokenizer = AutoTokenizer.from_pretrained(llm_dir)
    llm = AutoModelForCausalLM.from_pretrained(llm_dir)
    inputs = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt")
    expected = llm.generate(**inputs, do_sample=False, max_new_tokens=12)[0, inputs["input_ids"].shape[1] :]
    assert ours.token_ids == [expected.tolist()]
    assert ours.texts == [tokenizer.decode(expected, skip_special_tokens=True)]


def test_generate_with_audio_batches_conversations(tiny_model):
    conversations = [
        [SYSTEM, user("What is said? <|AUDIO|>", clip(text="hello"))],
        [user("Compare <|AUDIO|> and <|AUDIO|>", clip(3.0, text=None), clip(1.0, text="a dog barks"))],
    ]
    result = tiny_model.generate(conversations, transcribe=False, do_sample=False, max_new_tokens=5)
    assert len(result.texts) == len(result.token_ids) == 2
    assert all(0 < len(ids) <= 5 for ids in result.token_ids)
    assert result.transcripts == [["hello"], [" ", "a dog barks"]]


# ------------------------------------------------------------------------------------- real smol preset
ASTERISK = system_files.ASTERISK_PROMPTS.path


@pytest.mark.slow
def test_smol_preset_trains_a_step_and_answers_about_a_real_recording(capfd):
    """Real SmolLM2-135M-Instruct + Whisper tiny.en on a real recording: ASR, one training step, generate."""
    if not (ASTERISK / "agent-loginok.wav").is_file():
        pytest.skip("needs Debian asterisk-core-sounds-en-wav (make system)")
    params = preset_model("smol")
    model = DeSTA25Model.from_config(DeSTA25Config.from_params(params), audio_root=ASTERISK)
    conversation = [
        SYSTEM,
        user("<|AUDIO|>\nWhat does the speaker say?", {"audio": "agent-loginok.wav", "text": None}),
    ]
    answer = model.generate(conversation, do_sample=False, max_new_tokens=16)
    (transcript,) = answer.transcripts[0]
    assert "logged in" in transcript.lower()  # Whisper's decoder, kept for ASR
    # Evaluation transcribes every test clip: one warning per call filled the demo's console.
    assert "max_length" not in capfd.readouterr().err
    assert answer.texts[0].strip() and len(answer.token_ids[0]) <= 16

    conversation[1]["audios"][0]["text"] = transcript
    batch = model.processor([conversation], responses=["The speaker says that the agent has logged in."])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    first = model(**batch).loss
    first.backward()
    optimizer.step()
    optimizer.zero_grad()
    with torch.no_grad():
        second = model(**batch).loss
    assert torch.isfinite(first) and second < first


@pytest.mark.slow
@pytest.mark.gpu
def test_smol_preset_in_bfloat16_on_cuda_trains_the_float32_connector():
    params = preset_model("smol").model_copy(update={"dtype": "bfloat16"})
    model = DeSTA25Model.from_config(DeSTA25Config.from_params(params), device="cuda").train()
    batch = model.processor([[SYSTEM, user("<|AUDIO|>\nDescribe it.", clip(3.0, text=" "))]], responses=["A tone."])
    loss = model(**batch.to("cuda")).loss
    loss.backward()
    assert model.llm.dtype == torch.bfloat16 and torch.isfinite(loss)
    assert all(p.dtype == torch.float32 and p.grad is not None for p in model.connector.parameters())
