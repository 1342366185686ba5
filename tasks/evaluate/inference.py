"""Answering benchmark items as the DeSTA2.5 reference does: audio loaded at 16 kHz mono, voice-activity
detection before ASR (no speech: transcript " "), Whisper's transcript beside the audio, greedy decoding,
batched generation.

Clips longer than one 30 s Whisper window are handled by `long_audio`:
  reference  the first 30 s only, one window of queries (what the reference's feature extractor does)
  windows    every 30 s window gets its own queries (ours; bounded by model.max_audio_windows)
The mode is recorded with every result. Voice activity is judged on the whole clip in both modes, as the
reference does; the transcript covers what the model hears.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from model.processing_desta25 import SAMPLE_RATE, WINDOW_SAMPLES, DeSTAInputError, read_audio
from tasks.evaluate.items import Item, audio_exists, audio_url
from tasks.evaluate.prompts import AUDIO_LOCATOR, prompt_text
from tasks.evaluate.vad import NO_SPEECH_TRANSCRIPT, has_speech
from tasks.storage import OutsideRootError, filesystem

LONG_AUDIO_MODES = ("reference", "windows")


@dataclass
class Answer:
    item: Item
    messages: list[dict] | None = None
    output: str | None = None
    transcript: str | None = None
    # Why the item could not be answered (missing or unreadable audio); counted and reported, never scored.
    error: str | None = None


def load_waveform(url: str) -> np.ndarray:
    fs, path = filesystem(url)
    with fs.open(path, "rb") as handle:
        return read_audio(handle)


def fit_long_audio(waveform: np.ndarray, long_audio: str) -> np.ndarray:
    if long_audio not in LONG_AUDIO_MODES:
        raise ValueError(f"long_audio must be one of {LONG_AUDIO_MODES}, got {long_audio!r}")
    return waveform[:WINDOW_SAMPLES] if long_audio == "reference" else waveform


def with_audio(messages: list[dict], waveform: np.ndarray, transcript: str) -> list[dict]:
    """The item's conversation with its one audio entry replaced by the loaded waveform and its transcript."""
    messages = copy.deepcopy(messages)
    for message in messages:
        if message.get("audios"):
            message["audios"] = [{"audio": waveform, "sampling_rate": SAMPLE_RATE, "text": transcript}]
    return messages


def as_text(messages: list[dict], text: str, start: str = "", end: str = "") -> list[dict]:
    """The conversation with the audio left out and `text` (the transcript, or a description) where it was."""
    messages = copy.deepcopy(messages)
    for message in messages:
        if message.pop("audios", None) is not None:
            message["content"] = message["content"].replace(AUDIO_LOCATOR, f"{start}{text}{end}")
    return messages


