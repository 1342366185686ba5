"""The DeSTA2.5 audio language model as a torch/transformers library (imports no tasks/ or flows/ code)."""

from model.modeling_desta25 import DeSTA25Config, DeSTA25Model, GenerationResult, default_tapped_layers
from model.processing_desta25 import AudioClip, DeSTA25Processor, DeSTAInputError, read_audio

__all__ = [
    "AudioClip",
    "DeSTA25Config",
    "DeSTA25Model",
    "DeSTA25Processor",
    "DeSTAInputError",
    "GenerationResult",
    "default_tapped_layers",
    "read_audio",
]
