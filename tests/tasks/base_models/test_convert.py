"""The converted real weights work: Whisper tiny.en transcribes real speech, SmolLM2 answers through its
chat template (slow: they use the models prepared in models/)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tasks import system_files
from tests.tasks.base_models.helpers import SMOLLM2, WHISPER_TINY_EN

ASTERISK_PROMPTS = system_files.ASTERISK_PROMPTS.path


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


@pytest.fixture(scope="module")
def whisper(prepared):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    folder = prepared[WHISPER_TINY_EN]
    return WhisperForConditionalGeneration.from_pretrained(folder).eval(), WhisperProcessor.from_pretrained(folder)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("vm-goodbye", "goodbye"),
        ("check-number-dial-again", "please check the number and dial again"),
        ("tt-weasels", "weasels have eaten our phone system"),
    ],
)
def test_converted_whisper_transcribes_real_speech(whisper, prompt, expected):
    import soundfile
    from scipy.signal import resample_poly

    model, processor = whisper
    audio, rate = soundfile.read(ASTERISK_PROMPTS / f"{prompt}.wav", dtype="float32")
    audio = resample_poly(audio, 16000, rate).astype(np.float32)  # the prompts are 8 kHz telephone audio
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.inference_mode():
        tokens = model.generate(features)
    assert _normalise(processor.batch_decode(tokens, skip_special_tokens=True)[0]) == expected


@pytest.mark.slow
def test_whisper_folder_has_a_working_processor_and_generation_config(whisper):
    model, processor = whisper
    assert model.config.vocab_size == len(processor.tokenizer) == 51864
    assert processor.feature_extractor.feature_size == model.config.num_mel_bins == 80
    generation = model.generation_config
    assert generation.decoder_start_token_id == processor.tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    assert generation.no_timestamps_token_id == processor.tokenizer.convert_tokens_to_ids("<|notimestamps|>")
    assert not generation.is_multilingual
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()


@pytest.mark.slow
def test_converted_smollm2_answers_through_its_chat_template(prepared):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = prepared[SMOLLM2]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    assert "quantization_config" not in model.config.to_dict()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        output = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer
