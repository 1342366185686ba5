"""Music: sox-synthesised notes, chords and arpeggios with their note names, and segments of real
instrumental tracks (Asterisk music-on-hold, arcade's music) listed in music_tracks.csv.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from tasks import system_files
from tasks.corpus import labels, sources
from tasks.corpus.audio import decode, duration_of
from tasks.corpus.clips import Clip, SourceContext
from tasks.corpus.sound import SYNTH_LICENSE, sox_render

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TEMPI_BPM = (80, 100, 120, 140)


def music_clips(ctx: SourceContext) -> list[Clip]:
    settings = ctx.params.music
    return _synthetic_clips(ctx, settings.synthetic_clips) + _recorded_clips(
        ctx, settings.recorded_clips, settings.recorded_segment_s
    )


# ---------------------------------------------------------------------------------------- synthesised
def transpose(note: str, semitones: int) -> str:
    """'C4' + 4 -> 'E4' (sharps for black keys; octave numbers as in scientific pitch notation)."""
    name, octave = note[:-1], int(note[-1])
    midi = NOTE_NAMES.index(name) + 12 * octave + semitones
    return f"{NOTE_NAMES[midi % 12]}{midi // 12}"


def _synthetic_clips(ctx: SourceContext, count: int) -> list[Clip]:
    if count == 0:
        return []
    sources.system_path(system_files.SOX)
    rng = ctx.rng("sox-music")
    clips = []
    for index in range(count):
        clip_id = f"sox-music-{index:05d}"
        pattern = labels.MUSIC_PATTERNS[index % len(labels.MUSIC_PATTERNS)]
        waveform = str(rng.choice(sorted(labels.INSTRUMENTS)))
        root, quality = str(rng.choice(labels.CHORD_ROOTS)), str(rng.choice(sorted(labels.CHORD_QUALITIES)))
        attributes = {"instrument": labels.INSTRUMENTS[waveform], "pattern": pattern}
        if pattern == "single note":
            notes, onsets_s, hold_s = [root], [0.0], round(float(rng.uniform(1.5, 3.0)), 1)
        else:
            notes = [transpose(root, step) for step in labels.CHORD_QUALITIES[quality]]
            attributes["chord"] = f"{root[:-1]} {quality}"
            if pattern == "chord":  # strummed: strings a few tens of ms apart
                onsets_s, hold_s = [round(0.03 * i, 2) for i in range(len(notes))], 2.5
            else:
                tempo = int(rng.choice(TEMPI_BPM))
                attributes["tempo_bpm"] = tempo
                onsets_s, hold_s = [round(60.0 / tempo * i, 3) for i in range(len(notes))], 1.5
        attributes["notes"] = notes
        total_s = round(onsets_s[-1] + hold_s, 3)
        effects = ["synth", str(total_s)]
        for note in notes:
            effects += [waveform, note]
        effects += ["delay", *map(str, onsets_s), "remix", "-", "trim", "0", str(total_s),
                    "fade", "0.005", str(total_s), "0.3"]  # fmt: skip
        clips.append(Clip(id=clip_id, source="sox-music", kind="music", group=clip_id, license=SYNTH_LICENSE,
                          render=sox_render(ctx, clip_id, effects), attributes=attributes))  # fmt: skip
    return clips


# ------------------------------------------------------------------------------------------- recorded
def track_audio(source: str, file: str, cache_dir: Path) -> Path:
    if source == "asterisk-moh":
        return sources.system_path(system_files.ASTERISK_MOH) / file
    return sources.wheel_dir(source, cache_dir) / "music" / file


def _recorded_clips(ctx: SourceContext, count: int, segment_s: float) -> list[Clip]:
    if count == 0:
        return []
    segment_s = min(segment_s, ctx.params.max_duration_s)
    rng = ctx.rng("recorded-music")
    tracks = labels.music_tracks()
    audio = {row["file"]: track_audio(row["source"], row["file"], ctx.cache_dir) for row in tracks}
    # Non-overlapping slots per track, taken in a shuffled order, cycling over shuffled tracks.
    free_slots = {
        row["file"]: list(rng.permutation(int(duration_of(audio[row["file"]]) // segment_s))) for row in tracks
    }
    order = [tracks[i] for i in rng.permutation(len(tracks))]
    clips = []
    for index in range(count):
        row = order[index % len(order)]
        if not free_slots[row["file"]]:
            break
        start_s = round(float(free_slots[row["file"]].pop()) * segment_s, 3)
        stem = Path(row["file"]).stem.lower()
        attributes = {"title": row["title"], "artist": row["artist"], "description": "instrumental music",
                      "segment_start_s": start_s, "segment_end_s": round(start_s + segment_s, 3)}  # fmt: skip
        render = partial(_segment, audio[row["file"]], ctx.rate, start_s, segment_s)
        clips.append(Clip(id=f"{row['source']}-{stem}-{int(start_s):04d}", source=row["source"], kind="music",
                          group=f"{row['source']}:{stem}", license=row["license"], render=render,
                          attributes=attributes))  # fmt: skip
    return clips


def _segment(data: Path, rate: int, start_s: float, segment_s: float) -> np.ndarray:
    return decode(data, rate, offset_s=start_s, duration_s=segment_s)[0]
