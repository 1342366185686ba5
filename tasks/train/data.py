"""Training rows -> examples the Trainer batches: token ids, labels, audio (cached encoder states or log-mel).

    rows (JSONL, DeSTA format) ──► prepare_examples: audio resolved under audio_root (a path without its
        extension falls back to `.wav`, as DeSTA-AQA5M manifests need), read once to check it; prompt and
        target tokenized by the model's processor; context + target cut to the token cap (the reference cuts
        at 300 in training, 512 in validation); bad rows (missing/unreadable audio, a prompt that fills the
        cap, an empty response) set aside with the reason
    examples ──► RowDataset[i]: ids + the clip's audio, from AudioSource (the frozen encoder's tapped states
        per clip, computed once and cached; or the log-mel windows, encoded every step as in the reference)
    items ──► Collator: left-padded ids/labels (labels on the response and its end-of-turn token only) +
        audio stacked window by window (+ audio_frames when the padding states are masked)
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset

from model import AudioClip, DeSTA25Model, DeSTA25Processor, DeSTAInputError
from model.processing_desta25 import IGNORE_INDEX, SAMPLE_RATE, read_audio
from tasks.storage import inside_root

log = logging.getLogger("destaflow.train")
KINDS = ("speech", "sound", "music")


@dataclass(frozen=True)
class Example:
    """One usable row: its ids, its labelled ids (already cut to the cap) and its audio paths, resolved."""

    id: str
    kind: str
    prompt_ids: list[int]
    label_ids: list[int]
    audio_paths: tuple[str, ...]
    # Per audio, the encoder states holding the clip in each 30 s window (the rest is padding).
    window_frames: tuple[tuple[int, ...], ...]

    @property
    def length(self) -> int:
        return len(self.prompt_ids) + len(self.label_ids)


@dataclass(frozen=True)
class BadRow:
    id: str
    reason: str
    detail: str

    def as_dict(self) -> dict:
        return {"id": self.id, "reason": self.reason, "detail": self.detail}


class BadRowError(ValueError):
    """A bad row met with `train.on_bad_row: fail`; the message names the row, the file and the fix."""


FIXES = {
    "audio": "restore the audio file under train.audio_root, or drop the row (train.on_bad_row: skip)",
    "over_cap": "shorten the prompt or transcript, raise train.max_train_tokens/max_valid_tokens, or skip the row",
    "empty_response": "regenerate the row or drop it (train.on_bad_row: skip)",
    "input": "fix the row's messages (one <|AUDIO|> locator per audio entry, a transcript 'text'), or skip it",
}


def resolve_audio_path(path: str, audio_root: str | Path) -> str:
    """The audio file of a row: `path` under audio_root, else the same name with `.wav` (the reference's rule).

    Confined to audio_root with links followed (OutsideRootError, a ValueError, for a file elsewhere).
    """
    candidate = Path(inside_root(str(audio_root), path, allow_absolute=True))
    if candidate.is_file():
        return str(candidate)
    wav = Path(inside_root(str(audio_root), str(Path(path).with_suffix(".wav")), allow_absolute=True))
    if wav.is_file():
        return str(wav)
    raise FileNotFoundError(f"audio file not found: {candidate} (nor {wav.name})")


def row_id(row: dict, index: int) -> str:
    return str(row.get("id", f"row-{index}"))


def prepare_examples(
    rows: Sequence[dict],
    processor: DeSTA25Processor,
    audio_root: str | Path,
    max_tokens: int,
    audio_vectors: bool = True,
) -> tuple[list[Example], list[BadRow]]:
    """Tokenize and check every row; (usable examples, bad rows) in the rows' order."""
    examples, bad = [], []
    for index, row in enumerate(rows):
        rid = row_id(row, index)
        try:
            examples.append(_prepare(row, rid, processor, audio_root, max_tokens, audio_vectors))
        except _Bad as problem:
            bad.append(BadRow(rid, problem.reason, str(problem)))
    return examples, bad


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _prepare(row: dict, rid: str, processor, audio_root, max_tokens: int, audio_vectors: bool) -> Example:
    response = row.get("response")
    if not isinstance(response, str) or not response.strip():
        raise _Bad("empty_response", "the response is empty")
    messages = copy.deepcopy(row["messages"])
    paths = []
    for audio in (a for message in messages for a in (message.get("audios") or [])):
        try:
            path = resolve_audio_path(str(audio.get("audio")), audio_root)
            # Read here once, so the tokenizer below sees the waveform and a bad file is named as such.
            audio["audio"] = (read_audio(path), SAMPLE_RATE)
        except (FileNotFoundError, ValueError) as error:
            raise _Bad("audio", f"{audio.get('audio')}: {error}") from None
        paths.append(path)
    try:
        clips = processor.load_clips([messages])[0]
        prompt_ids, label_ids = processor.row_ids(0, messages, clips, response, audio_vectors)
    except DeSTAInputError as error:
        raise _Bad("input", str(error)) from None
    if len(prompt_ids) >= max_tokens:
        raise _Bad("over_cap", f"the prompt alone is {len(prompt_ids)} tokens, the cap is {max_tokens}")
    return Example(
        id=rid,
        kind=str(row.get("kind", "unknown")),
        prompt_ids=prompt_ids,
        label_ids=label_ids[: max_tokens - len(prompt_ids)],
        audio_paths=tuple(paths),
        window_frames=tuple(tuple(clip.window_frames()) for clip in clips),
    )


def check_bad_rows(bad: Sequence[BadRow], on_bad_row: str, rows_file: str) -> None:
    """`fail`: raise naming the first bad row, the file and the fix; `skip`: log the count."""
    if not bad:
        return
    if on_bad_row == "fail":
        first = bad[0]
        raise BadRowError(
            f"{rows_file}: row {first.id!r}: {first.detail} ({len(bad)} bad row(s) in all). Fix: {FIXES[first.reason]}"
        )
    log.warning("train: skipping %d bad row(s) (%s)", len(bad), ", ".join(sorted({b.reason for b in bad})))


# ---------------------------------------------------------------------------------------------------- audio
class AudioSource:
    """A clip's audio as the model takes it. cached=True: the frozen encoder's tapped states, computed once per
    clip (the encoder does the same work every epoch otherwise), cropped to the clip's own states when the
    padding is masked anyway; cached=False: log-mel windows, encoded every step (the reference)."""

    def __init__(self, model: DeSTA25Model, cached: bool):
        self.model = model
        self.cached = cached
        self.crop = model.config.mask_padding_frames
        self._states: dict[str, list[torch.Tensor]] = {}

    def windows(self, path: str) -> list[torch.Tensor]:
        """Per 30 s window: tapped states (layers, frames, width) or log-mel features (mel bins, 3000)."""
        if self.cached and path in self._states:
            return self._states[path]
        clip = AudioClip(path, read_audio(path), None)
        features = self.model.processor.audio_features([clip])
        if not self.cached:
            return list(features)
        states = self.model.encode_windows(features).cpu()  # (layers, windows, 1500, width)
        frames = clip.window_frames() if self.crop else [states.shape[2]] * states.shape[1]
        windows = [states[:, w, :n].clone() for w, n in enumerate(frames)]
        self._states[path] = windows
        return windows


class RowDataset(Dataset):
    def __init__(self, examples: Sequence[Example], audio: AudioSource, audio_vectors: bool = True):
        self.examples = list(examples)
        self.audio = audio
        self.audio_vectors = audio_vectors

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def lengths(self) -> list[int]:
        return [example.length for example in self.examples]

    def __getitem__(self, index: int) -> dict:
        example = self.examples[index]
        item = {"prompt_ids": example.prompt_ids, "label_ids": example.label_ids, "windows": [], "frames": []}
        if self.audio_vectors:
            for path, frames in zip(example.audio_paths, example.window_frames, strict=True):
                item["windows"] += self.audio.windows(path)
                item["frames"] += list(frames)
        return item


@dataclass
class Collator:
    """Items -> the model's batch."""

    processor: DeSTA25Processor
    cached: bool
    mask_padding_frames: bool

    def __call__(self, items: Sequence[dict]) -> dict:
        batch = dict(self.processor.pad([(i["prompt_ids"], i["label_ids"]) for i in items], with_labels=True))
        windows = [w for item in items for w in item["windows"]]
        if windows:
            batch.update(self._audio(windows, [n for item in items for n in item["frames"]]))
        return batch

    def _audio(self, windows: list[torch.Tensor], frames: list[int]) -> dict:
        audio = {}
        if self.mask_padding_frames:
            audio["audio_frames"] = torch.tensor(frames)
        if not self.cached:
            audio["input_features"] = torch.stack(windows)
            return audio
        # Cropped windows differ in length: pad to the longest (the mask hides the padding).
        longest = max(w.shape[1] for w in windows)
        padded = [torch.nn.functional.pad(w, (0, 0, 0, longest - w.shape[1])) for w in windows]
        audio["tapped_states"] = torch.stack(padded, dim=1)  # (layers, windows, frames, width)
        return audio


def labelled_tokens(batch: dict) -> int:
    """Response tokens the loss is taken on (labels shifted by one, as the causal LM loss does)."""
    return int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
