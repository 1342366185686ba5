"""Message and audio builders shared by the DeSTA2.5 model and processor tests."""

from __future__ import annotations

import numpy as np

SYSTEM = {"role": "system", "content": "Focus on the audio clips and instructions."}


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine at amplitude 0.3: (samples,) or (samples, channels)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def user(content: str, *audios: dict) -> dict:
    return {"role": "user", "content": content, "audios": list(audios)}


def clip(seconds: float = 1.0, text: str | None = "hello world") -> dict:
    """An audio entry holding a 16 kHz waveform."""
    return {"audio": (tone(seconds), 16000), "text": text}
