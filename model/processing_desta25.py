"""DeSTA2.5 processor: audio -> Whisper log-mel windows, messages (+ response) -> LLM tokens and labels.

One code path serves training and inference:

    conversations ──► chat template of the LLM (tokenizer.apply_chat_template, generation prompt added)
                  ──► each `<|AUDIO|>` becomes  [placeholder] * (num_queries * windows) + transcript tokens
                  ──► (training) + the response tokens and the end-of-turn token, the only labelled positions
                  ──► left-padded batch: input_ids, attention_mask, labels, input_features

At forward time the model overwrites the placeholder positions, in order, with the projected audio features;
the transcript tokens keep their ordinary token embeddings. Rows look like the reference's
(`{"messages": [..., {"role": "user", "content": "... <|AUDIO|> ...", "audios": [{"audio": path, "text": ...}]}],
"response": ...}`); audio paths are relative to `audio_root`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
from scipy.signal import resample_poly
from transformers import AddedToken, AutoConfig, AutoTokenizer, BatchFeature, WhisperFeatureExtractor

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 30
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_SECONDS
PROCESSOR_CONFIG = "desta25_processor.json"
IGNORE_INDEX = -100
# Settings the processor shares with DeSTA25Config (same names), saved with it.
CONFIG_SETTINGS = (
    "audio_locator",
    "placeholder_token",
    "max_transcript_tokens",
    "max_audio_windows",
    "audio_start_marker",
    "audio_end_marker",
    "mask_padding_frames",
)
# Whisper's encoder turns 30 s into 1,500 states: one per 320 samples.
SAMPLES_PER_FRAME = 320
FRAMES_PER_WINDOW = WINDOW_SAMPLES // SAMPLES_PER_FRAME

Conversation = list[dict[str, Any]]


class DeSTAInputError(ValueError):
    """Input the model cannot use; the message names the conversation, message and audio, and the fix."""


@dataclass(frozen=True)
class AudioClip:
    """One audio of one message, loaded: mono float32 at 16 kHz, with its transcript (None: not given)."""

    where: str
    waveform: np.ndarray
    text: str | None

    @property
    def windows(self) -> int:
        return math.ceil(len(self.waveform) / WINDOW_SAMPLES)

    def window_frames(self) -> list[int]:
        """Encoder states that hold this clip (not the padding up to 30 s), window by window."""
        return [
            math.ceil(min(WINDOW_SAMPLES, len(self.waveform) - start) / SAMPLES_PER_FRAME)
            for start in range(0, len(self.waveform), WINDOW_SAMPLES)
        ]


def as_conversations(messages: Sequence[Any]) -> list[Conversation]:
    """One conversation (a list of message dicts) or a batch of them -> a batch."""
    if not messages:
        raise DeSTAInputError("messages is empty: give a list of message dicts or a list of such lists")
    if isinstance(messages[0], Mapping):
        return [list(messages)]
    return [list(conversation) for conversation in messages]


def read_audio(source: Any, sampling_rate: int | None = None, audio_root: str | os.PathLike | None = None):
    """A path (relative to audio_root), an open file, or a waveform (needs sampling_rate) -> mono float32 at 16 kHz.

    Waveforms are (samples,) or (samples, channels), as soundfile returns them; channels are averaged.
    """
    if isinstance(source, tuple):
        source, sampling_rate = source
    if isinstance(source, (np.ndarray, torch.Tensor)):
        if sampling_rate is None:
            raise ValueError("a waveform needs its sample rate: give (array, sampling_rate) or 'sampling_rate'")
        samples = np.asarray(source, dtype=np.float32)
    else:
        samples, sampling_rate = _read_file(source, audio_root)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1:
        raise ValueError(f"waveform must be (samples,) or (samples, channels), got shape {samples.shape}")
    if samples.size == 0:
        raise ValueError("the clip is empty (0 samples)")
    if not np.isfinite(samples).all():
        raise ValueError("the clip holds NaN or infinite samples")
    if sampling_rate != SAMPLE_RATE:
        divisor = math.gcd(int(sampling_rate), SAMPLE_RATE)
        samples = resample_poly(samples, SAMPLE_RATE // divisor, int(sampling_rate) // divisor)
    return samples.astype(np.float32, copy=False)


def _read_file(source: Any, audio_root: str | os.PathLike | None) -> tuple[np.ndarray, int]:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if audio_root is not None and not path.is_absolute():
            path = Path(audio_root) / path
        if not path.is_file():
            raise ValueError(f"file not found: {path} (relative paths are read under audio_root={audio_root!r})")
        source = path
    try:
        samples, sampling_rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise ValueError(f"soundfile cannot read it ({error}); convert it to wav/flac/ogg/mp3") from None
    return samples, sampling_rate


class DeSTA25Processor:
    """Turns conversations (and responses) into the model's batch; see the module docstring."""

    def __init__(
        self,
        tokenizer,
        feature_extractor: WhisperFeatureExtractor,
        *,
        num_queries: int,
        max_length: int,
        # CONFIG_SETTINGS, no defaults here: they come from the DeSTA25Config (from_config) or a saved processor.
        audio_locator: str,
        placeholder_token: str,
        max_transcript_tokens: int,
        max_audio_windows: int,
        audio_start_marker: str,
        audio_end_marker: str,
        mask_padding_frames: bool,
        audio_root: str | os.PathLike | None = None,
    ):
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.num_queries = num_queries
        self.max_length = max_length
        self.audio_locator = audio_locator
        self.placeholder_token = placeholder_token
        self.max_transcript_tokens = max_transcript_tokens
        self.max_audio_windows = max_audio_windows
        self.audio_start_marker = audio_start_marker
        self.audio_end_marker = audio_end_marker
        # True: batches carry `audio_frames` so the connector ignores the encoder states of the 30 s padding.
        self.mask_padding_frames = mask_padding_frames
        self.audio_root = audio_root
        if placeholder_token not in tokenizer.get_vocab():
            # LLMs without reserved tokens: a new special token; the model never looks up its embedding row.
            tokenizer.add_tokens([AddedToken(placeholder_token, special=True)], special_tokens=True)
        self.placeholder_id = tokenizer.convert_tokens_to_ids(placeholder_token)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        # Special tokens that can close an assistant turn in a chat template (<|im_end|>, <|eot_id|>, eos...).
        self.special_ids = {i for i, token in tokenizer.added_tokens_decoder.items() if token.special}
        self.special_ids |= set(tokenizer.all_special_ids)
        self.special_ids.discard(self.placeholder_id)

    # ------------------------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, config, llm_path: str, encoder_path: str, audio_root=None) -> DeSTA25Processor:
        """Tokenizer from the LLM, feature extractor from the encoder (both local dirs), settings from config."""
        return cls(
            AutoTokenizer.from_pretrained(llm_path),
            WhisperFeatureExtractor.from_pretrained(encoder_path),
            num_queries=config.num_queries,
            max_length=AutoConfig.from_pretrained(llm_path).max_position_embeddings,
            audio_root=audio_root,
            **{key: getattr(config, key) for key in CONFIG_SETTINGS},
        )

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        self.tokenizer.save_pretrained(directory)
        self.feature_extractor.save_pretrained(directory)
        settings = {key: getattr(self, key) for key in ("num_queries", "max_length", *CONFIG_SETTINGS)}
        Path(directory, PROCESSOR_CONFIG).write_text(json.dumps(settings, indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, audio_root=None) -> DeSTA25Processor:
        settings = json.loads(Path(directory, PROCESSOR_CONFIG).read_text())
        return cls(
            AutoTokenizer.from_pretrained(directory),
            WhisperFeatureExtractor.from_pretrained(directory),
            audio_root=audio_root,
            **settings,
        )

    # -------------------------------------------------------------------------------------------- audio
    def load_clips(self, conversations: Sequence[Conversation]) -> list[list[AudioClip]]:
        """Check every message's locators against its audios and load each audio; errors name the audio."""
        clips = []
        for c, conversation in enumerate(conversations):
            conversation_clips = []
            for m, message in enumerate(conversation):
                content = message.get("content")
                where = f"conversation {c}, message {m}"
                if not isinstance(content, str):
                    raise DeSTAInputError(f"{where}: content must be a string, got {type(content).__name__}")
                if self.placeholder_token in content:
                    raise DeSTAInputError(f"{where}: content contains the reserved {self.placeholder_token!r}")
                audios = message.get("audios") or []
                if content.count(self.audio_locator) != len(audios):
                    raise DeSTAInputError(
                        f"{where}: {content.count(self.audio_locator)} {self.audio_locator} locator(s) but "
                        f"{len(audios)} entr(y/ies) in 'audios'; put exactly one locator per audio"
                    )
                conversation_clips += [self._load_clip(f"{where}, audio {a}", entry) for a, entry in enumerate(audios)]
            clips.append(conversation_clips)
        return clips

    def _load_clip(self, where: str, entry: Mapping[str, Any]) -> AudioClip:
        if not isinstance(entry, Mapping):
            raise DeSTAInputError(f"{where}: an audio entry must be a dict with 'audio' and 'text', got {entry!r}")
        source = entry.get("audio")
        if source is None:
            raise DeSTAInputError(f"{where}: the entry has no 'audio' (a path, or a waveform with its sample rate)")
        where = f"{where} ({source!r})" if isinstance(source, (str, os.PathLike)) else where
        try:
            waveform = read_audio(source, entry.get("sampling_rate"), self.audio_root)
        except ValueError as error:
            raise DeSTAInputError(f"{where}: {error}") from None
        clip = AudioClip(where, waveform, entry.get("text"))
        if clip.windows > self.max_audio_windows:
            raise DeSTAInputError(
                f"{where}: {len(waveform) / SAMPLE_RATE:.1f} s needs {clip.windows} windows of {WINDOW_SECONDS} s, "
                f"more than max_audio_windows={self.max_audio_windows}; trim the clip or raise the limit"
            )
        return clip

    @staticmethod
    def with_transcripts(clips: list[list[AudioClip]], transcripts: Mapping[tuple[int, int], str]):
        """A copy of clips with transcripts filled in, keyed by (conversation, audio index in that conversation)."""
        return [
            [replace(clip, text=transcripts.get((c, a), clip.text)) for a, clip in enumerate(conversation_clips)]
            for c, conversation_clips in enumerate(clips)
        ]

    def audio_features(self, clips: Sequence[AudioClip]) -> torch.Tensor:
        """Clips -> (total windows, mel bins, 3000) log-mel features; each clip's windows in order."""
        chunks = [
            clip.waveform[start : start + WINDOW_SAMPLES]
            for clip in clips
            for start in range(0, len(clip.waveform), WINDOW_SAMPLES)
        ]
        features = self.feature_extractor(chunks, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features
        return torch.from_numpy(np.asarray(features, dtype=np.float32))

    # --------------------------------------------------------------------------------------------- text
    def __call__(
        self,
        conversations: Sequence[Conversation],
        responses: Sequence[str] | None = None,
        clips: Sequence[Sequence[AudioClip]] | None = None,
        audio_vectors: bool = True,
    ) -> BatchFeature:
        """Conversations (+ responses for training) -> a left-padded batch.

        Keys: input_ids, attention_mask, labels (only with responses), input_features (only with audio),
        audio_frames (with audio and mask_padding_frames: the clip's encoder states per window).
        `clips` are the loaded audios (from `load_clips`, transcripts possibly filled in by ASR).
        `audio_vectors=False` leaves the audio vectors out and keeps everything else, the transcript
        included: what the LLM can do without hearing the clip (the text-only baseline).
        """
        conversations = list(conversations)
        if responses is not None and len(responses) != len(conversations):
            raise DeSTAInputError(f"{len(conversations)} conversations but {len(responses)} responses")
        clips = self.load_clips(conversations) if clips is None else clips
        rows = []
        for c, conversation in enumerate(conversations):
            response = None if responses is None else responses[c]
            prompt_ids, label_ids = self.row_ids(c, conversation, clips[c], response, audio_vectors)
            self._check_length(c, clips[c], len(prompt_ids), len(label_ids))
            rows.append((prompt_ids, label_ids))
        batch = self.pad(rows, with_labels=responses is not None)
        all_clips = [clip for conversation_clips in clips for clip in conversation_clips]
        if all_clips and audio_vectors:
            batch["input_features"] = self.audio_features(all_clips)
            if self.mask_padding_frames:
                batch["audio_frames"] = torch.tensor([n for clip in all_clips for n in clip.window_frames()])
        return batch

    def row_ids(
        self,
        index: int,
        conversation: Conversation,
        clips: Sequence[AudioClip],
        response: str | None = None,
        audio_vectors: bool = True,
    ) -> tuple[list[int], list[int]]:
        """(prompt ids, labelled ids) of one conversation: the labelled ids are the response through its
        end-of-turn token (empty without a response). `index` names the conversation in errors."""
        prompt_ids = self._prompt_ids(index, conversation, clips, audio_vectors)
        return prompt_ids, ([] if response is None else self._response_ids(index, conversation, response))

    def _prompt_ids(
        self, index: int, conversation: Conversation, clips: Sequence[AudioClip], audio_vectors: bool = True
    ) -> list[int]:
        text = self.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        marked = f"{self.audio_start_marker}{self.audio_locator}{self.audio_end_marker}"
        segments = text.replace(self.audio_locator, marked).split(self.audio_locator)
        if len(segments) - 1 != len(clips):
            raise DeSTAInputError(
                f"conversation {index}: the chat template yields {len(segments) - 1} {self.audio_locator} locator(s) "
                f"for {len(clips)} audio(s); the template must keep message content verbatim"
            )
        ids = self._tokens(segments[0])
        for clip, segment in zip(clips, segments[1:], strict=True):
            placeholders = self.num_queries * clip.windows if audio_vectors else 0
            ids += [self.placeholder_id] * placeholders + self._transcript_ids(clip)
            ids += self._tokens(segment)
        return ids

    def _check_length(self, index: int, clips: Sequence[AudioClip], prompt: int, response: int) -> None:
        if prompt + response <= self.max_length:
            return
        audio_summary = "; ".join(
            f"{clip.where}: {self.num_queries * clip.windows} audio + "
            f"{len(self._transcript_ids(clip))} transcript tokens"
            for clip in clips
        )
        raise DeSTAInputError(
            f"conversation {index}: the prompt is {prompt} tokens (+ {response} response tokens), beyond the LLM's "
            f"{self.max_length} positions ({audio_summary or 'no audio'}); shorten the messages, the response, "
            "the audio or max_transcript_tokens"
        )

    def _transcript_ids(self, clip: AudioClip) -> list[int]:
        if clip.text is None:
            raise DeSTAInputError(f"{clip.where}: no transcript ('text'); give one, ' ' for none, or transcribe")
        if self.audio_locator in clip.text or self.placeholder_token in clip.text:
            raise DeSTAInputError(f"{clip.where}: the transcript contains {self.audio_locator} or the placeholder")
        return self._tokens(clip.text)[: self.max_transcript_tokens]

    def _response_ids(self, index: int, conversation: Conversation, response: str) -> list[int]:
        """The response's tokens through the end-of-turn token, exactly as the template renders the turn."""
        if not isinstance(response, str) or self.audio_locator in response or self.placeholder_token in response:
            raise DeSTAInputError(f"conversation {index}: the response must be a string without audio tokens")
        prompt = self.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        full = self.tokenizer.apply_chat_template(
            [*conversation, {"role": "assistant", "content": response}], tokenize=False
        )
        if not full.startswith(prompt):
            raise DeSTAInputError(
                f"conversation {index}: the LLM's chat template does not render the assistant turn after the "
                "generation prompt; use an LLM whose template appends turns"
            )
        if any(token in self.special_ids for token in self._tokens(response)):
            raise DeSTAInputError(f"conversation {index}: the response contains a special token of the LLM's tokenizer")
        ids = self._tokens(full[len(prompt) :])
        end = next((i for i, token in enumerate(ids) if token in self.special_ids), None)
        if end is None:
            raise DeSTAInputError(f"conversation {index}: the chat template closes the turn without a special token")
        return ids[: end + 1]

    def _tokens(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def pad(self, rows: Sequence[tuple[list[int], list[int]]], with_labels: bool) -> BatchFeature:
        """Left padding, so that every row's next token sits at the same last position."""
        width = max(len(prompt) + len(answer) for prompt, answer in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        for row, (prompt, answer) in enumerate(rows):
            ids = prompt + answer
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention_mask[row, width - len(ids) :] = 1
            if answer:
                labels[row, width - len(answer) :] = torch.tensor(answer)
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if with_labels:
            batch["labels"] = labels
        return BatchFeature(batch)