class Answerer:
    """Batched answers of one model. `transcripts` (clip URL -> transcript) may be shared by the answerers of
    one suite: a transcript depends only on the clip and the frozen Whisper, not on the connector."""

    def __init__(self, model, batch_size: int = 8, long_audio: str = "reference", vad: bool = True,
                 transcripts: dict[str, str] | None = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        fit_long_audio(np.zeros(1, dtype=np.float32), long_audio)
        self.model, self.batch_size, self.long_audio, self.vad = model, batch_size, long_audio, vad
        self.transcripts = {} if transcripts is None else transcripts

    def transcript(self, waveform: np.ndarray) -> str:
        if self.vad and not has_speech(waveform):
            return NO_SPEECH_TRANSCRIPT
        return self.model.transcribe([waveform])[0].strip()

    def load(self, audio_root: str, audio: str) -> tuple[str, np.ndarray | None, str | None]:
        """(URL, waveform, None), or (URL, None, why it cannot be used)."""
        try:
            url = audio_url(audio_root, audio)
        except OutsideRootError as error:
            return audio, None, f"audio refused: {error}"
        if not audio_exists(url):
            return url, None, f"missing audio: {url}"
        try:
            return url, fit_long_audio(load_waveform(url), self.long_audio), None
        except ValueError as error:
            return url, None, f"unreadable audio: {url}: {error}"

    def prepare(self, item: Item, audio_root: str) -> Answer:
        if item.audio is None:
            return Answer(item, messages=item.messages)
        url, waveform, error = self.load(audio_root, item.audio)
        if error is not None:
            return Answer(item, error=error)
        transcript_url, heard = url, waveform
        if item.transcript_audio not in (None, item.audio):
            transcript_url, heard, error = self.load(audio_root, item.transcript_audio)
            if error is not None:
                return Answer(item, error=f"transcript clip: {error}")
        if transcript_url not in self.transcripts:
            self.transcripts[transcript_url] = self.transcript(heard)
        transcript = self.transcripts[transcript_url]
        return Answer(item, messages=with_audio(item.messages, waveform, transcript), transcript=transcript)

    def answer(self, items: Sequence[Item], audio_root: str, generate_kwargs: dict,
               feed: Callable[[Answer], list[dict]] | None = None, audio_vectors: bool = True,
               progress: Callable[[int], None] = lambda answered: None) -> list[Answer]:
        """Answers in item order; an item whose audio is missing or unusable keeps output None and an error.
        `feed` rewrites what the model reads (default: the conversation with its audio); `audio_vectors=False`
        leaves the audio vectors out and keeps the transcript (the model library's text-only knob);
        `progress` is called with the number of items each batch answered."""
        generate_kwargs = {**generate_kwargs, "audio_vectors": audio_vectors}
        feed = feed or (lambda answer: answer.messages)
        answers = [self.prepare(item, audio_root) for item in items]
        # Items with a cap of their own are batched apart: a batch decodes until its longest answer ends.
        by_cap: dict[int | None, list[Answer]] = {}
        for answer in answers:
            if answer.error is None:
                by_cap.setdefault(answer.item.max_new_tokens, []).append(answer)
        for cap, ready in by_cap.items():
            kwargs = generate_kwargs if cap is None else {
                **generate_kwargs, "max_new_tokens": min(cap, generate_kwargs.get("max_new_tokens", cap))}
            for start in range(0, len(ready), self.batch_size):
                batch = ready[start : start + self.batch_size]
                self._answer_batch(batch, feed, kwargs)
                progress(len(batch))
        return answers

    def _answer_batch(self, batch: list[Answer], feed: Callable[[Answer], list[dict]], generate_kwargs: dict) -> None:
        conversations = [feed(answer) for answer in batch]
        try:
            outputs = self.model.generate(conversations, transcribe=False, **generate_kwargs).texts
        except DeSTAInputError:
            outputs = [self._one(answer, conversation, generate_kwargs)
                       for answer, conversation in zip(batch, conversations, strict=True)]
        for answer, conversation, output in zip(batch, conversations, outputs, strict=True):
            answer.messages, answer.output = conversation, output

    def _one(self, answer: Answer, conversation: list[dict], generate_kwargs: dict) -> str | None:
        """A batch the model refused: answer its items alone so one bad item (too long) cannot sink the batch."""
        try:
            return self.model.generate([conversation], transcribe=False, **generate_kwargs).texts[0]
        except DeSTAInputError as error:
            answer.error = f"model input: {error}"
            return None


def record_prompt(messages: list[dict] | None) -> str | None:
    """The conversation as recorded per item (waveforms shown as their transcript)."""
    if messages is None:
        return None
    shown = copy.deepcopy(messages)
    for message in shown:
        for audio in message.get("audios") or []:
            audio["audio"] = f"<waveform {len(audio['audio']) / SAMPLE_RATE:.2f} s>"
    return prompt_text(shown) + "".join(
        f"\n[audio] {audio['audio']} transcript={audio.get('text')!r}"
        for message in shown for audio in message.get("audios") or [])
