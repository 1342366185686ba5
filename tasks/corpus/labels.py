"""The label vocabulary of the embedded corpus: attribute names and the wording of their values.

`LABEL_SETS[source][attribute]` lists every value the corpus stage may write for a categorical
attribute of that source; the validation gate checks manifest rows against it and the seed
descriptions render these words as they are. Numeric attributes (pitch_setting, snr_db, frequency_hz,
...) are not listed. Sources ingested from the user's own corpora have no label set.
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent

PITCH_LEVELS = ("low", "normal", "high")
SPEED_LEVELS = ("slow", "normal", "fast")
VOLUME_LEVELS = ("quiet", "normal", "loud")
GENDERS = ("male", "female")
NOISE_COLOURS = ("white", "pink", "brown")
NOISE_LABELS = tuple(f"{colour} noise" for colour in NOISE_COLOURS)

# Speech volume: RMS level in dBFS per label, 8-10 dB apart so the difference is plainly audible.
VOLUME_DBFS = {"quiet": -36.0, "normal": -26.0, "loud": -18.0}

# espeak-ng: language voice -> accent wording; variants m1..m8 are male, f1..f5 female.
ESPEAK_ACCENTS = {
    "en-us": "American English",
    "en-gb-x-rp": "British English (Received Pronunciation)",
    "en-gb-scotland": "Scottish English",
    "en-029": "Caribbean English",
    "en-gb-x-gbclan": "Northern English (Lancashire)",
    "en-gb-x-gbcwmd": "West Midlands English",
}
ESPEAK_VARIANTS = {**{f"m{i}": "male" for i in range(1, 9)}, **{f"f{i}": "female" for i in range(1, 6)}}
ESPEAK_PITCH = {"low": 10, "normal": 50, "high": 90}  # -p (0..99)
ESPEAK_RATE_WPM = {"slow": 125, "normal": 170, "fast": 235}  # -s

# flite voices whose pitch follows int_f0_target_mean (rms ignores it, so its pitch label would lie).
FLITE_VOICES = {
    "slt": {"gender": "female", "accent": "American English", "f0_hz": {"low": 150, "normal": 190, "high": 250}},
    "awb": {"gender": "male", "accent": "Scottish English", "f0_hz": {"low": 85, "normal": 115, "high": 155}},
    "kal16": {"gender": "male", "accent": "American English", "f0_hz": {"low": 85, "normal": 110, "high": 150}},
}
FLITE_DURATION_STRETCH = {"slow": 1.35, "normal": 1.0, "fast": 0.72}

SYNTH_SOUND_CATEGORIES = ("pure tone", "beeps", "frequency sweep", "noise")
WAVEFORMS = ("sine", "square", "triangle", "sawtooth")
SWEEP_DIRECTIONS = ("rising", "falling")

INSTRUMENTS = {"pluck": "plucked string", "sine": "sine-wave synthesizer", "triangle": "soft synthesizer"}
MUSIC_PATTERNS = ("single note", "chord", "arpeggio")
CHORD_QUALITIES = {"major": (0, 4, 7), "minor": (0, 3, 7), "dominant seventh": (0, 4, 7, 10)}
CHORD_ROOTS = ("C3", "D3", "E3", "F3", "G3", "A3", "C4", "D4", "E4", "F4", "G4", "A4")


def sound_categories() -> list[dict[str, str]]:
    """Recorded sound events: rows of sound_categories.csv (source, file, category)."""
    with open(HERE / "sound_categories.csv", newline="") as handle:
        return [row for row in csv.DictReader(line for line in handle if not line.startswith("#"))]


def music_tracks() -> list[dict[str, str]]:
    """Recorded instrumental tracks: rows of music_tracks.csv (source, file, title, artist, license)."""
    with open(HERE / "music_tracks.csv", newline="") as handle:
        return [row for row in csv.DictReader(line for line in handle if not line.startswith("#"))]


def _categories_of(source: str) -> list[str]:
    return sorted({row["category"] for row in sound_categories() if row["source"] == source})


def _track_values(source: str, column: str) -> list[str]:
    return sorted({row[column] for row in music_tracks() if row["source"] == source})


def _chord_names() -> list[str]:
    return sorted({f"{root[:-1]} {quality}" for root in CHORD_ROOTS for quality in CHORD_QUALITIES})


_SYNTH_SPEECH = {
    "pitch": list(PITCH_LEVELS),
    "speed": list(SPEED_LEVELS),
    "volume": list(VOLUME_LEVELS),
    "gender": list(GENDERS),
    "noise": list(NOISE_LABELS),
}
_NOISY = {"noise": list(NOISE_LABELS)}

LABEL_SETS: dict[str, dict[str, list[str]]] = {
    "espeak-ng": {**_SYNTH_SPEECH, "accent": sorted(set(ESPEAK_ACCENTS.values()))},
    "flite": {**_SYNTH_SPEECH, "accent": sorted({v["accent"] for v in FLITE_VOICES.values()})},
    "asterisk": {
        "gender": ["female"],
        "accent": ["American English"],
        "transcript_source": ["core-sounds-en.txt", "filename", "whisper-tiny.en"],
        **_NOISY,
    },
    "alsa": {"category": ["speaker test noise"], **_NOISY},
    "pyannote": {"gender": ["female"]},
    "freedesktop": {"category": _categories_of("freedesktop")},
    "arcade": {
        "category": _categories_of("arcade"),
        "style": ["retro video game sound effect"],
        "title": _track_values("arcade", "title"),
        "artist": _track_values("arcade", "artist"),
    },
    "animals": {"category": _categories_of("animals")},
    "sox-sound": {
        "category": list(SYNTH_SOUND_CATEGORIES),
        "waveform": list(WAVEFORMS),
        "sweep": list(SWEEP_DIRECTIONS),
        "noise_colour": list(NOISE_COLOURS),
    },
    "sox-music": {
        "instrument": sorted(INSTRUMENTS.values()),
        "pattern": list(MUSIC_PATTERNS),
        "chord": _chord_names(),
    },
    "asterisk-moh": {
        "title": _track_values("asterisk-moh", "title"),
        "artist": _track_values("asterisk-moh", "artist"),
    },
}
