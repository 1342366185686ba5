"""DeSTA2.5 fixtures: tiny random base models on disk (BPE tokenizer + ChatML template, Llama, Whisper)."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
)

from model import DeSTA25Config, DeSTA25Model

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TEXT = [
    "Focus on the audio clips and instructions.",
    "Describe the sound in detail. What is the speaker saying? hello world",
    "The speaker says hello in a calm voice. A dog barks twice.",
]
NUM_MELS = 80


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(TEXT * 20, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>", model_max_length=512
    )
    wrapped.chat_template = CHATML
    return wrapped


def save_tiny_llm(directory, initializer_range: float = 0.02) -> str:
    """A 2-layer random Llama + the tiny BPE tokenizer (ChatML template) saved in `directory`."""
    tokenizer = tiny_tokenizer()
    llm = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
            initializer_range=initializer_range,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        )
    )
    llm.generation_config.eos_token_id = tokenizer.eos_token_id
    llm.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def save_tiny_whisper(directory) -> str:
    """A 4-layer random Whisper (80 mel bins, width 16) + its feature extractor saved in `directory`."""
    whisper = WhisperForConditionalGeneration(
        WhisperConfig(
            vocab_size=64, num_mel_bins=NUM_MELS, d_model=16, encoder_layers=4, decoder_layers=1,
            encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
            max_source_positions=1500, max_target_positions=64,
            decoder_start_token_id=1, pad_token_id=0, bos_token_id=1, eos_token_id=2,
        )
    )
    whisper.save_pretrained(directory)
    WhisperFeatureExtractor(feature_size=NUM_MELS).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def base_dirs(tmp_path_factory) -> tuple[str, str]:
    """(llm dir, whisper dir) with random weights, small enough for seconds-long tests on one CPU thread."""
    torch.manual_seed(0)
    return save_tiny_llm(tmp_path_factory.mktemp("tiny-llm")), save_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture
def tiny_config(base_dirs) -> DeSTA25Config:
    llm_dir, whisper_dir = base_dirs
    return DeSTA25Config(
        llm=llm_dir, encoder=whisper_dir, qformer_layers=2, num_queries=4, qformer_intermediate_size=24,
        max_transcript_tokens=8, max_audio_windows=2,
    )


@pytest.fixture
def tiny_model(tiny_config) -> DeSTA25Model:
    torch.manual_seed(1)
    return DeSTA25Model.from_config(tiny_config)
