"""Real recorded speech: the Asterisk telephone prompts, the ALSA speaker-test voice and the pyannote
two-speaker call (turns with speakers and transcripts).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import numpy as np

from tasks import system_files
from tasks.corpus import sources
from tasks.corpus.audio import crop, decode, duration_of
from tasks.corpus.clips import Clip, SourceContext
from tasks.corpus.transcribe import cached_transcripts

ASTERISK_LICENSE = "CC-BY-SA-3.0"
ALSA_LICENSE = "GPL-2.0-only"


def real_speech_clips(ctx: SourceContext) -> list[Clip]:
    settings = ctx.params.real_speech
    clips = _asterisk_clips(ctx, settings.asterisk_clips) if settings.asterisk_clips else []
    if settings.alsa_clips:
        clips += _alsa_clips(ctx)
    if settings.pyannote_call:
        clips += _pyannote_clips(ctx)
    return clips


def _decoded(data: Path, rate: int, max_duration_s: float) -> np.ndarray:
    return crop(decode(data, rate)[0], rate, max_duration_s)


def _is_spoken(transcript: str) -> bool:
    """The prompt list marks non-speech files as '[sound of ...]', '<beep ascending>' or '(1 second of silence)'."""
    return bool(transcript) and transcript[0] not in "[(<"


def _spoken_text(transcript: str) -> str:
    """'...to leave the conference.' -> 'to leave the conference.' (the dots mark a prompt fragment)."""
    return re.sub(r"^\.{3}\s*|\s*\.{3}$", "", transcript)


def _asterisk_clips(ctx: SourceContext, count: int) -> list[Clip]:
    root = sources.system_path(system_files.ASTERISK_PROMPTS)
    listed = sources.asterisk_transcripts()
    # Sorted relative names: the choice below depends only on the seed, not on directory order.
    names = sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.wav"))
    # A prompt missing from the list counts as spoken until ASR says otherwise (below).
    candidates = [
        n for n in names
        if not n.startswith("silence/") and _is_spoken(listed.get(n, "unlisted"))
        and duration_of(root / f"{n}.wav") <= ctx.params.max_duration_s  # cropping would cut the transcript
    ]  # fmt: skip
    rng = ctx.rng("asterisk")
    chosen = sorted(rng.choice(candidates, size=min(count, len(candidates)), replace=False).tolist())
    unlisted = [n for n in chosen if n not in listed]
    asr = cached_transcripts({n: root / f"{n}.wav" for n in unlisted}, ctx.cache_dir) if unlisted else {}
    clips = []
    for name in chosen:
        transcript = _spoken_text(listed[name]) if name in listed else asr[name]
        if not _is_spoken(transcript):  # without the list, ASR is what tells a beep ("[BEEP]") from words
            continue
        attributes = {
            "speaker": "asterisk:allison",
            "gender": "female",
            "accent": "American English",
            "recording": "telephone prompt",
            "original_sample_rate": 8000,
            "transcript_source": "core-sounds-en.txt" if name in listed else "whisper-tiny.en",
        }
        clips.append(
            Clip(
                id=f"asterisk-{name.replace('/', '_')}", source="asterisk", kind="speech", group=name,
                license=ASTERISK_LICENSE, transcript=transcript, attributes=attributes,
                render=partial(_decoded, root / f"{name}.wav", ctx.rate, ctx.params.max_duration_s),
            )  # fmt: skip
        )
    return clips


def _alsa_clips(ctx: SourceContext) -> list[Clip]:
    root = sources.system_path(system_files.ALSA_SOUNDS)
    clips = []
    for path in sorted(root.glob("*.wav")):
        render = partial(_decoded, path, ctx.rate, ctx.params.max_duration_s)
        common = {"source": "alsa", "group": path.stem, "license": ALSA_LICENSE, "render": render}
        if path.stem == "Noise":
            attributes = {"category": "speaker test noise", "original_file": path.name}
            clips.append(Clip(id="alsa-noise", kind="sound", attributes=attributes, **common))
            continue
        transcript = path.stem.replace("_", " ").capitalize()  # "Front_Left" is what is said
        attributes = {"speaker": "alsa:speaker-test", "recording": "speaker test announcement",
                      "transcript_source": "filename", "original_sample_rate": 48000}  # fmt: skip
        clips.append(
            Clip(id=f"alsa-{path.stem.lower()}", kind="speech", transcript=transcript, attributes=attributes, **common)
        )
    return clips


def _pyannote_clips(ctx: SourceContext) -> list[Clip]:
    sample = sources.wheel_dir("pyannote", ctx.cache_dir)
    limit = ctx.params.max_duration_s
    turns = [turn for turn in _stm_turns((sample / "sample.stm").read_text()) if turn["start"] < limit]
    for turn in turns:
        turn["end"] = min(turn["end"], limit)
    speakers = sorted({turn["speaker"] for turn in turns})
    attributes = {
        "speakers": speakers,
        "num_speakers": len(speakers),
        "gender": "female",
        "recording": "telephone conversation",
        "segments": turns,
    }
    return [
        Clip(
            id="pyannote-sample", source="pyannote", kind="speech", group="pyannote:sample",
            license=sources.WHEELS["pyannote"].license, attributes=attributes,
            transcript=" ".join(turn["transcript"] for turn in turns),
            render=partial(_decoded, sample / "sample.wav", ctx.rate, limit),
        )  # fmt: skip
    ]


def _stm_turns(stm: str) -> list[dict]:
    """STM lines `file channel speaker start end words...` -> turns sorted by start time."""
    turns = []
    for line in stm.splitlines():
        fields = line.split()
        if len(fields) >= 6:
            turns.append({"start": float(fields[3]), "end": float(fields[4]), "speaker": fields[2],
                          "transcript": " ".join(fields[5:])})  # fmt: skip
    return sorted(turns, key=lambda turn: turn["start"])
