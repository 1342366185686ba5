"""Voice-activity detection before ASR, as the reference does it: a clip in which Silero VAD finds no speech
gets the transcript " ", so Whisper's hallucinated text never becomes the transcript of a sound or music clip.

The Silero model comes from the pinned `silero-vad` wheel (the model the reference loads through torch.hub);
its JIT file is checked against a pinned sha256 before it is loaded. Detection uses the library's
`get_speech_timestamps` with its defaults, as the reference calls it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata, resources

import numpy as np

SILERO_VERSION = "6.2.3"
SILERO_JIT = "silero_vad.jit"
SILERO_JIT_SHA256 = "e1122837f4154c511485fe0b9c64455f7b929c96fbb8d79fbdb336383ebd3720"
NO_SPEECH_TRANSCRIPT = " "


class VADError(RuntimeError):
    """The installed silero-vad is not the pinned one, or its model file was changed."""


@lru_cache(maxsize=1)
def silero_model():
    from tasks.base_models.wheels import sha256_of
    from silero_vad import load_silero_vad

    installed = metadata.version("silero-vad")
    if installed != SILERO_VERSION:
        raise VADError(f"silero-vad {installed} is installed, the pinned version is {SILERO_VERSION}; "
                       f"reinstall from requirements.lock")
    with resources.as_file(resources.files("silero_vad.data") / SILERO_JIT) as path:
        digest = sha256_of(path)
    if digest != SILERO_JIT_SHA256:
        raise VADError(f"silero-vad's {SILERO_JIT} has sha256 {digest}, expected {SILERO_JIT_SHA256}; "
                       "the installed package was modified: reinstall it")
    return load_silero_vad(onnx=False)


def has_speech(waveform: np.ndarray) -> bool:
    """Whether Silero VAD finds any speech in a 16 kHz mono waveform."""
    import torch
    from silero_vad import get_speech_timestamps

    return bool(get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(waveform)), silero_model(),
                                      sampling_rate=16_000))
